//! TLS for the library's TCP links (CTI Server, GC broker) and the simulators'
//! listeners, on rustls with the ring provider.
//!
//! * [`TlsConfig`] — the client settings, with the same JSON keys in every binding:
//!   trust anchors (`ca_pem`/`ca_file`, default: the system roots), client
//!   certificate for mutual TLS (`cert_pem`/`cert_file` + `key_pem`/`key_file`),
//!   `server_name`, certificate pinning (`pinned_cert_sha256`/`pinned_cert_pem`),
//!   `min_version` and `insecure_skip_verify`.
//! * [`TlsConfig::connect`] — one handshake over a connected stream; failures are a
//!   typed [`TlsError`] (handshake, or an invalid certificate with its
//!   [`CertificateReason`]).
//! * [`TlsServerConfig`] — a listener's certificate, key and optional client CA.
//!
//! Files are read at every connect, so certificates renewed on disk apply at the
//! next (re)connect. Key material never appears in errors, `Debug` or logs.

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{AlertDescription, CertificateError, DigitallySignedStruct, SignatureScheme};
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::ece::Secret;

/// Why a certificate was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateReason {
    /// The server certificate has expired (or is not valid yet).
    Expired,
    /// The server certificate is not signed by a trusted CA.
    UnknownIssuer,
    /// The server certificate does not carry the expected name.
    NameMismatch,
    /// The server certificate is not the pinned one.
    PinMismatch,
    /// The server refused our client certificate (or its absence).
    ClientCertificateRefused,
    /// Another certificate problem (bad encoding, signature, purpose, revocation).
    Other,
}

impl CertificateReason {
    /// Stable number, as the C ABI reports it (`cce_last_error_cti_status`): 1 expired,
    /// 2 unknown issuer, 3 name mismatch, 4 client certificate refused, 5 pin mismatch,
    /// 6 other.
    pub fn code(self) -> u32 {
        match self {
            CertificateReason::Expired => 1,
            CertificateReason::UnknownIssuer => 2,
            CertificateReason::NameMismatch => 3,
            CertificateReason::ClientCertificateRefused => 4,
            CertificateReason::PinMismatch => 5,
            CertificateReason::Other => 6,
        }
    }

    /// Stable name, as the bindings expose it (e.g. `"expired"`).
    pub fn name(self) -> &'static str {
        match self {
            CertificateReason::Expired => "expired",
            CertificateReason::UnknownIssuer => "unknown_issuer",
            CertificateReason::NameMismatch => "name_mismatch",
            CertificateReason::PinMismatch => "pin_mismatch",
            CertificateReason::ClientCertificateRefused => "client_certificate_refused",
            CertificateReason::Other => "other",
        }
    }
}

impl std::fmt::Display for CertificateReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A TLS failure. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// The TLS settings are invalid (unreadable file, no certificate, bad key...).
    #[error("TLS configuration: {0}")]
    Config(String),
    /// The handshake failed for a reason other than a certificate (plain server,
    /// closed connection, no common version or cipher, timeout).
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
    /// A certificate was not accepted.
    #[error("TLS certificate invalid ({reason}): {detail}")]
    CertificateInvalid {
        /// Why.
        reason: CertificateReason,
        /// What rustls said.
        detail: String,
    },
}

impl TlsError {
    /// The certificate reason, for [`TlsError::CertificateInvalid`].
    pub fn reason(&self) -> Option<CertificateReason> {
        match self {
            TlsError::CertificateInvalid { reason, .. } => Some(*reason),
            _ => None,
        }
    }
}

/// Lowest TLS version offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.2 (and 1.3): the default, the version CCE names.
    #[default]
    #[serde(rename = "1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "1.3")]
    Tls13,
}

