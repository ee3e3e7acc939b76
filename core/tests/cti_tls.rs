//! CTI over TLS against the simulator's TLS listeners: mutual TLS on side A, failover
//! to a TLS side B, a new TLS config taking effect at the next reconnect, and every
//! failure class giving its typed error quickly. Key material is generated here.

#[path = "support/pki.rs"]
mod pki;

use std::time::Duration;

use cce::cti::client::Client;
use cce::cti::connection::{ConnectionConfig, ConnectionEvent, CtiConnection, CtiEvent, CtiEvents};
use cce::cti::reconnect::{ReconnectPolicy, Side as ClientSide};
use cce::cti::session::{SessionConfig, SessionError};
use cce::ece::Secret;
use cce::sim::cti::{CtiSimulator, Side, SimConfig, SimTls};
use cce::tls::{fingerprint_sha256, CertificateReason, TlsConfig, TlsError};

const WAIT: Duration = Duration::from_secs(10);

fn session() -> SessionConfig {
    let mut s = SessionConfig::new("tls-test", 24);
    s.peripheral_id = 5000;
    s
}

fn sim_tls(server: &pki::Pair, client_ca: Option<&str>, secure_only: bool) -> SimTls {
    SimTls {
        cert_pem: Some(server.cert.clone()),
        key_pem: Some(Secret::new(server.key.clone())),
        client_ca_pem: client_ca.map(str::to_owned),
        secure_only,
        ..SimTls::default()
    }
}

async fn sim_with(tls: SimTls, duplex: bool) -> CtiSimulator {
    let base = if duplex {
        SimConfig::duplex()
    } else {
        SimConfig::default()
    };
    CtiSimulator::start(SimConfig {
        tls: Some(tls),
        ..base
    })
    .await
    .unwrap()
}

fn client_tls(p: &pki::Pki) -> TlsConfig {
    TlsConfig {
        ca_pem: Some(p.ca.clone()),
        cert_pem: Some(p.client.cert.clone()),
        key_pem: Some(Secret::new(p.client.key.clone())),
        ..TlsConfig::default()
    }
}

/// Opens a session to `addr`, failing the test if it takes longer than `WAIT`.
async fn open(addr: &str, tls: Option<&TlsConfig>) -> Result<Client, SessionError> {
    tokio::time::timeout(
        WAIT,
        Client::connect_with(
            addr,
            session(),
            tls,
            Duration::from_secs(5),
            Default::default(),
        ),
    )
    .await
    .expect("no hang")
    .map(|(c, _)| c)
}

fn reason(r: Result<Client, SessionError>) -> CertificateReason {
    match r {
        Err(SessionError::Tls(TlsError::CertificateInvalid { reason, .. })) => reason,
        Err(other) => panic!("expected CertificateInvalid, got {other:?}"),
        Ok(_) => panic!("expected CertificateInvalid, the session opened"),
    }
}

fn handshake(r: Result<Client, SessionError>) -> String {
    match r {
        Err(SessionError::Tls(TlsError::Handshake(why))) => why,
        Err(other) => panic!("expected TlsHandshake, got {other:?}"),
        Ok(_) => panic!("expected TlsHandshake, the session opened"),
    }
}

async fn until<T>(events: &mut CtiEvents, mut pick: impl FnMut(&CtiEvent) -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(ev)) => {
                if let Some(t) = pick(&ev) {
                    return t;
                }
            }
            other => panic!("expected event missing: {other:?}"),
        }
    }
}

fn connected(e: &CtiEvent) -> Option<(ClientSide, bool)> {
    match e {
        CtiEvent::Connection(ConnectionEvent::Connected {
            side, reconnected, ..
        }) => Some((*side, *reconnected)),
        _ => None,
    }
}

fn tls_config(sim: &CtiSimulator, tls: TlsConfig) -> ConnectionConfig {
    let mut cfg = ConnectionConfig::new(session(), sim.side_tls_addr(Side::A).unwrap().to_string())
        .with_side_b(sim.side_tls_addr(Side::B).unwrap().to_string())
        .with_tls(tls);
    cfg.reconnect = ReconnectPolicy {
        expected_clients: 0,
        ..Default::default()
    }
    .scaled(0.001);
    cfg.connect_timeout = Duration::from_secs(2);
    cfg.resync_window = Duration::from_millis(200);
    cfg
}

