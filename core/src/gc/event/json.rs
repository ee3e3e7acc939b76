//! The JSON events (data sheet §5).

use super::text::lower_camel;
use super::*;

/// A scalar as a string: strings as they are, numbers and booleans printed, null/absent `None`.
fn js(o: &Map<String, Json>, key: &str) -> Option<String> {
    match o.get(key)? {
        Json::String(s) => Some(s.clone()),
        Json::Null => None,
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        other => Some(other.to_string()),
    }
}

fn scalar(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn obj_record(v: &Json, camel: bool) -> Record {
    let mut r = Record::default();
    if let Json::Object(o) = v {
        for (k, v) in o {
            let k = if camel { lower_camel(k) } else { k.clone() };
            r.push(k, scalar(v));
        }
    }
    r
}

fn records(o: &Map<String, Json>, key: &str) -> Vec<Record> {
    match o.get(key) {
        Some(Json::Array(a)) => a.iter().map(|v| obj_record(v, false)).collect(),
        _ => Vec::new(),
    }
}

/// `callVariables`: an array of single-key objects, or an object.
fn json_vars(o: &Map<String, Json>) -> Record {
    let mut r = Record::default();
    match o.get("callVariables") {
        Some(Json::Array(a)) => {
            for item in a {
                if let Json::Object(m) = item {
                    for (k, v) in m {
                        r.push(k.clone(), scalar(v));
                    }
                }
            }
        }
        Some(Json::Object(m)) => {
            for (k, v) in m {
                r.push(k.clone(), scalar(v));
            }
        }
        _ => {}
    }
    r
}

fn json_participants(o: &Map<String, Json>) -> Vec<Participant> {
    match o.get("participants") {
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|p| p.as_object())
            .map(|p| Participant {
                media_address: js(p, "mediaAddress").unwrap_or_default(),
                state: js(p, "state").map(|s| CallState::from(s.as_str())),
                address_type: js(p, "addressType").unwrap_or_default(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn json_team(v: &Json) -> Option<Team> {
    let o = v.as_object()?;
    Some(Team {
        id: js(o, "id").unwrap_or_default(),
        name: js(o, "name").unwrap_or_default(),
    })
}

fn json_call(o: &Map<String, Json>, id_key: &str) -> Call {
    let call_variables = json_vars(o);
    Call {
        dialog_id: js(o, id_key),
        state: js(o, "state").map(|s| CallState::from(s.as_str())),
        from_address: js(o, "fromAddress"),
        to_address: js(o, "toAddress"),
        ani: call_variables.get("ani").map(str::to_owned),
        start_time: js(o, "startTime"),
        prev_dialog_id: js(o, "prevDialogId"),
        failure_cause: None,
        full_name: None,
        call_type: js(o, "calltype").or_else(|| js(o, "callType")),
        participants: json_participants(o),
        call_variables,
    }
}

/// Keys of `o` not in `known`, as `key=value` strings.
fn json_extra(o: &Map<String, Json>, known: &[&str]) -> Vec<String> {
    o.iter()
        .filter(|(k, _)| k.as_str() != "type" && !known.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={}", scalar(v)))
        .collect()
}

const CALL_KEYS: &[&str] = &[
    "dialogId",
    "assDialogId",
    "state",
    "fromAddress",
    "toAddress",
    "startTime",
    "prevDialogId",
    "callVariables",
    "participants",
    "agentId",
    "calltype",
    "callType",
];

pub(super) fn json_event(o: Map<String, Json>) -> EventKind {
    let type_name = js(&o, "type");
    let agent = || js(&o, "agentId").unwrap_or_default();
    match type_name.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("System") => EventKind::System {
            status: SystemStatus::from(js(&o, "status").unwrap_or_default().as_str()),
            extra: json_extra(&o, &["status"]),
        },
        Some("State") => EventKind::State {
            agent_id: agent(),
            state: AgentState::from(js(&o, "state").unwrap_or_default().as_str()),
            reason_code: js(&o, "reasonCode").filter(|s| !s.is_empty()),
            full_name: None,
            pending_state: js(&o, "pendingState").filter(|s| !s.is_empty()),
            state_change_time: js(&o, "stateChangeTime").filter(|s| !s.is_empty()),
            extra: json_extra(
                &o,
                &[
                    "agentId",
                    "state",
                    "reasonCode",
                    "pendingState",
                    "stateChangeTime",
                    "stateChangeTimeString",
                ],
            ),
        },
        Some("AgentInfo") => EventKind::AgentInfo {
            agent_id: agent(),
            first_name: js(&o, "firstName").unwrap_or_default(),
            last_name: js(&o, "lastName").unwrap_or_default(),
            supervisor: match o.get("supervisor") {
                Some(Json::Bool(b)) => Some(*b),
                Some(Json::String(s)) => s.parse().ok(),
                _ => None,
            },
            wrap_up_mode: js(&o, "wrapUpOnIncoming")
                .filter(|s| !s.is_empty())
                .map(|s| WrapUpMode::from(s.as_str())),
            full_name: None,
            team: o.get("team").and_then(json_team),
            teams: match o.get("teams") {
                Some(Json::Array(a)) => a.iter().filter_map(json_team).collect(),
                _ => Vec::new(),
            },
            extra: json_extra(
                &o,
                &[
                    "agentId",
                    "firstName",
                    "lastName",
                    "supervisor",
                    "wrapUpOnIncoming",
                    "team",
                    "teams",
                ],
            ),
        },
        Some("InboundCall") => EventKind::InboundCall {
            agent_id: agent(),
            call: json_call(&o, "dialogId"),
            extra: json_extra(&o, CALL_KEYS),
        },
        Some("NewInboundCall") => EventKind::NewInboundCall {
            agent_id: agent(),
            call: json_call(&o, "dialogId"),
            extra: json_extra(&o, CALL_KEYS),
        },
        Some(t @ ("NewOutboundCall" | "NewOutboundPreviewCall")) => EventKind::NewOutboundCall {
            agent_id: agent(),
            preview: t == "NewOutboundPreviewCall",
            call: json_call(&o, "dialogId"),
            extra: json_extra(&o, CALL_KEYS),
        },
        Some("ConsultCall") => EventKind::ConsultCall {
            agent_id: agent(),
            call: json_call(&o, "assDialogId"),
            extra: json_extra(&o, CALL_KEYS),
        },
        Some("ReasonCodes") => EventKind::ReasonCodes {
            agent_id: agent(),
            category: js(&o, "category").unwrap_or_default(),
            codes: match o.get("reasonCodes") {
                Some(Json::Array(a)) => a
                    .iter()
                    .filter_map(|c| c.as_object())
                    .flat_map(|m| {
                        m.iter().map(|(k, v)| ReasonCode {
                            code: k.clone(),
                            label: scalar(v),
                        })
                    })
                    .collect(),
                _ => Vec::new(),
            },
            full_name: None,
            extra: json_extra(&o, &["agentId", "category", "reasonCodes"]),
        },
        Some("DialogState") => EventKind::DialogState {
            agent_id: agent(),
            dialog_type: None,
            full_name: None,
            dialogs: DialogPair {
                dialog_id: js(&o, "dialogId"),
                state: js(&o, "state").map(|s| CallState::from(s.as_str())),
                ..DialogPair::default()
            },
            extra: json_extra(&o, &["agentId", "dialogId", "state"]),
        },
        Some("Agents") => EventKind::Agents {
            agent_id: js(&o, "agentId"),
            users: match o.get("users") {
                Some(Json::Array(a)) => a.iter().map(|v| obj_record(v, true)).collect(),
                _ => Vec::new(),
            },
        },
        Some(t @ ("Phonebooks" | "TeamPhonebooks" | "TeamPhoneBooks")) => EventKind::Phonebooks {
            team: t != "Phonebooks",
            phonebooks: records(&o, "phonebooks"),
        },
        Some("PhonebookContacts") => EventKind::PhonebookContacts {
            phonebook_id: js(&o, "phonebookId"),
            contacts: records(&o, "contacts"),
        },
        _ => EventKind::UnknownJson {
            type_name,
            value: Json::Object(o),
        },
    }
}
