//! The `#`-delimited text formats O-001 … O-031 (old and new layouts).

use super::*;

const AGENT_EVENTS: &[&str] = &[
    "State",
    "Error",
    "Control",
    "InboundCall",
    "NewInboundCall",
    "NewOutboundCall",
    "NewOutboundPreviewCall",
    "ConsultCall",
    "AgentInfo",
    "TeamInfoIDs",
    "TeamInfoNames",
    "DialogState",
    "ReasonCodes",
    "QueueList",
    "TeamUsersList",
    "TeamMemberStateChanged",
    "ConferenceParticipants",
    "RECONNECT",
    "DialogStatus",
];

fn opt(fields: &[String], i: usize) -> Option<String> {
    fields
        .get(i)
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn rest(fields: &[String], from: usize) -> Vec<String> {
    fields
        .get(from..)
        .map(<[String]>::to_vec)
        .unwrap_or_default()
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

/// `k=v|k=v` call variables (a trailing `>` from the doc's format is stripped).
fn call_vars_pipe(s: &str) -> Record {
    let s = s.trim().trim_end_matches('>');
    let mut r = Record::default();
    for (i, item) in s.split('|').enumerate() {
        if item.is_empty() {
            continue;
        }
        match item.split_once('=') {
            Some((k, v)) => r.push(k.trim(), v),
            None => r.push(format!("callVariable{}", i + 1), item),
        }
    }
    r
}

/// O-009/O-028 field 3: new `<ani>|k=v|…` or `ani=<ani>|…`; old `<ani>,<cv1>,<cv2>…`.
fn ani_and_vars(s: &str) -> (Option<String>, Record) {
    let s = s.trim().trim_end_matches('>');
    let mut vars = Record::default();
    if !s.contains('|') && !s.contains('=') && s.contains(',') {
        let mut items = s.split(',');
        let ani = items.next().map(str::to_owned).filter(|a| !a.is_empty());
        for (i, v) in items.enumerate() {
            vars.push(format!("callVariable{}", i + 1), v);
        }
        return (ani, vars);
    }
    let mut items = s.split('|');
    let first = items.next().unwrap_or_default();
    let ani = match first.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("ani") => Some(v.to_owned()),
        Some((k, v)) => {
            vars.push(k.trim(), v);
            None
        }
        None => Some(first.to_owned()).filter(|a| !a.is_empty()),
    };
    for item in items.filter(|i| !i.is_empty()) {
        match item.split_once('=') {
            Some((k, v)) => vars.push(k.trim(), v),
            None => vars.push(format!("callVariable{}", vars.0.len() + 1), item),
        }
    }
    (ani, vars)
}

/// `Prefix:<value>` → value (prefix compared case-insensitively), else `None`.
fn prefixed(s: &str, prefix: &str) -> Option<String> {
    let s = s.trim();
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s[prefix.len()..].trim().to_owned())
}

/// `k:v,k:v` (split on the first `:`), with lowerCamelCase keys when `camel`.
fn colon_record(s: &str, camel: bool) -> Record {
    let mut r = Record::default();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (k, v) = item.split_once(':').unwrap_or((item, ""));
        let k = k.trim();
        let k = if camel { lower_camel(k) } else { k.to_owned() };
        r.push(k, v.trim());
    }
    r
}

/// `k=v,k=v` record.
fn eq_record(s: &str) -> Record {
    let mut r = Record::default();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        r.push(k.trim(), v.trim());
    }
    r
}