#[tokio::test]
async fn mutual_tls_on_side_a_then_failover_to_tls_side_b() {
    let p = pki::generate();
    let sim = sim_with(sim_tls(&p.server, Some(&p.ca), false), true).await;
    let (a_plain, a_tls) = (
        sim.side_addr(Side::A).unwrap(),
        sim.side_tls_addr(Side::A).unwrap(),
    );
    assert_ne!(a_plain, a_tls, "mixed mode: a plain and a TLS port");
    // Mixed mode: the plain port still serves plain clients.
    open(&a_plain.to_string(), None)
        .await
        .unwrap()
        .close()
        .await;

    let (conn, mut events) = CtiConnection::connect(tls_config(&sim, client_tls(&p)))
        .await
        .unwrap();
    assert_eq!(until(&mut events, connected).await, (ClientSide::A, false));
    assert!(conn.open_conf().is_some());
    assert_eq!(sim.session_count_on(Side::A), 1);

    sim.kill_side(Side::A);
    assert_eq!(until(&mut events, connected).await, (ClientSide::B, true));
    assert_eq!(sim.session_count_on(Side::B), 1);
    conn.close().await;
    sim.stop().await;
}

#[tokio::test]
async fn tls_failures_are_failed_attempts_and_a_new_config_applies_at_reconnect() {
    let p = pki::generate();
    let sim = sim_with(sim_tls(&p.server, Some(&p.ca), false), true).await;
    let (conn, mut events) = CtiConnection::connect(tls_config(&sim, client_tls(&p)))
        .await
        .unwrap();
    assert_eq!(until(&mut events, connected).await, (ClientSide::A, false));

    // A config trusting the wrong CA: the next attempts fail with a certificate error.
    conn.set_tls(Some(TlsConfig {
        ca_pem: Some(p.other_ca.clone()),
        ..client_tls(&p)
    }));
    sim.kill_side(Side::A);
    // Side A is down (refused); side B answers with a certificate the config rejects.
    let side = until(&mut events, |e| match e {
        CtiEvent::Connection(ConnectionEvent::AttemptFailed { error, side })
            if error.contains("certificate invalid (unknown_issuer)") =>
        {
            Some(*side)
        }
        CtiEvent::Connection(ConnectionEvent::Connected { .. }) => panic!("connected: {e:?}"),
        _ => None,
    })
    .await;
    assert_eq!(side, ClientSide::B);
    assert!(!conn.is_connected());

    // The right config again: the schedule goes on and connects to side B.
    conn.set_tls(Some(client_tls(&p)));
    assert_eq!(until(&mut events, connected).await, (ClientSide::B, true));
    conn.close().await;
    sim.stop().await;
}

