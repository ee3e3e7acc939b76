//! Secrets never show in texts (issue 14, item 14): every error path reachable with
//! known CTI and ECE secrets, through the JSON facade the bindings use, and the Debug
//! forms of the configurations; every error text, Debug text and log line (captured at
//! TRACE level) is searched for the secrets.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use cce::api::{
    connection_config_from_json, ece_client_config_from_json, session_config_from_json,
    webhook_config_from_json, CtiSession, CtiSim, EceClient, EceSim, EceWebhook,
};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

const CTI_PW: &str = "cti-Pw-7319";
const ECE_SECRET: &str = "ece-Sec-4410";
const HOOK_PW: &str = "hook-Pw-2207";
const BEARER: &str = "bearer-Tok-8830";
/// Numeric secrets, given where a string is expected.
const NUMERIC: u64 = 73_190_004_410;

/// Collects every event and span field as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<String>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut s = self.0.lock().unwrap();
        span.record(&mut Fields(&mut s));
        s.push('\n');
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut s = self.0.lock().unwrap();
        values.record(&mut Fields(&mut s));
        s.push('\n');
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut s = self.0.lock().unwrap();
        event.record(&mut Fields(&mut s));
        s.push('\n');
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn assert_clean(what: &str, text: &str) {
    for secret in [CTI_PW, ECE_SECRET, HOOK_PW, BEARER, &NUMERIC.to_string()] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

#[test]
fn no_error_debug_or_log_text_shows_a_secret() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(capture.clone()).expect("first subscriber");
    let texts: std::cell::RefCell<Vec<(String, String)>> = Default::default();
    let err = |what: &str, r: Result<String, cce::api::Error>| {
        let e = r.expect_err(what);
        texts
            .borrow_mut()
            .push((what.to_owned(), format!("{e} | {e:?}")));
    };

    // --- CTI -------------------------------------------------------------------
    let sim = CtiSim::start("{}").unwrap();
    let addr = sim.address().to_string();
    let base = json!({"address": addr, "client_id": "t", "client_password": CTI_PW,
                      "open_timeout_ms": 3000, "close_timeout_ms": 200});
    let with = |extra: serde_json::Value| {
        let mut v = base.clone();
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        v.to_string()
    };
    err(
        "numeric client_password",
        session_config_from_json(&with(json!({"client_password": NUMERIC}))).map(|_| String::new()),
    );
    err(
        "unknown key next to the password",
        session_config_from_json(&with(json!({"no_such_key": 1}))).map(|_| String::new()),
    );
    err(
        "bad version next to the password",
        connection_config_from_json(&with(json!({"version": 99}))).map(|_| String::new()),
    );
    err(
        "OPEN_REQ refused",
        CtiSession::open(&with(json!({"agent_id": "9999"}))).map(|_| String::new()),
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    err(
        "nothing listening",
        CtiSession::open(&with(
            json!({"address": closed_addr, "connect_timeout_ms": 2000}),
        ))
        .map(|_| String::new()),
    );
    let (_, cfg) = session_config_from_json(&base.to_string()).unwrap();
    texts
        .borrow_mut()
        .push(("SessionConfig Debug".into(), format!("{cfg:?}")));
    let (conn_cfg, _) = connection_config_from_json(&base.to_string()).unwrap();
    texts
        .borrow_mut()
        .push(("ConnectionConfig Debug".into(), format!("{conn_cfg:?}")));
    let session = CtiSession::open(&with(json!({"agent_id": "1001"}))).unwrap();
    texts
        .borrow_mut()
        .push(("OPEN_CONF".into(), session.open_conf_json()));
    session.close().unwrap();
    drop(sim);

    // --- ECE -------------------------------------------------------------------
    let ece = EceSim::start("{}").unwrap();
    let client_json = |secret: serde_json::Value| {
        json!({"server_url": ece.server_url(), "client_key": "sim-key",
               "client_secret": secret, "entry_point_id": 1001, "max_retries": 0})
        .to_string()
    };
    err(
        "numeric client_secret",
        ece_client_config_from_json(&client_json(json!(NUMERIC))).map(|_| String::new()),
    );
    let wrong = EceClient::new(&client_json(json!(ECE_SECRET))).unwrap();
    err(
        "login with a wrong secret",
        wrong.login().map(|()| String::new()),
    );
    err(
        "start with a wrong secret",
        wrong.start_conversation_json("{}"),
    );
    texts.borrow_mut().push((
        "ClientConfig Debug".into(),
        format!(
            "{:?}",
            ece_client_config_from_json(&client_json(json!(ECE_SECRET))).unwrap()
        ),
    ));
    for auth in [
        json!({"basic": {"username": "ece", "password": NUMERIC}}),
        json!({"bearer": NUMERIC}),
        json!({"basic": {"username": "ece", "password": HOOK_PW}, "x": 1}),
    ] {
        err(
            "webhook auth",
            webhook_config_from_json(&json!({"auth": auth}).to_string()).map(|_| String::new()),
        );
    }
    for auth in [
        json!({"basic": {"username": "ece", "password": HOOK_PW}}),
        json!({"bearer": BEARER}),
    ] {
        let cfg = webhook_config_from_json(&json!({"auth": auth}).to_string()).unwrap();
        texts
            .borrow_mut()
            .push(("WebhookConfig Debug".into(), format!("{cfg:?}")));
        let hook = EceWebhook::start(&json!({"auth": auth}).to_string()).unwrap();
        // ECE calling with the wrong credentials, then with the right ones.
        ece.control(
            &json!({"op": "set_webhook", "url": hook.url(),
                    "basic": {"username": "ece", "password": "wrong"}})
            .to_string(),
        )
        .unwrap();
        let r = ece
            .control(&json!({"op": "webhook_raw", "body": "{}"}).to_string())
            .unwrap();
        texts.borrow_mut().push(("webhook 401".into(), r));
        texts
            .borrow_mut()
            .push(("webhook stats".into(), hook.stats_json().unwrap()));
        hook.stop().unwrap();
    }
    ece.stop().unwrap();

    let texts = texts.into_inner();
    assert!(texts.len() >= 15, "{} texts", texts.len());
    for (what, text) in &texts {
        assert_clean(what, text);
    }
    let logs = capture.0.lock().unwrap().clone();
    assert!(!logs.is_empty(), "nothing was logged");
    assert_clean("the log", &logs);
}