/// Client TLS settings (JSON keys as the field names; `{}` means TLS with the system
/// roots and the address's host as the name to verify).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// Trusted CA certificates (PEM) instead of the system roots.
    pub ca_pem: Option<String>,
    /// A file holding `ca_pem`.
    pub ca_file: Option<PathBuf>,
    /// Client certificate chain (PEM, leaf first) for mutual TLS.
    pub cert_pem: Option<String>,
    /// A file holding `cert_pem`.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's private key (PEM: PKCS#8, PKCS#1 RSA or SEC1 EC).
    pub key_pem: Option<Secret>,
    /// A file holding `key_pem`.
    pub key_file: Option<PathBuf>,
    /// Name the server certificate must carry (default: the host of the address).
    pub server_name: Option<String>,
    /// Accept exactly the server certificate with this SHA-256 fingerprint (hex,
    /// colons allowed), without CA or name checks.
    pub pinned_cert_sha256: Option<String>,
    /// Accept exactly this server certificate (PEM), without CA or name checks.
    pub pinned_cert_pem: Option<String>,
    /// Lowest TLS version (`"1.2"`, the default, or `"1.3"`).
    pub min_version: TlsVersion,
    /// Accept any server certificate (labs only; warns on every connect).
    pub insecure_skip_verify: bool,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// PEM text given inline or as a file (read now).
fn pem_text(
    what: &str,
    inline: Option<&str>,
    file: Option<&PathBuf>,
) -> Result<Option<String>, TlsError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(TlsError::Config(format!(
            "give {what}_pem or {what}_file, not both"
        ))),
        (Some(t), None) => Ok(Some(t.to_owned())),
        (None, Some(p)) => std::fs::read_to_string(p)
            .map(Some)
            .map_err(|e| TlsError::Config(format!("{what}_file {}: {}", p.display(), e.kind()))),
        (None, None) => Ok(None),
    }
}

/// Every certificate of a PEM text (at least one).
pub fn certs_from_pem(what: &str, pem: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Config(format!("{what}: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::Config(format!("{what} holds no certificate")));
    }
    Ok(certs)
}

/// The private key of a PEM text (PKCS#8, PKCS#1 or SEC1). The error never shows it.
pub fn key_from_pem(what: &str, pem: &str) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
        TlsError::Config(format!(
            "{what}: no PKCS#8, RSA or EC private key in PEM form"
        ))
    })
}

fn root_store(ca: Option<&str>) -> Result<rustls::RootCertStore, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    match ca {
        Some(pem) => {
            for c in certs_from_pem("ca_pem", pem)? {
                roots
                    .add(c)
                    .map_err(|e| TlsError::Config(format!("ca_pem: {e}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(TlsError::Config(
                    "no system root certificates found; set ca_pem or ca_file".into(),
                ));
            }
        }
    }
    Ok(roots)
}

fn parse_fingerprint(s: &str) -> Result<Vec<u8>, TlsError> {
    let hex: String = s
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    let bad = || TlsError::Config("pinned_cert_sha256: expected 64 hex digits".into());
    if hex.len() != 64 {
        return Err(bad());
    }
    (0..32)
        .map(|i| {
            u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(bad)?, 16).map_err(|_| bad())
        })
        .collect()
}

