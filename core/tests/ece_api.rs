//! The blocking JSON facade of ECE (what the C, Python and Node bindings call).

use std::time::Duration;

use cce::api::{EceChatWs, EceClient, EceSim, EceWebhook, ErrorKind};
use serde_json::{json, Value};

fn next(hook: &EceWebhook) -> Value {
    let s = hook
        .next_event(Some(Duration::from_secs(5)))
        .unwrap()
        .expect("no event in time");
    serde_json::from_str(&s).unwrap()
}

#[test]
fn blocking_chat_through_json() {
    let hook =
        EceWebhook::start(r#"{"auth":{"basic":{"username":"ece","password":"pw"}}}"#).unwrap();
    let sim = EceSim::start("{}").unwrap();
    sim.control(
        &json!({"op":"set_webhook","url":hook.url(),"basic":{"username":"ece","password":"pw"}})
            .to_string(),
    )
    .unwrap();
    let client = EceClient::new(
        &json!({"server_url": sim.server_url(), "client_key":"sim-key",
                "client_secret":"sim-secret", "entry_point_id":1001})
        .to_string(),
    )
    .unwrap();
    let conv: Value = serde_json::from_str(
        &client
            .start_conversation_json(r#"{"customer":{"email":"a@b.c","first_name":"A"}}"#)
            .unwrap(),
    )
    .unwrap();
    let id = conv["id"].as_str().unwrap();
    let e = next(&hook);
    assert_eq!(e["type"], "assigned");
    assert_eq!(e["conversation_id"], id);
    assert_eq!(e["agent"]["screen_name"], "agent1");
    client.send_message(id, "bye", "").unwrap();
    let types: Vec<String> = (0..4)
        .map(|_| next(&hook)["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["startTyping", "endTyping", "message", "complete"]);

    // Errors carry the kind, HTTP status and ECE name.
    let e = client.send_message(id, "late", "text/plain").unwrap_err();
    assert_eq!(
        (e.kind, e.status, e.status_name.as_deref()),
        (ErrorKind::Closed, Some(404), Some("NotFound"))
    );
    sim.control(r#"{"op":"fail_next","endpoint":"start","status":409,"count":2}"#)
        .unwrap();
    let e = client.start_conversation_json("{}").unwrap_err();
    assert_eq!((e.kind, e.status), (ErrorKind::Refused, Some(409)));
    assert_eq!(e.status_name.as_deref(), Some("StaleConfiguration"));
    assert_eq!(
        client.send_message(id, "x", "image/png").unwrap_err().kind,
        ErrorKind::InvalidArgument
    );

    let raw: Value = serde_json::from_str(
        &sim.control(r#"{"op":"webhook_raw","body":"{\"message\":","authorization":null}"#)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(raw["status"], 401);
    let stats: Value = serde_json::from_str(&hook.stats_json().unwrap()).unwrap();
    assert_eq!(stats["unauthorized"], 1);
    assert_eq!(stats["events"], 5);

    let ws = EceChatWs::new(&json!({"base_url": sim.chat_base_url()}).to_string()).unwrap();
    assert!(ws.agent_availability(1001).unwrap());
    assert_eq!(ws.capacity(1001).unwrap(), 4);
    assert_eq!(ws.live_session_status(1001).unwrap(), (3.0, 1));
    sim.control(
        r#"{"op":"set_chat","eligibility":1,"allowed":false,"reason":"agent_not_available"}"#,
    )
    .unwrap();
    assert_eq!(
        ws.check_eligibility(1001).unwrap(),
        (1, "no_agent_available")
    );
    assert_eq!(
        ws.chat_allowed(1001).unwrap(),
        (false, Some("agent_not_available".into()))
    );
    ws.submit_survey_json(r#"{"sid":"1_x","answers":[{"question":"q","answer":"a"}]}"#)
        .unwrap();
    let st: Value = serde_json::from_str(&sim.control(r#"{"op":"stats"}"#).unwrap()).unwrap();
    assert_eq!(st["surveys"][0]["sid"], "1_x");

    hook.stop().unwrap();
    assert_eq!(hook.stop().unwrap_err().kind, ErrorKind::Closed);
    assert_eq!(hook.next_event(None).unwrap_err().kind, ErrorKind::Closed);
    sim.stop().unwrap();
    assert_eq!(
        sim.control(r#"{"op":"stats"}"#).unwrap_err().kind,
        ErrorKind::Closed
    );
}

#[test]
fn configurations_are_checked() {
    let bad = |s: &str| EceClient::new(s).unwrap_err().kind;
    assert_eq!(bad("{"), ErrorKind::InvalidArgument);
    assert_eq!(
        bad(r#"{"server_url":"https://x","client_key":"k","client_secret":"s"}"#),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        bad(
            r#"{"server_url":"https://x","client_key":"k","client_secret":"s","entry_point_id":1,"typo":1}"#
        ),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        bad(
            r#"{"server_url":"http://remote.example","client_key":"k","client_secret":"s","entry_point_id":1}"#
        ),
        ErrorKind::InvalidArgument
    );
    assert!(EceClient::new(
        r#"{"server_url":"http://remote.example","client_key":"k","client_secret":"s","entry_point_id":1,
            "allow_http":true,"verify_tls":false,"request_timeout_ms":500,"max_retries":0,
            "rate_limit_per_sec":5,"rate_limit_burst":2,"force_login":false,"accept_language":null}"#
    )
    .is_ok());
    // The webhook needs explicit credentials (or an explicit "none").
    assert_eq!(
        EceWebhook::start("{}").unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        EceWebhook::start(r#"{"auth":{"bearer":""}}"#)
            .unwrap_err()
            .kind,
        ErrorKind::InvalidArgument
    );
    let open = EceWebhook::start(r#"{"auth":{"none":true},"path":"/ece"}"#).unwrap();
    assert!(open.url().ends_with("/ece"));
    assert_eq!(
        open.next_event(Some(Duration::from_millis(1))).unwrap(),
        None
    );
    open.stop().unwrap();
    assert_eq!(
        EceSim::start(r#"{"nope":1}"#).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        EceChatWs::new(r#"{"base_url":"ftp://x"}"#)
            .unwrap_err()
            .kind,
        ErrorKind::InvalidArgument
    );
}
