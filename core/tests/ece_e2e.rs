//! End-to-end tests of the ECE client, webhook server and chat web services against the
//! embedded simulator, through the real HTTP stack on 127.0.0.1.

use std::time::Duration;

use cce::ece::chatws::{ChatDeniedReason, Eligibility, Survey, SurveyAnswer};
use cce::ece::messaging::{Customer, MessageType, StartConversation};
use cce::ece::webhook::{EventKind, MessageFormat, WebhookAuth};
use cce::ece::{
    ChatWsClient, ChatWsConfig, ClientConfig, EceClient, EceError, Secret, WebhookConfig,
    WebhookEvent, WebhookEvents, WebhookServer,
};
use cce::sim::ece::{EceSimConfig, EceSimulator, SimBasic, SimChatPaths, SimEndpoint, SimWebhook};

const WAIT: Duration = Duration::from_secs(5);

struct Rig {
    sim: EceSimulator,
    hook: WebhookServer,
    events: WebhookEvents,
    client: EceClient,
}

fn basic_auth() -> WebhookAuth {
    WebhookAuth::Basic {
        username: "ece".into(),
        password: Secret::new("hook-pw"),
    }
}

fn client_config(sim: &EceSimulator) -> ClientConfig {
    let mut c = ClientConfig::new(sim.server_url(), "sim-key", "sim-secret", 1001);
    c.http.retry.base_delay = Duration::from_millis(10);
    c
}

async fn rig_with(sim_cfg: EceSimConfig, tweak: impl FnOnce(&mut ClientConfig)) -> Rig {
    let (hook, events) = WebhookServer::start(WebhookConfig::new(basic_auth()))
        .await
        .unwrap();
    let sim = EceSimulator::start(sim_cfg).await.unwrap();
    sim.set_webhook(Some(SimWebhook {
        url: hook.url(),
        basic: Some(SimBasic {
            username: "ece".into(),
            password: "hook-pw".into(),
        }),
        bearer: None,
        ca_pem: None,
    }));
    let mut cfg = client_config(&sim);
    tweak(&mut cfg);
    let client = EceClient::new(cfg).unwrap();
    Rig {
        sim,
        hook,
        events,
        client,
    }
}

async fn rig() -> Rig {
    rig_with(EceSimConfig::default(), |_| {}).await
}

fn customer() -> StartConversation {
    StartConversation::new(Customer {
        first_name: Some("Ada".into()),
        last_name: Some("Lovelace".into()),
        email: Some("ada@example.com".into()),
        ..Customer::default()
    })
}

async fn next(events: &mut WebhookEvents) -> WebhookEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("no webhook event in time")
        .expect("event stream ended")
}

impl Rig {
    async fn stop(self) {
        self.sim.stop().await;
        self.hook.stop().await;
    }
}

#[tokio::test]
async fn full_chat_from_start_to_completion() {
    let mut r = rig().await;
    let conv = r.client.start_conversation(&customer()).await.unwrap();
    assert!(!conv.id.is_empty());
    assert!(conv.activity_id.is_some() && conv.case_id.is_some());

    let e = next(&mut r.events).await;
    assert_eq!(e.conversation_id, conv.id);
    assert_eq!(e.data.kind, EventKind::Assigned);
    assert_eq!(e.data.agent.unwrap().screen_name.as_deref(), Some("agent1"));

    r.client
        .send_message(&conv.id, MessageType::Html, "Hello <b>agent</b>")
        .await
        .unwrap();
    assert_eq!(next(&mut r.events).await.data.kind, EventKind::StartTyping);
    assert_eq!(next(&mut r.events).await.data.kind, EventKind::EndTyping);
    let reply = next(&mut r.events).await;
    assert_eq!(reply.data.kind, EventKind::Message(MessageFormat::Html));
    assert_eq!(reply.data.content.as_deref(), Some("You said: Hello agent"));

    r.sim.agent_say(&conv.id, "Anything else?").unwrap();
    let kinds: Vec<_> = [
        next(&mut r.events).await,
        next(&mut r.events).await,
        next(&mut r.events).await,
    ]
    .into_iter()
    .map(|e| e.data.kind)
    .collect();
    assert_eq!(kinds[2], EventKind::Message(MessageFormat::Html));

    r.client
        .send_message(&conv.id, MessageType::Plain, "bye")
        .await
        .unwrap();
    let mut last = next(&mut r.events).await;
    while last.data.kind != EventKind::Complete {
        last = next(&mut r.events).await;
    }
    assert_eq!(last.conversation_id, conv.id);

    // After completion the conversation is gone.
    let err = r
        .client
        .send_message(&conv.id, MessageType::Plain, "still there?")
        .await
        .unwrap_err();
    assert!(matches!(err, EceError::NotFound(_)), "{err:?}");

    let stats = r.sim.stats();
    let c = &stats.conversations[0];
    assert_eq!(c.email.as_deref(), Some("ada@example.com"));
    assert!(c.typing && c.ended);
    let texts: Vec<_> = c.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(texts, ["Hello <b>agent</b>", "bye"]);
    assert_eq!(c.messages[1].message_type, "text/plain");
    assert_eq!(stats.logins, 1, "one token serves the whole chat");
    let hs = r.hook.stats();
    assert_eq!(hs.unauthorized, 0);
    assert_eq!(hs.events, 11);
    r.stop().await;
}

