//! Session configuration keys of the JSON facade every binding uses (issue 14: default
//! heartbeats and their opt-out, the tolerant/strict reading, and a secret that is
//! never echoed in a configuration error).

use std::time::Duration;

use cce::api::{connection_config_from_json, session_config_from_json};

#[test]
fn heartbeats_default_to_90_s_and_heartbeat_ms_0_turns_them_off() {
    let (_, cfg) =
        session_config_from_json(r#"{"address":"127.0.0.1:1","client_id":"x"}"#).expect("config");
    assert_eq!(cfg.heartbeat_interval, Some(Duration::from_secs(90)));
    assert_eq!(cfg.idle_timeout_secs(), 360);
    let (_, off) =
        session_config_from_json(r#"{"address":"127.0.0.1:1","client_id":"x","heartbeat_ms":0}"#)
            .expect("config");
    assert_eq!(off.heartbeat_interval, None);
    assert_eq!(off.idle_timeout_secs(), 0xFFFF_FFFF);
    let (_, ten) = session_config_from_json(
        r#"{"address":"127.0.0.1:1","client_id":"x","heartbeat_ms":10000}"#,
    )
    .expect("config");
    assert_eq!(ten.idle_timeout_secs(), 40);
}

#[test]
fn sessions_read_tolerantly_unless_strict_decode() {
    let (_, cfg) =
        session_config_from_json(r#"{"address":"127.0.0.1:1","client_id":"x"}"#).expect("config");
    assert!(!cfg.strict_decode);
    let (conn, _) = connection_config_from_json(
        r#"{"address":"127.0.0.1:1","client_id":"x","strict_decode":true}"#,
    )
    .expect("config");
    assert!(conn.session.strict_decode);
}

#[test]
fn a_numeric_client_password_is_refused_without_its_value() {
    let e = session_config_from_json(
        r#"{"address":"127.0.0.1:1","client_id":"x","client_password":8675309}"#,
    )
    .expect_err("a number is not a password string")
    .to_string();
    assert!(!e.contains("8675309"), "{e}");
    assert!(e.contains("client_password must be a string"), "{e}");
    let (_, cfg) = session_config_from_json(
        r#"{"address":"127.0.0.1:1","client_id":"x","client_password":"s3cr3t-pw"}"#,
    )
    .expect("config");
    assert_eq!(cfg.client_password.expose(), "s3cr3t-pw");
    assert!(!format!("{cfg:?}").contains("s3cr3t-pw"));
}