pub(super) fn lower_camel(k: &str) -> String {
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn malformed(event: &'static str, reason: &'static str, text: &str) -> EventError {
    EventError::Malformed {
        event,
        reason,
        text: truncate(text),
    }
}

pub(super) fn text_event(text: &str, jms_type: Option<&str>) -> Result<EventKind, EventError> {
    // Optional surrounding brackets (phonebook samples, A11).
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    let f: Vec<String> = inner.split('#').map(str::to_owned).collect();
    let f0 = f[0].trim();
    let f1 = f.get(1).map(|s| s.trim()).unwrap_or_default();
    if f.len() >= 2 && AGENT_EVENTS.contains(&f1) {
        return agent_event(f0.to_owned(), f1, &f, text, jms_type);
    }
    if f.len() == 2 && f1 == "LOGOUT" {
        // O-006: legacy logout.
        return Ok(EventKind::State {
            agent_id: f0.to_owned(),
            state: AgentState::Logout,
            reason_code: None,
            full_name: None,
            pending_state: None,
            state_change_time: None,
            extra: Vec::new(),
        });
    }
    if f0.eq_ignore_ascii_case("System") && f.len() >= 2 {
        return Ok(EventKind::System {
            status: SystemStatus::from(f1),
            extra: rest(&f, 2),
        });
    }
    if f0.eq_ignore_ascii_case("DESTINATION") && f.len() >= 3 {
        return Ok(EventKind::Destination {
            destination: f1.to_owned(),
            action: f[2].trim().to_owned(),
            extra: rest(&f, 3),
        });
    }
    if f0.eq_ignore_ascii_case("Phonebooks") || f0.eq_ignore_ascii_case("TeamPhoneBooks") {
        return Ok(EventKind::Phonebooks {
            team: f0.eq_ignore_ascii_case("TeamPhoneBooks"),
            phonebooks: phonebook_records(&f[1..]),
        });
    }
    if f0.eq_ignore_ascii_case("PhonebookContacts") {
        return Ok(contact_records(&f[1..]));
    }
    if f0 == "AgentState" && f.len() >= 3 {
        return Ok(EventKind::ConnectorSync {
            agent_id: f1.to_owned(),
        });
    }
    if f.len() >= 5 && f[2].trim() == "DialogState" {
        // O-015: <agent>#<dialog_type>#DialogState#<state>#<dialog_id>#<full name>
        return Ok(EventKind::DialogState {
            agent_id: f0.to_owned(),
            dialog_type: Some(f1.to_owned()),
            full_name: opt(&f, 5),
            dialogs: DialogPair {
                dialog_id: opt(&f, 4),
                state: opt(&f, 3).map(|s| CallState::from(s.as_str())),
                ..DialogPair::default()
            },
            extra: rest(&f, 6),
        });
    }
    Ok(EventKind::Unknown { fields: f })
}

fn phonebook_records(f: &[String]) -> Vec<Record> {
    let joined = f.join("#");
    if !joined.contains(':') && joined.contains('=') {
        // Sample layout: <Book1>=<id1>|<Book2>=<id2>
        return joined
            .split(['|', '#'])
            .filter(|i| !i.trim().is_empty())
            .map(|i| {
                let (name, id) = i.split_once('=').unwrap_or((i, ""));
                Record(vec![
                    ("name".into(), name.trim().to_owned()),
                    ("id".into(), id.trim().to_owned()),
                ])
            })
            .collect();
    }
    f.iter()
        .filter(|r| !r.trim().is_empty())
        .map(|r| colon_record(r, false))
        .collect()
}

fn contact_records(f: &[String]) -> EventKind {
    let first = f.first().map(|s| s.trim()).unwrap_or_default();
    if !first.is_empty() && !first.contains(':') && !first.contains('=') {
        // Sample layout: PhonebookContacts#<id>#name=..,phoneNumber=..,contactId=..|name=..
        let contacts = f[1..]
            .join("#")
            .split(['|', '#'])
            .filter(|i| !i.trim().is_empty())
            .map(eq_record)
            .collect();
        return EventKind::PhonebookContacts {
            phonebook_id: Some(first.to_owned()),
            contacts,
        };
    }
    EventKind::PhonebookContacts {
        phonebook_id: None,
        contacts: f
            .iter()
            .filter(|r| !r.trim().is_empty())
            .map(|r| colon_record(r, false))
            .collect(),
    }
}

/// `DialogID:<id>` / `AssDialogID:<id>` at `f[3]`, then the rest of the call fields.
fn call_fields(f: &[String], id_prefix: &str) -> (Call, Vec<String>) {
    let mut call = Call {
        state: opt(f, 2).map(|s| CallState::from(s.as_str())),
        ..Call::default()
    };
    let mut i = 3;
    if let Some(id) = f.get(3).and_then(|s| prefixed(s, id_prefix)) {
        call.dialog_id = Some(id);
        i = 4;
    }
    let tail = rest(f, i);
    let failed = matches!(call.state, Some(CallState::Failed));
    if failed {
        call.failure_cause = opt(&tail, 0);
        call.full_name = opt(&tail, 1);
        return (call, rest(&tail, 2));
    }
    if tail.len() == 1 {
        call.full_name = opt(&tail, 0);
        return (call, Vec::new());
    }
    call.from_address = opt(&tail, 0);
    if let Some(v) = tail.get(1) {
        call.call_variables = call_vars_pipe(v);
        call.ani = call.call_variables.get("ani").map(str::to_owned);
    }
    call.start_time = opt(&tail, 2);
    call.full_name = opt(&tail, 3);
    (call, rest(&tail, 4))
}

fn agent_event(
    agent_id: String,
    name: &str,
    f: &[String],
    text: &str,
    jms_type: Option<&str>,
) -> Result<EventKind, EventError> {
    let need = |n: usize, event: &'static str| {
        if f.len() < n {
            Err(malformed(event, "too few fields", text))
        } else {
            Ok(())
        }
    };
    Ok(match name {
        "State" => {
            need(3, "State")?;
            let state = AgentState::from(f[2].trim());
            // old: id#State#st#name — new: id#State#st#reason#name[#extra…]
            let (reason_code, full_name, extra) = if f.len() == 4 {
                (None, opt(f, 3), Vec::new())
            } else {
                (opt(f, 3), opt(f, 4), rest(f, 5))
            };
            EventKind::State {
                agent_id,
                state,
                reason_code,
                full_name,
                pending_state: None,
                state_change_time: None,
                extra,
            }
        }
        "Error" => {
            need(3, "Error")?;
            let is_code = |s: &str| {
                let s = s.trim();
                !s.is_empty()
                    && s.starts_with(|c: char| c.is_ascii_uppercase())
                    && s.chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            };
            let tail = rest(f, 2);
            match tail.iter().position(|s| is_code(s)) {
                Some(i) => {
                    let mut detail = tail.clone();
                    let code = detail.remove(i);
                    EventKind::Error {
                        agent_id,
                        code: ErrorCode::from(code.trim()),
                        detail,
                    }
                }
                None => EventKind::Error {
                    agent_id,
                    code: ErrorCode::Other(tail[0].trim().to_owned()),
                    detail: rest(&tail, 1),
                },
            }
        }
        "Control" => {
            need(3, "Control")?;
            if f[2].trim() == "PrintStatusBar" {
                EventKind::StatusBar {
                    agent_id,
                    message: f.get(3).cloned().unwrap_or_default(),
                    extra: rest(f, 4),
                }
            } else {
                let controls = f[2]
                    .split('|')
                    .filter(|c| !c.trim().is_empty())
                    .map(|c| {
                        let (i, v) = c.split_once(',').unwrap_or((c, ""));
                        (i.trim().to_owned(), v.trim().to_owned())
                    })
                    .collect();
                EventKind::Controls {
                    agent_id,
                    controls,
                    extra: rest(f, 3),
                }
            }
        }
        "AgentInfo" => {
            need(4, "AgentInfo")?;
            let supervisor = opt(f, 4).and_then(|s| match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            });
            let wrap_up_mode = opt(f, 5).map(|s| WrapUpMode::from(s.as_str()));
            // Supervisor form ([WPF]): 6 = <label>:<count>, 7 = teams, 8 = full name.
            let long = f.len() >= 9 && f[6].contains(':');
            let (teams, full_name, extra) = if long {
                let teams = list(&f[7])
                    .into_iter()
                    .map(|t| match t.split_once(':') {
                        Some((id, name)) => Team {
                            id: id.to_owned(),
                            name: name.to_owned(),
                        },
                        None => Team {
                            id: t,
                            name: String::new(),
                        },
                    })
                    .collect();
                let mut extra = vec![f[6].clone()];
                extra.extend(rest(f, 9));
                (teams, opt(f, 8), extra)
            } else {
                (Vec::new(), opt(f, 6), rest(f, 7))
            };
            EventKind::AgentInfo {
                agent_id,
                first_name: f[2].clone(),
                last_name: f[3].clone(),
                supervisor,
                wrap_up_mode,
                full_name,
                team: None,
                teams,
                extra,
            }
        }
        "InboundCall" => {
            need(3, "InboundCall")?;
            let (call, extra) = call_fields(f, "DialogID:");
            EventKind::InboundCall {
                agent_id,
                call,
                extra,
            }
        }
        "ConsultCall" => {
            need(3, "ConsultCall")?;
            let (call, extra) = call_fields(f, "AssDialogID:");
            EventKind::ConsultCall {
                agent_id,
                call,
                extra,
            }
        }
        "NewInboundCall" | "NewOutboundCall" | "NewOutboundPreviewCall" => {
            need(3, "NewInboundCall")?;
            let (ani, call_variables) = f.get(3).map(|s| ani_and_vars(s)).unwrap_or_default();
            let call = Call {
                from_address: opt(f, 2),
                ani,
                call_variables,
                dialog_id: f.get(4).and_then(|s| prefixed(s, "DialogID:")),
                call_type: jms_type
                    .filter(|_| name != "NewInboundCall")
                    .map(str::to_owned),
                ..Call::default()
            };
            let extra = rest(f, 5);
            if name == "NewInboundCall" {
                EventKind::NewInboundCall {
                    agent_id,
                    call,
                    extra,
                }
            } else {
                EventKind::NewOutboundCall {
                    agent_id,
                    preview: name == "NewOutboundPreviewCall",
                    call,
                    extra,
                }
            }
        }
        "TeamInfoIDs" | "TeamInfoNames" => {
            need(3, "TeamInfo")?;
            // id#TeamInfoIDs#TeamID#a,b,c#full name (the literal may be missing).
            let (items, next) = match f[2].trim() {
                "TeamID" | "TeamName" => (f.get(3).map(|s| list(s)).unwrap_or_default(), 4),
                _ => (list(&f[2]), 3),
            };
            let full_name = opt(f, next);
            let extra = rest(f, next + 1);
            if name == "TeamInfoIDs" {
                EventKind::TeamIds {
                    agent_id,
                    team_ids: items,
                    full_name,
                    extra,
                }
            } else {
                EventKind::TeamNames {
                    agent_id,
                    team_names: items,
                    full_name,
                    extra,
                }
            }
        }
        "DialogState" => {
            need(3, "DialogState")?;
            // O-014: id#DialogState#state#dialogId#full#from#vars#assId#assState#assFrom#assVars
            let vars = |i: usize| f.get(i).map(|s| call_vars_pipe(s)).unwrap_or_default();
            EventKind::DialogState {
                agent_id,
                dialog_type: None,
                full_name: opt(f, 4),
                dialogs: DialogPair {
                    state: opt(f, 2).map(|s| CallState::from(s.as_str())),
                    dialog_id: opt(f, 3),
                    from_address: opt(f, 5),
                    call_variables: vars(6),
                    ass_dialog_id: opt(f, 7),
                    ass_state: opt(f, 8).map(|s| CallState::from(s.as_str())),
                    ass_from_address: opt(f, 9),
                    ass_call_variables: vars(10),
                },
                extra: rest(f, 11),
            }
        }
        "DialogStatus" => {
            need(4, "DialogStatus")?;
            let vars = |i: usize| f.get(i).map(|s| call_vars_pipe(s)).unwrap_or_default();
            let st = |i: usize| opt(f, i).map(|s| CallState::from(s.as_str()));
            let (dialogs, extra) = if f.len() <= 6 {
                // form 1: id#DialogStatus#dialogId#state#assId#assState
                (
                    DialogPair {
                        dialog_id: opt(f, 2),
                        state: st(3),
                        ass_dialog_id: opt(f, 4),
                        ass_state: st(5),
                        ..DialogPair::default()
                    },
                    Vec::new(),
                )
            } else {
                // form 2: id#DialogStatus#dialogId#state#from#vars#assId#assState#assFrom#assVars
                (
                    DialogPair {
                        dialog_id: opt(f, 2),
                        state: st(3),
                        from_address: opt(f, 4),
                        call_variables: vars(5),
                        ass_dialog_id: opt(f, 6),
                        ass_state: st(7),
                        ass_from_address: opt(f, 8),
                        ass_call_variables: vars(9),
                    },
                    rest(f, 10),
                )
            };
            EventKind::DialogStatus {
                agent_id,
                call_type: jms_type.map(str::to_owned),
                dialogs,
                extra,
            }
        }
        "ReasonCodes" => {
            need(4, "ReasonCodes")?;
            let category = prefixed(&f[2], "Category:").unwrap_or_else(|| f[2].trim().to_owned());
            let codes_s = prefixed(&f[3], "Codes:").unwrap_or_else(|| f[3].clone());
            let (labels_s, next) = match f.get(4).and_then(|s| prefixed(s, "Labels:")) {
                Some(l) => (l, 5),
                None => (String::new(), 4),
            };
            let labels: Vec<String> = labels_s.split(',').map(|s| s.trim().to_owned()).collect();
            let codes = list(&codes_s)
                .into_iter()
                .enumerate()
                .map(|(i, code)| ReasonCode {
                    code,
                    label: labels.get(i).cloned().unwrap_or_default(),
                })
                .collect();
            EventKind::ReasonCodes {
                agent_id,
                category,
                codes,
                full_name: opt(f, next),
                extra: rest(f, next + 1),
            }
        }
        "QueueList" => EventKind::QueueList {
            agent_id,
            queues: f[2..]
                .iter()
                .filter(|r| !r.trim().is_empty())
                .map(|r| colon_record(r, false))
                .collect(),
        },
        "TeamUsersList" => EventKind::Agents {
            agent_id: Some(agent_id),
            users: f[2..]
                .iter()
                .filter(|r| !r.trim().is_empty())
                .map(|r| colon_record(r, true))
                .collect(),
        },
        "TeamMemberStateChanged" => {
            need(4, "TeamMemberStateChanged")?;
            EventKind::TeamMemberStateChanged {
                agent_id,
                team_id: f[2].trim().to_owned(),
                state: AgentState::from(f[3].trim()),
                extra: rest(f, 4),
            }
        }
        "ConferenceParticipants" => EventKind::ConferenceParticipants {
            agent_id,
            extensions: f.get(2).map(|s| list(s)).unwrap_or_default(),
            extra: rest(f, 3),
        },
        "RECONNECT" => {
            let body = rest(f, 2).join("#");
            let request = jms_type.map(|t| Request {
                jms_type: t.to_owned(),
                body: body.clone(),
            });
            // An echoed Connect/Login carries a password: shown nowhere.
            let body = match &request {
                Some(r) => r.redacted_body().to_owned(),
                None => body,
            };
            EventKind::Reconnect {
                agent_id,
                request,
                body,
            }
        }
        _ => EventKind::Unknown { fields: f.to_vec() },
    })
}