#[tokio::test]
async fn server_certificate_failures_are_typed() {
    let p = pki::generate();
    let good = sim_with(sim_tls(&p.server, None, false), false).await;
    let good_addr = good.side_tls_addr(Side::A).unwrap().to_string();
    let trust = |ca: &str| TlsConfig {
        ca_pem: Some(ca.to_owned()),
        ..TlsConfig::default()
    };

    // Server-only TLS with the right CA works.
    open(&good_addr, Some(&trust(&p.ca)))
        .await
        .unwrap()
        .close()
        .await;
    // Wrong CA.
    assert_eq!(
        reason(open(&good_addr, Some(&trust(&p.other_ca))).await),
        CertificateReason::UnknownIssuer
    );
    // The system roots do not know the test CA either.
    assert_eq!(
        reason(open(&good_addr, Some(&TlsConfig::default())).await),
        CertificateReason::UnknownIssuer
    );
    // A server name the certificate does not carry.
    let other_name = TlsConfig {
        server_name: Some("cti-b.example".into()),
        ..trust(&p.ca)
    };
    assert_eq!(
        reason(open(&good_addr, Some(&other_name)).await),
        CertificateReason::NameMismatch
    );

    // Pinning: the exact certificate, no CA and no name needed; another pin fails.
    let der = rustls_pki_der(&p.server.cert);
    let pinned = TlsConfig {
        pinned_cert_sha256: Some(fingerprint_sha256(&der)),
        server_name: Some("any.example".into()),
        ..TlsConfig::default()
    };
    open(&good_addr, Some(&pinned)).await.unwrap().close().await;
    let pinned_pem = TlsConfig {
        pinned_cert_pem: Some(p.server.cert.clone()),
        ..TlsConfig::default()
    };
    open(&good_addr, Some(&pinned_pem))
        .await
        .unwrap()
        .close()
        .await;
    let wrong_pin = TlsConfig {
        pinned_cert_pem: Some(p.expired.cert.clone()),
        ..TlsConfig::default()
    };
    assert_eq!(
        reason(open(&good_addr, Some(&wrong_pin)).await),
        CertificateReason::PinMismatch
    );
    good.stop().await;

    // A certificate for another name.
    let wrong = sim_with(sim_tls(&p.wrong_name, None, false), false).await;
    let wrong_addr = wrong.side_tls_addr(Side::A).unwrap().to_string();
    assert_eq!(
        reason(open(&wrong_addr, Some(&trust(&p.ca))).await),
        CertificateReason::NameMismatch
    );
    // ... accepted when that name is the one asked for, or with verification off.
    let named = TlsConfig {
        server_name: Some("wrong.example".into()),
        ..trust(&p.ca)
    };
    open(&wrong_addr, Some(&named)).await.unwrap().close().await;
    let insecure = TlsConfig {
        insecure_skip_verify: true,
        ..TlsConfig::default()
    };
    open(&wrong_addr, Some(&insecure))
        .await
        .unwrap()
        .close()
        .await;
    wrong.stop().await;

    // An expired certificate.
    let expired = sim_with(sim_tls(&p.expired, None, false), false).await;
    let expired_addr = expired.side_tls_addr(Side::A).unwrap().to_string();
    assert_eq!(
        reason(open(&expired_addr, Some(&trust(&p.ca))).await),
        CertificateReason::Expired
    );
    expired.stop().await;
}

fn rustls_pki_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn client_certificate_failures_are_typed() {
    let p = pki::generate();
    let sim = sim_with(sim_tls(&p.server, Some(&p.ca), false), false).await;
    let addr = sim.side_tls_addr(Side::A).unwrap().to_string();
    let no_cert = TlsConfig {
        ca_pem: Some(p.ca.clone()),
        ..TlsConfig::default()
    };
    assert_eq!(
        reason(open(&addr, Some(&no_cert)).await),
        CertificateReason::ClientCertificateRefused
    );
    let rogue = TlsConfig {
        cert_pem: Some(p.rogue_client.cert.clone()),
        key_pem: Some(Secret::new(p.rogue_client.key.clone())),
        ..no_cert.clone()
    };
    assert_eq!(
        reason(open(&addr, Some(&rogue)).await),
        CertificateReason::ClientCertificateRefused
    );
    // TLS 1.2 only on the server side is not needed: the same holds with TLS 1.3 minimum.
    let v13 = TlsConfig {
        min_version: cce::tls::TlsVersion::Tls13,
        ..no_cert
    };
    assert_eq!(
        reason(open(&addr, Some(&v13)).await),
        CertificateReason::ClientCertificateRefused
    );
    open(&addr, Some(&client_tls(&p)))
        .await
        .unwrap()
        .close()
        .await;
    assert_eq!(sim.session_count(), 0);
    sim.stop().await;
}