/// SHA-256 fingerprint of a certificate (DER), as lowercase hex.
pub fn fingerprint_sha256(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Accepts a pinned certificate, or (insecure) anything; handshake signatures are
/// still checked.
#[derive(Debug)]
struct FixedVerifier {
    /// SHA-256 of the accepted certificate; `None`: accept any.
    pin: Option<Vec<u8>>,
    algs: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for FixedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.pin {
            None => Ok(ServerCertVerified::assertion()),
            Some(pin) => {
                let got = ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref());
                if got.as_ref() == pin.as_slice() {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::ApplicationVerificationFailure,
                    ))
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// The host part of "host:port" (brackets of an IPv6 literal removed).
pub fn host_of(addr: &str) -> &str {
    let host = match addr.rfind(':') {
        Some(i) if !addr[..i].contains(':') || addr.starts_with('[') => &addr[..i],
        _ => addr,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

impl TlsConfig {
    /// Parses the JSON object form (`{}` is valid).
    pub fn from_json(text: &str) -> Result<Self, TlsError> {
        serde_json::from_str(text).map_err(|e| TlsError::Config(e.to_string()))
    }

    /// Checks the settings without connecting (reads the files).
    pub fn validate(&self) -> Result<(), TlsError> {
        self.client_config().map(|_| ())
    }

    fn client_config(&self) -> Result<rustls::ClientConfig, TlsError> {
        let versions: &[&rustls::SupportedProtocolVersion] = match self.min_version {
            TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
            TlsVersion::Tls13 => &[&rustls::version::TLS13],
        };
        let provider = provider();
        let algs = provider.signature_verification_algorithms;
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let pin = match (&self.pinned_cert_sha256, &self.pinned_cert_pem) {
            (Some(_), Some(_)) => {
                return Err(TlsError::Config(
                    "give pinned_cert_sha256 or pinned_cert_pem, not both".into(),
                ))
            }
            (Some(h), None) => Some(parse_fingerprint(h)?),
            (None, Some(pem)) => {
                let certs = certs_from_pem("pinned_cert_pem", pem)?;
                let leaf = certs.first().map(|c| c.as_ref()).unwrap_or_default();
                Some(
                    ring::digest::digest(&ring::digest::SHA256, leaf)
                        .as_ref()
                        .to_vec(),
                )
            }
            (None, None) => None,
        };
        let ca = pem_text("ca", self.ca_pem.as_deref(), self.ca_file.as_ref())?;
        let builder = if self.insecure_skip_verify || pin.is_some() {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(FixedVerifier {
                    pin: if self.insecure_skip_verify { None } else { pin },
                    algs,
                }))
        } else {
            let roots = Arc::new(root_store(ca.as_deref())?);
            let verifier =
                rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| TlsError::Config(format!("verifier: {e}")))?;
            builder.with_webpki_verifier(verifier)
        };
        let cert = pem_text("cert", self.cert_pem.as_deref(), self.cert_file.as_ref())?;
        let key = pem_text(
            "key",
            self.key_pem.as_ref().map(Secret::expose),
            self.key_file.as_ref(),
        )?;
        match (cert, key) {
            (Some(c), Some(k)) => {
                let chain = certs_from_pem("cert_pem", &c)?;
                let key = key_from_pem("key_pem", &k)?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsError::Config(format!("client certificate/key: {e}")))
            }
            (None, None) => Ok(builder.with_no_client_auth()),
            (Some(_), None) => Err(TlsError::Config(
                "a client certificate needs its key (key_pem or key_file)".into(),
            )),
            (None, Some(_)) => Err(TlsError::Config(
                "a client key needs its certificate (cert_pem or cert_file)".into(),
            )),
        }
    }

    /// The name verified for a server at `addr` ("host:port").
    fn name_for(&self, addr: &str) -> Result<ServerName<'static>, TlsError> {
        let name = self
            .server_name
            .clone()
            .unwrap_or_else(|| host_of(addr).to_owned());
        ServerName::try_from(name.clone())
            .map_err(|_| TlsError::Config(format!("server name {name:?} is not a DNS name or IP")))
    }

    /// Runs the TLS handshake over `stream`, connected to `addr` ("host:port"). The
    /// caller bounds it with its connect timeout.
    pub async fn connect<S>(
        &self,
        addr: &str,
        stream: S,
    ) -> Result<tokio_rustls::client::TlsStream<NoSigPipe<S>>, TlsError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let cfg = self.client_config()?;
        let name = self.name_for(addr)?;
        if self.insecure_skip_verify {
            tracing::warn!(
                %addr,
                "TLS certificate verification is OFF (insecure_skip_verify): lab use only"
            );
        }
        tokio_rustls::TlsConnector::from(Arc::new(cfg))
            .connect(name, NoSigPipe(stream))
            .await
            .map_err(|e| classify(&e))
    }
}

