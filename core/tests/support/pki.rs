//! Throw-away key material for the TLS tests, generated at run time with rcgen: a CA,
//! server certificates (good, wrong name, expired), a client certificate, and a second
//! CA nobody trusts. Nothing of it is checked in.

#![allow(dead_code)]

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};

/// A certificate and its private key, in PEM.
#[derive(Clone)]
pub struct Pair {
    /// Certificate (PEM).
    pub cert: String,
    /// Private key (PKCS#8 PEM).
    pub key: String,
}

/// Everything the TLS tests use.
pub struct Pki {
    /// The CA every good certificate chains to.
    pub ca: String,
    /// A CA nobody trusts.
    pub other_ca: String,
    /// Server certificate for localhost / 127.0.0.1.
    pub server: Pair,
    /// Server certificate for `wrong.example` only.
    pub wrong_name: Pair,
    /// Expired server certificate for localhost / 127.0.0.1.
    pub expired: Pair,
    /// Client certificate (CA-signed).
    pub client: Pair,
    /// Client certificate signed by the other CA.
    pub rogue_client: Pair,
}

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().expect("CA key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    let cert = p.self_signed(&key).expect("CA certificate");
    Ca { cert, key }
}

fn leaf(ca: &Ca, cn: &str, names: &[&str], client: bool, expired: bool) -> Pair {
    let key = KeyPair::generate().expect("leaf key");
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    let mut p = CertificateParams::new(names).expect("leaf params");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = vec![if client {
        ExtendedKeyUsagePurpose::ClientAuth
    } else {
        ExtendedKeyUsagePurpose::ServerAuth
    }];
    if expired {
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2021, 1, 1);
    }
    let cert = p
        .signed_by(&key, &ca.cert, &ca.key)
        .expect("leaf certificate");
    Pair {
        cert: cert.pem(),
        key: key.serialize_pem(),
    }
}

/// Generates a fresh set.
pub fn generate() -> Pki {
    let good = ca("libcce test CA");
    let other = ca("libcce untrusted CA");
    let here = ["localhost", "127.0.0.1"];
    Pki {
        ca: good.cert.pem(),
        other_ca: other.cert.pem(),
        server: leaf(&good, "localhost", &here, false, false),
        wrong_name: leaf(&good, "wrong.example", &["wrong.example"], false, false),
        expired: leaf(&good, "localhost", &here, false, true),
        client: leaf(&good, "libcce-client", &["libcce-client"], true, false),
        rogue_client: leaf(&other, "rogue-client", &["rogue-client"], true, false),
    }
}

/// Writes the set into `dir` as PEM files: ca.pem, other_ca.pem, and NAME.pem /
/// NAME.key for server, wrong_name, expired, client, rogue_client.
pub fn write(pki: &Pki, dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("ca.pem"), &pki.ca)?;
    std::fs::write(dir.join("other_ca.pem"), &pki.other_ca)?;
    for (name, pair) in [
        ("server", &pki.server),
        ("wrong_name", &pki.wrong_name),
        ("expired", &pki.expired),
        ("client", &pki.client),
        ("rogue_client", &pki.rogue_client),
    ] {
        std::fs::write(dir.join(format!("{name}.pem")), &pair.cert)?;
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&key, &pair.key)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}