#[tokio::test]
async fn end_conversation_brings_complete_and_unknown_types_stay_raw() {
    let mut r = rig().await;
    let conv = r.client.start_conversation(&customer()).await.unwrap();
    assert_eq!(next(&mut r.events).await.data.kind, EventKind::Assigned);
    r.sim
        .agent_event(&conv.id, "transfer", Some("to queue 2"))
        .unwrap();
    let t = next(&mut r.events).await;
    assert_eq!(t.data.kind, EventKind::Other("transfer".into()));
    assert_eq!(t.data.raw["content"], "to queue 2");
    r.client.end_conversation(&conv.id).await.unwrap();
    assert_eq!(next(&mut r.events).await.data.kind, EventKind::Complete);
    assert!(matches!(
        r.client.end_conversation(&conv.id).await,
        Err(EceError::NotFound(_))
    ));
    r.stop().await;
}

#[tokio::test]
async fn expired_token_is_renewed_once_on_401() {
    let r = rig().await;
    r.client.configuration(true).await.unwrap();
    assert_eq!(r.sim.stats().logins, 1);
    r.sim.expire_tokens();
    r.client.configuration(true).await.unwrap();
    assert_eq!(r.sim.stats().logins, 2);
    assert_eq!(r.client.logins(), 2);
    assert_eq!(r.sim.stats().requests[&SimEndpoint::Configuration], 3);

    // Tokens that are dead on arrival: one re-login, one retry, then Unauthorized.
    r.sim.set_token_lifetime(Duration::ZERO);
    r.sim.expire_tokens();
    let err = r.client.configuration(true).await.unwrap_err();
    assert!(matches!(err, EceError::Unauthorized(_)), "{err:?}");
    assert_eq!(r.sim.stats().logins, 3);
    assert_eq!(r.sim.stats().requests[&SimEndpoint::Configuration], 5);
    r.stop().await;
}

#[tokio::test]
async fn token_is_refreshed_before_it_expires() {
    // Refresh ratio 0: every token is considered due at once, so each call logs in
    // first and never meets a 401.
    let r = rig_with(EceSimConfig::default(), |c| c.token_refresh_ratio = 0.0).await;
    for _ in 0..3 {
        r.client.configuration(true).await.unwrap();
    }
    let s = r.sim.stats();
    assert_eq!(s.logins, 3);
    assert_eq!(s.requests[&SimEndpoint::Configuration], 3);
    r.stop().await;
}

#[tokio::test]
async fn wrong_client_secret_is_unauthorized() {
    let sim = EceSimulator::start(EceSimConfig::default()).await.unwrap();
    let c = EceClient::new(ClientConfig::new(sim.server_url(), "sim-key", "nope", 1001)).unwrap();
    let err = c.configuration(false).await.unwrap_err();
    let EceError::Unauthorized(h) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(h.op.name(), "login");
    assert_eq!(
        sim.stats().requests[&SimEndpoint::Token],
        1,
        "a 401 login is not retried"
    );
    assert!(!format!("{err} {err:?} {c:?}").contains("nope"));
    sim.stop().await;
}

