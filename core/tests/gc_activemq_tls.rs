//! GC over STOMP+TLS to a real Apache ActiveMQ broker: `make test-gc` starts it with a
//! TLS connector (`CCE_STOMP_TLS_ADDR`) whose throw-away CA is in `CCE_STOMP_TLS_CA`.
//! The GC simulator stays on the plain connector, so messages cross both.
//! Without those variables these tests say so and pass, unless `CCE_REQUIRE_BROKER` is set.

mod gc_common;

use cce::gc::client::{ClientError, GcClient};
use cce::gc::transport::TransportError;
use cce::sim::gc::SimFormat;
use cce::tls::{CertificateReason, TlsConfig, TlsError};
use gc_common::*;

struct Broker {
    plain: String,
    tls: String,
    ca_file: String,
}

fn broker() -> Option<Broker> {
    let var = |k| std::env::var(k).ok().filter(|v: &String| !v.is_empty());
    match (
        var("CCE_STOMP_ADDR"),
        var("CCE_STOMP_TLS_ADDR"),
        var("CCE_STOMP_TLS_CA"),
    ) {
        (Some(plain), Some(tls), Some(ca_file)) => Some(Broker {
            plain,
            tls,
            ca_file,
        }),
        _ => {
            assert!(
                std::env::var_os("CCE_REQUIRE_BROKER").is_none(),
                "CCE_REQUIRE_BROKER is set but CCE_STOMP_TLS_ADDR/CCE_STOMP_TLS_CA are not"
            );
            eprintln!("SKIPPED: no TLS broker; run `make test-gc` to test against ActiveMQ");
            None
        }
    }
}

fn tls(b: &Broker) -> TlsConfig {
    TlsConfig {
        ca_file: Some(b.ca_file.clone().into()),
        ..TlsConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_session_over_tls_to_activemq() {
    let Some(b) = broker() else { return };
    let queue = unique("Connector");
    let dest = unique("crm");
    let sim = sim(&b.plain, &queue, SimFormat::Json).await;
    let mut cfg = client_config(&dest, std::slice::from_ref(&b.tls), &queue);
    cfg.link.tls = Some(tls(&b));
    let (client, mut ev) = logged_in(cfg, "1001", "4001").await;
    wait_for(&mut ev, "AgentInfo", gc("AgentInfo", "1001")).await;
    client.close().await;
    sim.stop().await;
}

async fn refused(b: &Broker, t: TlsConfig) -> CertificateReason {
    let mut cfg = client_config(&unique("crm"), std::slice::from_ref(&b.tls), "Connector1");
    cfg.link.tls = Some(t);
    match GcClient::connect(cfg).await {
        Err(ClientError::Transport(TransportError::Tls {
            error: TlsError::CertificateInvalid { reason, .. },
            ..
        })) => reason,
        Err(e) => panic!("expected a certificate error, got {e}"),
        Ok(_) => panic!("expected a certificate error, connected"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_certificate_failures_are_typed() {
    let Some(b) = broker() else { return };
    assert_eq!(
        refused(&b, TlsConfig::default()).await,
        CertificateReason::UnknownIssuer
    );
    let other_name = TlsConfig {
        server_name: Some("broker.example".into()),
        ..tls(&b)
    };
    assert_eq!(
        refused(&b, other_name).await,
        CertificateReason::NameMismatch
    );
}