/// Classifies an I/O error from a TLS stream (handshake or later).
pub fn classify(e: &io::Error) -> TlsError {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    let Some(err) = inner else {
        return match e.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => TlsError::Handshake(format!(
                "the server closed the connection during the TLS handshake ({e}); is this a TLS port?"
            )),
            _ => TlsError::Handshake(e.to_string()),
        };
    };
    let cert = |reason| TlsError::CertificateInvalid {
        reason,
        detail: err.to_string(),
    };
    match err {
        rustls::Error::InvalidCertificate(c) => cert(match c {
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => CertificateReason::Expired,
            CertificateError::UnknownIssuer => CertificateReason::UnknownIssuer,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                CertificateReason::NameMismatch
            }
            CertificateError::ApplicationVerificationFailure => CertificateReason::PinMismatch,
            _ => CertificateReason::Other,
        }),
        rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::AccessDenied,
        ) => cert(CertificateReason::ClientCertificateRefused),
        rustls::Error::InvalidMessage(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. } => TlsError::Handshake(format!(
            "the server did not answer with TLS ({err}); is this a plain port?"
        )),
        other => TlsError::Handshake(other.to_string()),
    }
}

/// A TCP stream for TLS that never writes with `writev`: on Linux a vectored write to
/// a connection the peer closed raises SIGPIPE, which kills a C host that did not
/// ignore it, while plain writes use `send(MSG_NOSIGNAL)` and get EPIPE.
#[derive(Debug)]
pub struct NoSigPipe<S>(pub S);

impl<S: AsyncRead + Unpin> AsyncRead for NoSigPipe<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for NoSigPipe<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
    // poll_write_vectored: the default, one poll_write per buffer.
}

/// A byte stream a link can run over (TCP, or TLS over TCP).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A boxed [`Io`] stream.
pub type BoxedIo = Box<dyn Io>;

/// Where a [`Watched`] stream records the first TLS failure it saw.
pub type TlsSlot = Arc<Mutex<Option<TlsError>>>;

/// A stream that records, in a [`TlsSlot`], the TLS failure behind a read error (e.g.
/// the server refusing the client certificate after a TLS 1.3 handshake), and, on a
/// plain connection, a server that answers with TLS records. The session then reports
/// the typed error instead of a generic read failure.
pub struct Watched<S> {
    inner: S,
    slot: TlsSlot,
    /// TLS is on (classify read errors), or off (look at the first bytes).
    tls: bool,
    first: bool,
}

impl<S> Watched<S> {
    /// Wraps `inner`; `tls` tells whether it is a TLS stream.
    pub fn new(inner: S, tls: bool) -> (Self, TlsSlot) {
        let slot = TlsSlot::default();
        (
            Watched {
                inner,
                slot: slot.clone(),
                tls,
                first: true,
            },
            slot,
        )
    }

    fn record(&self, e: TlsError) {
        let mut s = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        if s.is_none() {
            *s = Some(e);
        }
    }
}

/// Reads the error a [`Watched`] stream recorded.
pub fn take_slot(slot: &TlsSlot) -> Option<TlsError> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// True when `b` starts like a TLS record (alert or handshake, version 3.x).
fn looks_like_tls(b: &[u8]) -> bool {
    matches!(b, [0x15 | 0x16, 0x03, v, ..] if *v <= 0x04)
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &r {
            Poll::Ready(Err(e)) if self.tls => {
                let t = classify(e);
                if !matches!(t, TlsError::Handshake(_)) || e.get_ref().is_some() {
                    self.record(t);
                }
            }
            Poll::Ready(Ok(())) if !self.tls && self.first && buf.filled().len() > before => {
                self.first = false;
                if looks_like_tls(&buf.filled()[before..]) {
                    self.record(TlsError::Handshake(
                        "the server answered with TLS: this is a secured port; configure tls"
                            .into(),
                    ));
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the server speaks TLS",
                    )));
                }
            }
            _ => {}
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A listener's TLS identity: certificate chain, key, and optionally the CA that
/// client certificates must chain to (then a client certificate is required).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsServerConfig {
    /// Certificate chain (PEM, leaf first).
    pub cert_pem: Option<String>,
    /// A file holding `cert_pem`.
    pub cert_file: Option<PathBuf>,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_pem: Option<Secret>,
    /// A file holding `key_pem`.
    pub key_file: Option<PathBuf>,
    /// CA certificates (PEM) client certificates must chain to; set: mutual TLS.
    pub client_ca_pem: Option<String>,
    /// A file holding `client_ca_pem`.
    pub client_ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServerConfig")
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("client_ca_file", &self.client_ca_file)
            .field(
                "client_auth",
                &(self.client_ca_pem.is_some() || self.client_ca_file.is_some()),
            )
            .finish_non_exhaustive()
    }
}

