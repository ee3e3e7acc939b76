//! TLS: certificate verification is on by default, a private CA can be trusted, and the
//! opt-out works; the simulator and the webhook server can serve HTTPS.

use std::time::Duration;

use cce::ece::messaging::{Customer, StartConversation};
use cce::ece::webhook::{EventKind, WebhookAuth};
use cce::ece::{
    ChatWsClient, ChatWsConfig, ClientConfig, EceClient, EceError, Secret, TlsIdentity,
    WebhookConfig, WebhookServer,
};
use cce::sim::ece::{EceSimConfig, EceSimulator, SimWebhook};

const CA: &str = include_str!("ece_tls/ca.pem");

fn identity() -> TlsIdentity {
    TlsIdentity {
        cert_pem: include_str!("ece_tls/server.pem").into(),
        key_pem: include_str!("ece_tls/server-key.pem").into(),
    }
}

async fn tls_sim() -> EceSimulator {
    EceSimulator::start(EceSimConfig {
        tls: Some(identity()),
        ..EceSimConfig::default()
    })
    .await
    .unwrap()
}

fn client(sim: &EceSimulator, tweak: impl FnOnce(&mut ClientConfig)) -> EceClient {
    let mut c = ClientConfig::new(sim.server_url(), "sim-key", "sim-secret", 1001);
    c.http.retry.max_retries = 0;
    tweak(&mut c);
    EceClient::new(c).unwrap()
}

#[tokio::test]
async fn unknown_certificates_are_refused_by_default() {
    let sim = tls_sim().await;
    assert!(sim.server_url().starts_with("https://127.0.0.1:"));
    let err = client(&sim, |_| {}).login().await.unwrap_err();
    let (EceError::Connect { reason, .. } | EceError::Transport { reason, .. }) = &err else {
        panic!("{err:?}")
    };
    assert!(reason.to_lowercase().contains("certificate"), "{reason}");
    assert_eq!(sim.stats().logins, 0, "nothing reached the server");
    sim.stop().await;
}

#[tokio::test]
async fn a_trusted_private_ca_or_the_opt_out_works() {
    let sim = tls_sim().await;
    let trusted = client(&sim, |c| c.http.ca_pem = Some(CA.into()));
    trusted.configuration(false).await.unwrap();
    let lab = client(&sim, |c| c.http.verify_tls = false);
    lab.configuration(false).await.unwrap();
    assert_eq!(sim.stats().logins, 2);

    let ws = |verify: bool| {
        let mut c = ChatWsConfig::new(sim.chat_base_url());
        c.http.verify_tls = verify;
        c.http.retry.max_retries = 0;
        ChatWsClient::new(c).unwrap()
    };
    assert!(ws(false).agent_availability(1001).await.unwrap());
    assert!(ws(true).agent_availability(1001).await.is_err());
    sim.stop().await;
}

#[tokio::test]
async fn webhook_over_https() {
    let mut cfg = WebhookConfig::new(WebhookAuth::Bearer(Secret::new("t")));
    cfg.tls = Some(identity());
    let (hook, mut events) = WebhookServer::start(cfg).await.unwrap();
    assert!(hook.url().starts_with("https://"));
    let sim = EceSimulator::start(EceSimConfig::default()).await.unwrap();
    // Without trusting the CA, the simulator cannot deliver.
    sim.set_webhook(Some(SimWebhook {
        url: hook.url(),
        basic: None,
        bearer: Some("t".into()),
        ca_pem: None,
    }));
    let c = client(&sim, |_| {});
    c.start_conversation(&StartConversation::new(Customer::default()))
        .await
        .unwrap();
    assert!(sim.wait_idle(Duration::from_secs(5)).await);
    let d = sim.stats().deliveries;
    assert_eq!(d[0].status, None);
    assert!(d[0]
        .error
        .as_deref()
        .unwrap_or_default()
        .contains("certificate"));
    // Trusting it, events flow.
    sim.set_webhook(Some(SimWebhook {
        url: hook.url(),
        basic: None,
        bearer: Some("t".into()),
        ca_pem: Some(CA.into()),
    }));
    let conv = c
        .start_conversation(&StartConversation::new(Customer::default()))
        .await
        .unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (ev.conversation_id.as_str(), &ev.data.kind),
        (conv.id.as_str(), &EventKind::Assigned)
    );
    sim.stop().await;
    hook.stop().await;
}

#[tokio::test]
async fn bad_tls_material_is_a_config_error() {
    let bad = EceSimConfig {
        tls: Some(TlsIdentity {
            cert_pem: "not a cert".into(),
            key_pem: "not a key".into(),
        }),
        ..EceSimConfig::default()
    };
    assert!(matches!(
        EceSimulator::start(bad).await,
        Err(EceError::Config(_))
    ));
    assert!(!format!("{:?}", identity()).contains("PRIVATE KEY"));
}