#[tokio::test]
async fn stale_configuration_409_is_recovered_once() {
    let mut r = rig().await;
    r.client.start_conversation(&customer()).await.unwrap();
    next(&mut r.events).await;
    r.sim.touch_configuration(1001).unwrap();
    let conv = r.client.start_conversation(&customer()).await.unwrap();
    assert_eq!(next(&mut r.events).await.conversation_id, conv.id);
    let s = r.sim.stats();
    assert_eq!(s.requests[&SimEndpoint::Configuration], 2);
    assert_eq!(s.requests[&SimEndpoint::Start], 3);
    assert_eq!(s.conversations.len(), 2);

    // A second 409 in a row is returned, not looped on.
    r.sim.fail_next(SimEndpoint::Start, 409, 2);
    let err = r.client.start_conversation(&customer()).await.unwrap_err();
    assert!(matches!(err, EceError::StaleConfiguration(_)), "{err:?}");
    assert_eq!(r.sim.stats().requests[&SimEndpoint::Start], 5);
    r.stop().await;
}

#[tokio::test]
async fn messages_are_never_resent_after_possible_acceptance() {
    let mut r = rig_with(EceSimConfig::default(), |c| {
        c.http.request_timeout = Duration::from_millis(300)
    })
    .await;
    let conv = r.client.start_conversation(&customer()).await.unwrap();
    next(&mut r.events).await;
    let sends = |r: &Rig| r.sim.stats().requests[&SimEndpoint::SendMessage];

    r.sim.fail_next(SimEndpoint::SendMessage, 500, 1);
    let err = r
        .client
        .send_message(&conv.id, MessageType::Html, "a")
        .await
        .unwrap_err();
    assert!(matches!(err, EceError::ServerError(_)), "{err:?}");
    assert_eq!(sends(&r), 1);

    r.sim.fail_next(SimEndpoint::SendMessage, 409, 1);
    let err = r
        .client
        .send_message(&conv.id, MessageType::Html, "b")
        .await
        .unwrap_err();
    assert!(matches!(err, EceError::StaleConfiguration(_)), "{err:?}");
    assert_eq!(sends(&r), 2);

    r.sim.fail_next(SimEndpoint::SendMessage, 403, 1);
    let err = r
        .client
        .send_message(&conv.id, MessageType::Html, "c")
        .await
        .unwrap_err();
    assert!(matches!(err, EceError::Forbidden(_)), "{err:?}");

    r.sim
        .set_delay(SimEndpoint::SendMessage, Duration::from_secs(2));
    let err = r
        .client
        .send_message(&conv.id, MessageType::Html, "slow")
        .await
        .unwrap_err();
    assert!(matches!(err, EceError::Timeout { .. }), "{err:?}");
    assert_eq!(sends(&r), 4);

    // A 401 means "not accepted": re-login and one retry are safe.
    r.sim.set_delay(SimEndpoint::SendMessage, Duration::ZERO);
    r.sim.fail_next(SimEndpoint::SendMessage, 401, 1);
    r.client
        .send_message(&conv.id, MessageType::Html, "after 401")
        .await
        .unwrap();
    assert_eq!(sends(&r), 6);
    r.stop().await;
}

#[tokio::test]
async fn safe_calls_are_retried_on_server_errors() {
    let r = rig().await;
    r.sim.fail_next(SimEndpoint::Configuration, 500, 2);
    r.client.configuration(true).await.unwrap();
    assert_eq!(r.sim.stats().requests[&SimEndpoint::Configuration], 3);
    r.sim.fail_next(SimEndpoint::Configuration, 503, 3);
    assert!(matches!(
        r.client.configuration(true).await,
        Err(EceError::ServerError(_))
    ));
    // Start is not retried on 500: ECE may have created the conversation.
    r.sim.fail_next(SimEndpoint::Start, 500, 1);
    assert!(matches!(
        r.client.start_conversation(&customer()).await,
        Err(EceError::ServerError(_))
    ));
    assert_eq!(r.sim.stats().requests[&SimEndpoint::Start], 1);
    r.stop().await;
}

