//! Configuration JSON as every language may write it: camelCase keys (`clientId`) are
//! read as their snake_case form (`client_id`), so C, Python, Node and Rust accept the
//! same configurations. A key given in both spellings is refused.

use serde_json::{Map, Value as Json};

use super::Error;

/// `clientId` -> `client_id`: each upper-case ASCII letter becomes `_` and its
/// lower-case form (snake_case keys are kept as they are).
pub(crate) fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `obj` with snake_case keys; `what` names it in errors.
pub(crate) fn snake_keys(obj: Map<String, Json>, what: &str) -> Result<Map<String, Json>, Error> {
    let mut out = Map::with_capacity(obj.len());
    for (key, value) in obj {
        let k = snake_case(&key);
        if out.contains_key(&k) {
            return Err(Error::invalid(format!(
                "{what}: {key} given twice (as {k} and in camelCase)"
            )));
        }
        out.insert(k, value);
    }
    Ok(out)
}

/// `v` with snake_case keys when it is an object (other values unchanged).
pub(crate) fn snake_value(v: Json, what: &str) -> Result<Json, Error> {
    match v {
        Json::Object(o) => Ok(Json::Object(snake_keys(o, what)?)),
        other => Ok(other),
    }
}

/// Parses a configuration object: its keys, and those of the objects (or arrays of
/// objects) under the `nested` keys, in snake_case.
pub(crate) fn parse(text: &str, what: &str, nested: &[&str]) -> Result<Json, Error> {
    let v: Json = serde_json::from_str(text).map_err(|e| Error::invalid(format!("{what}: {e}")))?;
    let Json::Object(obj) = v else {
        return Ok(v);
    };
    let mut obj = snake_keys(obj, what)?;
    for key in nested {
        let Some(inner) = obj.remove(*key) else {
            continue;
        };
        let inner = match inner {
            Json::Array(items) => Json::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| snake_value(item, &format!("{what} {key}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            other => snake_value(other, &format!("{what} {key}"))?,
        };
        obj.insert((*key).to_owned(), inner);
    }
    Ok(Json::Object(obj))
}

/// [`parse`], then back to text for the parsers that read text (an empty `text` stays
/// empty: the defaults).
pub(crate) fn normalized_text(text: &str, what: &str, nested: &[&str]) -> Result<String, Error> {
    if text.trim().is_empty() {
        return Ok(String::new());
    }
    Ok(parse(text, what, nested)?.to_string())
}

/// A call's `named_variables` given as an object (`{"user.crm.id": "C-7"}`) becomes
/// the list of pairs the simulator reads (`[["user.crm.id", "C-7"]]`).
pub(crate) fn named_variable_pairs(mut v: Json) -> Json {
    if let Some(Json::Object(vars)) = v.get_mut("named_variables") {
        let pairs = std::mem::take(vars)
            .into_iter()
            .map(|(k, val)| Json::Array(vec![Json::String(k), val]))
            .collect();
        v["named_variables"] = Json::Array(pairs);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ErrorKind;

    #[test]
    fn camel_keys_become_snake_case() {
        assert_eq!(snake_case("clientId"), "client_id");
        assert_eq!(snake_case("heartbeatMs"), "heartbeat_ms");
        assert_eq!(snake_case("client_id"), "client_id");
        let v = parse(
            r#"{"clientId":"a","agents":[{"agentId":"1"}],"tls":{"caPem":"x"}}"#,
            "cfg",
            &["agents"],
        )
        .expect("parsed");
        assert_eq!(v["client_id"], "a");
        assert_eq!(v["agents"][0]["agent_id"], "1");
        // Objects not listed keep their keys.
        assert_eq!(v["tls"]["caPem"], "x");
    }

    #[test]
    fn a_key_in_both_spellings_is_refused() {
        let e = parse(r#"{"client_id":"a","clientId":"b"}"#, "cfg", &[]).expect_err("twice");
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        assert!(e.message.contains("clientId given twice"), "{}", e.message);
        let e = parse(
            r#"{"agents":[{"agentId":"1","agent_id":"2"}]}"#,
            "cfg",
            &["agents"],
        )
        .expect_err("twice nested");
        assert!(e.message.contains("agents[0]"), "{}", e.message);
    }

    #[test]
    fn session_config_in_camel_case_with_mask_lists() {
        let (addr, cfg) = crate::api::session_config_from_json(
            r#"{"address":"127.0.0.1:1","clientId":"c","peripheralId":5000,"heartbeatMs":0,
                "services":["CTI_SERVICE_CLIENT_EVENTS", 4],
                "agentStateMask":["AGENT_LOGIN_MASK","AGENT_AVAILABLE_MASK"]}"#,
        )
        .expect("camelCase config");
        assert_eq!(addr, "127.0.0.1:1");
        assert_eq!(cfg.client_id, "c");
        assert_eq!(cfg.peripheral_id, 5000);
        assert_eq!(cfg.heartbeat_interval, None);
        assert_eq!(cfg.services, 1 | 4);
        assert_eq!(cfg.agent_state_mask, 1 | 8);
        let e = crate::api::session_config_from_json(
            r#"{"address":"a:1","client_id":"c","clientId":"d"}"#,
        )
        .expect_err("twice");
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        let e = crate::api::session_config_from_json(
            r#"{"address":"a:1","clientId":"c","agentStateMask":["NO_SUCH_MASK"]}"#,
        )
        .expect_err("unknown name in a list");
        assert!(e.message.contains("NO_SUCH_MASK"), "{}", e.message);
        // Unknown keys are still refused, whatever the spelling.
        assert!(crate::api::session_config_from_json(
            r#"{"address":"a:1","clientId":"c","noSuchKey":1}"#
        )
        .is_err());
    }

    #[test]
    fn gc_and_ece_configs_in_camel_case() {
        let cfg = crate::api::gc_config_from_json(
            r#"{"brokers":["127.0.0.1:61613"],"destination":"d","requestQueue":"Connector7"}"#,
        )
        .expect("GC camelCase");
        assert_eq!(cfg.request_queue, "Connector7");
        let e = crate::api::gc_config_from_json(
            r#"{"brokers":"h:1","request_queue":"a","requestQueue":"b"}"#,
        )
        .expect_err("twice");
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
        let c = crate::api::ece_client_config_from_json(
            r#"{"serverUrl":"http://127.0.0.1:1","clientKey":"k","clientSecret":"s",
                "entryPointId":1001,"maxRetries":0}"#,
        )
        .expect("ECE camelCase");
        assert_eq!(c.entry_point_id, 1001);
        crate::api::webhook_config_from_json(r#"{"auth":{"none":true},"maxBodyBytes":4096}"#)
            .expect("webhook camelCase");
    }

    #[test]
    fn named_variables_object_becomes_pairs() {
        let v = named_variable_pairs(serde_json::json!({"named_variables": {"user.a": "1"}}));
        assert_eq!(v["named_variables"], serde_json::json!([["user.a", "1"]]));
        let v = named_variable_pairs(serde_json::json!({"named_variables": [["user.a", "1"]]}));
        assert_eq!(v["named_variables"], serde_json::json!([["user.a", "1"]]));
    }
}