#[tokio::test]
async fn plain_and_tls_mismatches_are_handshake_errors() {
    let p = pki::generate();
    // Secure-only: the side's only port speaks TLS.
    let secure = sim_with(sim_tls(&p.server, None, true), false).await;
    let addr = secure.side_addr(Side::A).unwrap();
    assert_eq!(secure.side_tls_addr(Side::A), Some(addr));
    let why = handshake(open(&addr.to_string(), None).await);
    assert!(why.contains("TLS"), "{why}");
    secure.stop().await;

    // A TLS client on a plain port.
    let plain = CtiSimulator::start(SimConfig::default()).await.unwrap();
    let tls = TlsConfig {
        ca_pem: Some(p.ca.clone()),
        ..TlsConfig::default()
    };
    let why = handshake(open(&plain.local_addr().to_string(), Some(&tls)).await);
    assert!(why.contains("port"), "{why}");
    plain.stop().await;
}

#[tokio::test]
async fn bad_settings_are_config_errors_without_key_material() {
    let p = pki::generate();
    let sim = sim_with(sim_tls(&p.server, None, false), false).await;
    let addr = sim.side_tls_addr(Side::A).unwrap().to_string();
    let cert_only = TlsConfig {
        cert_pem: Some(p.client.cert.clone()),
        ..TlsConfig::default()
    };
    assert!(matches!(
        open(&addr, Some(&cert_only)).await,
        Err(SessionError::Config(_))
    ));
    let bad_key = TlsConfig {
        cert_pem: Some(p.client.cert.clone()),
        key_pem: Some(Secret::new(
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0a2V5\n-----END PRIVATE KEY-----\n",
        )),
        ca_pem: Some(p.ca.clone()),
        ..TlsConfig::default()
    };
    let e = open(&addr, Some(&bad_key)).await.err().expect("refused");
    assert!(matches!(e, SessionError::Config(_)), "{e:?}");
    assert!(!format!("{e} {e:?} {bad_key:?}").contains("c2VjcmV0a2V5"));
    let missing = TlsConfig {
        ca_file: Some("/nonexistent/ca.pem".into()),
        ..TlsConfig::default()
    };
    assert!(matches!(
        open(&addr, Some(&missing)).await,
        Err(SessionError::Config(_))
    ));
    sim.stop().await;
}

/// The SEC1 `EC PRIVATE KEY` inside a PKCS#8 PEM key (a minimal DER walk).
fn sec1_pem(pkcs8_pem: &str) -> String {
    use base64::Engine;
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(pkcs8_pem.as_bytes()).unwrap();
    let d = der.secret_pkcs8_der();
    // One DER element at `i`: (tag, content start, content end).
    let elem = |i: usize| {
        let tag = d[i];
        let (len, start) = match d[i + 1] {
            l if l < 0x80 => (l as usize, i + 2),
            0x81 => (d[i + 2] as usize, i + 3),
            0x82 => (((d[i + 2] as usize) << 8) | d[i + 3] as usize, i + 4),
            other => panic!("length form {other:#x}"),
        };
        (tag, start, start + len)
    };
    let (_, outer, _) = elem(0); // SEQUENCE
    let (_, _, after_version) = elem(outer); // INTEGER version
    let (_, _, after_alg) = elem(after_version); // AlgorithmIdentifier
    let (tag, start, end) = elem(after_alg); // OCTET STRING holding ECPrivateKey
    assert_eq!(tag, 0x04);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&d[start..end]);
    format!("-----BEGIN EC PRIVATE KEY-----\n{b64}\n-----END EC PRIVATE KEY-----\n")
}

#[tokio::test]
async fn sec1_ec_client_keys_work_too() {
    let p = pki::generate();
    let sim = sim_with(sim_tls(&p.server, Some(&p.ca), false), false).await;
    let addr = sim.side_tls_addr(Side::A).unwrap().to_string();
    let sec1 = TlsConfig {
        key_pem: Some(Secret::new(sec1_pem(&p.client.key))),
        ..client_tls(&p)
    };
    assert!(sec1
        .key_pem
        .as_ref()
        .unwrap()
        .expose()
        .contains("BEGIN EC PRIVATE KEY"));
    open(&addr, Some(&sec1)).await.unwrap().close().await;
    assert_eq!(sim.session_count(), 0);
    sim.stop().await;
}