#[tokio::test]
async fn webhook_with_wrong_credentials_is_refused() {
    let mut r = rig().await;
    r.sim.set_webhook(Some(SimWebhook {
        url: r.hook.url(),
        basic: Some(SimBasic {
            username: "ece".into(),
            password: "wrong".into(),
        }),
        bearer: None,
        ca_pem: None,
    }));
    r.client.start_conversation(&customer()).await.unwrap();
    assert!(r.sim.wait_idle(WAIT).await);
    let d = r.sim.stats().deliveries;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].status, Some(401));
    assert_eq!(
        r.sim
            .webhook_raw(b"{}".to_vec(), "application/json", Some(None))
            .await
            .unwrap(),
        401
    );
    assert_eq!(
        r.sim
            .webhook_raw(
                b"{}".to_vec(),
                "application/json",
                Some(Some("Bearer hook-pw".into()))
            )
            .await
            .unwrap(),
        401
    );
    assert_eq!(r.hook.stats().unauthorized, 3);
    assert!(r.events.try_recv().is_none());
    r.stop().await;
}

#[tokio::test]
async fn malformed_webhook_bodies_get_4xx_and_the_server_survives() {
    let mut r = rig().await;
    let post = |body: Vec<u8>, ct: &'static str| r.sim.webhook_raw(body, ct, None);
    assert_eq!(post(b"{".to_vec(), "application/json").await.unwrap(), 400);
    assert_eq!(post(b"[]".to_vec(), "application/json").await.unwrap(), 400);
    assert_eq!(
        post(b"{\"message\":[{}]}".to_vec(), "application/json")
            .await
            .unwrap(),
        400
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        post(deep.into_bytes(), "application/json").await.unwrap(),
        400
    );
    let huge = format!("{{\"message\":[],\"pad\":\"{}\"}}", "x".repeat(2 << 20));
    assert_eq!(
        post(huge.into_bytes(), "application/json").await.unwrap(),
        413
    );
    assert_eq!(post(b"<message/>".to_vec(), "text/xml").await.unwrap(), 415);
    assert_eq!(
        post(vec![0xff, 0xfe, 0x00], "application/json")
            .await
            .unwrap(),
        400
    );

    // Wrong path and method.
    cce::ece::http::ensure_crypto_provider();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://{}", r.hook.local_addr());
    assert_eq!(http.get(&base).send().await.unwrap().status(), 405);
    assert_eq!(
        http.post(format!("{base}/other"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    // Still serving, and a valid batch goes through in order.
    let ok = br#"{"message":[
        {"conversation":{"id":"c9"},"type":{"value":"text/plain"},"content":"two","timeStamp":2,"id":"2"},
        {"conversation":{"id":"c9"},"type":{"value":"assigned"},"content":"one","timeStamp":1,"id":"1"}]}"#;
    assert_eq!(post(ok.to_vec(), "application/json").await.unwrap(), 204);
    assert_eq!(
        next(&mut r.events).await.data.content.as_deref(),
        Some("one")
    );
    assert_eq!(
        next(&mut r.events).await.data.content.as_deref(),
        Some("two")
    );
    // The same POST again (an ECE retry) is de-duplicated.
    assert_eq!(post(ok.to_vec(), "application/json").await.unwrap(), 204);
    let s = r.hook.stats();
    assert_eq!(s.duplicates, 2);
    assert_eq!(s.bad_bodies, 7);
    assert_eq!(s.bad_requests, 2);
    assert!(r.events.try_recv().is_none());
    r.stop().await;
}

#[tokio::test]
async fn bearer_webhook_auth_and_full_queue() {
    let mut cfg = WebhookConfig::new(WebhookAuth::Bearer(Secret::new("tok")));
    cfg.queue_capacity = 1;
    let (hook, mut events) = WebhookServer::start(cfg).await.unwrap();
    let sim = EceSimulator::start(EceSimConfig::default()).await.unwrap();
    sim.set_webhook(Some(SimWebhook {
        url: hook.url(),
        basic: None,
        bearer: Some("tok".into()),
        ca_pem: None,
    }));
    let ev = |id: &str| {
        format!(r#"{{"message":[{{"conversation":{{"id":"c"}},"type":{{"value":"startTyping"}},"id":"{id}"}}]}}"#)
            .into_bytes()
    };
    assert_eq!(
        sim.webhook_raw(ev("1"), "application/json", None)
            .await
            .unwrap(),
        204
    );
    // The application has not read the first event: the queue is full.
    assert_eq!(
        sim.webhook_raw(ev("2"), "application/json", None)
            .await
            .unwrap(),
        503
    );
    assert_eq!(next(&mut events).await.data.id.as_deref(), Some("1"));
    // The refused POST was not remembered: its retry is delivered.
    assert_eq!(
        sim.webhook_raw(ev("2"), "application/json", None)
            .await
            .unwrap(),
        204
    );
    assert_eq!(next(&mut events).await.data.id.as_deref(), Some("2"));
    assert_eq!(hook.stats().overloaded, 1);
    sim.stop().await;
    hook.stop().await;
    assert!(events.recv().await.is_none(), "stream ends after stop");
}

#[tokio::test]
async fn chat_web_services_answer_and_fall_back_on_the_other_segment() {
    let sim = EceSimulator::start(EceSimConfig {
        chat_paths: SimChatPaths::Entrypoint,
        ..EceSimConfig::default()
    })
    .await
    .unwrap();
    let ws = ChatWsClient::new(ChatWsConfig::new(sim.chat_base_url())).unwrap();
    assert!(ws.agent_availability(1001).await.unwrap());
    // The guide's /endpoint/ path gets 404 here; the other segment works and is kept.
    assert_eq!(ws.capacity(1001).await.unwrap(), 4);
    assert_eq!(ws.capacity(1001).await.unwrap(), 4);
    assert_eq!(sim.stats().requests[&SimEndpoint::Capacity], 2);
    let st = ws.live_session_status(1001).await.unwrap();
    assert_eq!((st.wait_time_secs, st.queue_depth), (3.0, 1));
    assert_eq!(
        ws.check_eligibility(1001).await.unwrap(),
        Eligibility::Eligible
    );
    assert!(ws.chat_allowed(1001).await.unwrap().allowed);
    let denied = ws.chat_allowed(99).await.unwrap();
    assert!(!denied.allowed);
    assert_eq!(denied.reason, Some(ChatDeniedReason::InvalidEntryPoint));

    sim.set_xml(
        SimEndpoint::CheckEligibility,
        Some("<checkEligibility responseType=2/>".into()),
    );
    assert_eq!(
        ws.check_eligibility(1001).await.unwrap(),
        Eligibility::QueueFull
    );
    sim.set_xml(
        SimEndpoint::AgentAvailability,
        Some(r#"<!DOCTYPE a [<!ENTITY x "y">]><agentAvailability available="&x;"/>"#.into()),
    );
    assert!(matches!(
        ws.agent_availability(1001).await,
        Err(EceError::BadResponse { .. })
    ));

    let survey = Survey {
        sid: "1000_d15c6659".into(),
        answers: vec![SurveyAnswer {
            question: "Helpful?".into(),
            answer: "Yes & fast".into(),
        }],
    };
    ws.submit_survey(&survey).await.unwrap();
    assert_eq!(sim.stats().surveys, vec![survey]);

    sim.fail_next(SimEndpoint::ChatAllowed, 500, 5);
    assert!(matches!(
        ws.chat_allowed(1001).await,
        Err(EceError::ServerError(_))
    ));
    sim.stop().await;
}

#[tokio::test]
async fn tls_is_verified_by_default() {
    // A plain-HTTP server reached over https: the TLS handshake fails, typed.
    let sim = EceSimulator::start(EceSimConfig::default()).await.unwrap();
    let url = sim.server_url().replace("http://", "https://");
    let c = EceClient::new(ClientConfig::new(url, "sim-key", "sim-secret", 1001)).unwrap();
    let err = c.configuration(false).await.unwrap_err();
    assert!(
        matches!(err, EceError::Connect { .. } | EceError::Transport { .. }),
        "{err:?}"
    );
    // Remote plain http is refused unless allowed explicitly.
    let err = EceClient::new(ClientConfig::new("http://ece.example.com", "k", "s", 1)).unwrap_err();
    assert!(matches!(err, EceError::Config(_)));
    sim.stop().await;
}

#[tokio::test]
async fn webhook_posts_need_a_json_content_type() {
    let mut r = rig().await;
    let ev = |id: &str| {
        format!(
            r#"{{"message":[{{"conversation":{{"id":"ct"}},"type":{{"value":"text/plain"}},"content":"x","id":"{id}"}}]}}"#
        )
        .into_bytes()
    };
    // A valid JSON body under a non-JSON type is refused, and nothing is delivered.
    for (i, ct) in [
        "text/plain",
        "application/xml",
        "application/x-www-form-urlencoded",
    ]
    .iter()
    .enumerate()
    {
        let status = r
            .sim
            .webhook_raw(ev(&format!("bad{i}")), ct, None)
            .await
            .unwrap();
        assert_eq!(status, 415, "{ct}");
    }
    // No Content-Type at all.
    cce::ece::http::ensure_crypto_provider();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let none = http
        .post(r.hook.url())
        .basic_auth("ece", Some("hook-pw"))
        .body(ev("none"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 415);
    assert!(r.events.try_recv().is_none());
    // JSON with parameters or in another case is accepted.
    for (i, ct) in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.ece+json",
    ]
    .iter()
    .enumerate()
    {
        let status = r
            .sim
            .webhook_raw(ev(&format!("ok{i}")), ct, None)
            .await
            .unwrap();
        assert_eq!(status, 204, "{ct}");
        assert_eq!(
            next(&mut r.events).await.data.id.as_deref(),
            Some(format!("ok{i}").as_str())
        );
    }
    assert_eq!(r.hook.stats().bad_bodies, 4);
    r.stop().await;
}

#[tokio::test]
async fn a_cut_emoji_is_repaired_in_its_event_and_the_batch_is_kept() {
    let mut r = rig().await;
    // What a Java server sends when it cuts "😀" (\ud83d\ude00) in half.
    let body = br#"{"message":[
        {"conversation":{"id":"s1"},"type":{"value":"text/plain"},"content":"before","id":"1","timeStamp":1},
        {"conversation":{"id":"s1"},"type":{"value":"text/plain"},"content":"cut \ud83d","id":"2","timeStamp":2},
        {"conversation":{"id":"s1"},"type":{"value":"text/plain"},"content":"after \ud83d\ude00","id":"3","timeStamp":3}]}"#;
    let status = r
        .sim
        .webhook_raw(body.to_vec(), "application/json", None)
        .await
        .unwrap();
    assert_eq!(status, 204);
    let one = next(&mut r.events).await;
    let two = next(&mut r.events).await;
    let three = next(&mut r.events).await;
    assert_eq!(one.data.content.as_deref(), Some("before"));
    assert!(one.data.warnings.is_empty());
    assert_eq!(two.data.content.as_deref(), Some("cut \u{FFFD}"));
    assert_eq!(two.data.warnings.len(), 1);
    assert!(two.to_json()["warnings"][0]
        .as_str()
        .is_some_and(|w| w.contains("U+FFFD")));
    assert_eq!(three.data.content.as_deref(), Some("after \u{1F600}"));
    assert!(three.to_json().get("warnings").is_none());
    r.stop().await;
}

#[tokio::test]
async fn end_conversation_without_the_endpoint_is_not_a_closed_conversation() {
    let mut r = rig_with(EceSimConfig::default(), |c| {
        c.end_conversation_path = "messaging/no/such/endpoint".into();
    })
    .await;
    let conv = r.client.start_conversation(&customer()).await.unwrap();
    assert_eq!(next(&mut r.events).await.data.kind, EventKind::Assigned);
    match r.client.end_conversation(&conv.id).await {
        Err(EceError::EndpointNotSupported(h)) => assert_eq!(h.status, 404),
        other => panic!("expected EndpointNotSupported, got {other:?}"),
    }
    // The conversation is still open: messages still go through.
    r.client
        .send_message(&conv.id, MessageType::Plain, "still here")
        .await
        .unwrap();
    r.stop().await;

    // With the endpoint, an unknown conversation is still NotFound (treat as ended).
    let r = rig().await;
    assert!(matches!(
        r.client.end_conversation("no-such-conversation").await,
        Err(EceError::NotFound(_))
    ));
    r.stop().await;
}