impl TlsServerConfig {
    /// An identity from PEM text.
    pub fn from_pem(cert_pem: impl Into<String>, key_pem: impl Into<String>) -> Self {
        TlsServerConfig {
            cert_pem: Some(cert_pem.into()),
            key_pem: Some(Secret::new(key_pem.into())),
            ..Self::default()
        }
    }

    /// The acceptor (TLS 1.2 and 1.3) with `alpn` protocols offered.
    pub fn acceptor(&self, alpn: &[&[u8]]) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
        let cert = pem_text("cert", self.cert_pem.as_deref(), self.cert_file.as_ref())?
            .ok_or_else(|| TlsError::Config("cert_pem or cert_file is required".into()))?;
        let key = pem_text(
            "key",
            self.key_pem.as_ref().map(Secret::expose),
            self.key_file.as_ref(),
        )?
        .ok_or_else(|| TlsError::Config("key_pem or key_file is required".into()))?;
        let certs = certs_from_pem("cert_pem", &cert)?;
        let key = key_from_pem("key_pem", &key)?;
        let provider = provider();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let client_ca = pem_text(
            "client_ca",
            self.client_ca_pem.as_deref(),
            self.client_ca_file.as_ref(),
        )?;
        let builder = match client_ca {
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in certs_from_pem("client_ca_pem", &pem)? {
                    roots
                        .add(c)
                        .map_err(|e| TlsError::Config(format!("client_ca_pem: {e}")))?;
                }
                let v = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .map_err(|e| TlsError::Config(format!("client verifier: {e}")))?;
                builder.with_client_cert_verifier(v)
            }
            None => builder.with_no_client_auth(),
        };
        let mut cfg = builder
            .with_single_cert(certs, key)
            .map_err(|e| TlsError::Config(format!("certificate/key: {e}")))?;
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_come_from_addresses() {
        assert_eq!(host_of("cti-a.example:42030"), "cti-a.example");
        assert_eq!(host_of("127.0.0.1:1"), "127.0.0.1");
        assert_eq!(host_of("[::1]:42030"), "::1");
        assert_eq!(host_of("host"), "host");
    }

    #[test]
    fn fingerprints_parse_with_or_without_colons() {
        let hex = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_fingerprint(&hex).unwrap(), vec![0xab; 32]);
        assert_eq!(parse_fingerprint(&colons).unwrap(), vec![0xab; 32]);
        assert!(parse_fingerprint("abcd").is_err());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn json_keys_and_errors_never_show_keys() {
        let c = TlsConfig::from_json(
            r#"{"key_pem":"-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n","cert_pem":"x","min_version":"1.3"}"#,
        )
        .unwrap();
        assert_eq!(c.min_version, TlsVersion::Tls13);
        assert!(!format!("{c:?}").contains("c2VjcmV0"));
        let e = c.validate().unwrap_err().to_string();
        assert!(!e.contains("c2VjcmV0"), "{e}");
        assert!(TlsConfig::from_json(r#"{"bogus":1}"#).is_err());
        assert!(TlsConfig::from_json(r#"{"min_version":"1.0"}"#).is_err());
        let both = TlsConfig {
            cert_pem: Some("x".into()),
            cert_file: Some("/x".into()),
            ..TlsConfig::default()
        };
        assert!(matches!(both.validate(), Err(TlsError::Config(_))));
    }

    #[test]
    fn tls_records_are_recognised() {
        assert!(looks_like_tls(&[0x15, 0x03, 0x03, 0x00, 0x02]));
        assert!(looks_like_tls(&[0x16, 0x03, 0x01]));
        assert!(!looks_like_tls(&[0x00, 0x00, 0x00, 0x40]));
    }
}
