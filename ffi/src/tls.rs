//! TLS settings of an open CTI session, and the reasons of `CCE_ERR_CERTIFICATE_INVALID`.

use std::ffi::c_char;

use super::{arg_str, cce_status, cti_session, fail, guard, session_of};

/// Certificate reason: the server certificate has expired (or is not valid yet).
pub const CCE_CERT_EXPIRED: i64 = 1;
/// Certificate reason: the server certificate is not signed by a trusted CA.
pub const CCE_CERT_UNKNOWN_ISSUER: i64 = 2;
/// Certificate reason: the server certificate does not carry the expected name.
pub const CCE_CERT_NAME_MISMATCH: i64 = 3;
/// Certificate reason: the server refused our client certificate (or its absence).
pub const CCE_CERT_CLIENT_CERTIFICATE_REFUSED: i64 = 4;
/// Certificate reason: the server certificate is not the pinned one.
pub const CCE_CERT_PIN_MISMATCH: i64 = 5;
/// Certificate reason: another certificate problem.
pub const CCE_CERT_OTHER: i64 = 6;

/// Replaces the session's TLS settings (the `tls` object of the [`super::cti_open`]
/// configuration, or `null` for plain TCP). They apply from the next reconnect on;
/// the open connection is left alone. Invalid settings give `CCE_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `tls_json` must be NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn cti_set_tls(
    session: *const cti_session,
    tls_json: *const c_char,
) -> cce_status {
    guard(|| {
        let s = session_of(session)?;
        // SAFETY: forwarded caller promise.
        let json = unsafe { arg_str(tls_json, "tls_json", false) }?.unwrap_or("null");
        s.set_tls_json(json).map_err(|e| fail(&e))
    })
}

#[cfg(test)]
mod tests {
    use cce::tls::CertificateReason as R;

    #[test]
    fn reason_constants_match_the_core_codes() {
        for (r, c) in [
            (R::Expired, super::CCE_CERT_EXPIRED),
            (R::UnknownIssuer, super::CCE_CERT_UNKNOWN_ISSUER),
            (R::NameMismatch, super::CCE_CERT_NAME_MISMATCH),
            (
                R::ClientCertificateRefused,
                super::CCE_CERT_CLIENT_CERTIFICATE_REFUSED,
            ),
            (R::PinMismatch, super::CCE_CERT_PIN_MISMATCH),
            (R::Other, super::CCE_CERT_OTHER),
        ] {
            assert_eq!(i64::from(r.code()), c);
        }
    }
}
