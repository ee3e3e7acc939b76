//! Parser tests: both text layouts, JSON samples of the data sheet, hostile input.
use super::*;

fn one(body: &str) -> EventKind {
    let mut v = parse(body, None).expect("parse");
    assert_eq!(v.len(), 1);
    v.remove(0).kind
}

#[test]
fn state_old_new_and_longer() {
    match one("1001#State#READY#Al Smith") {
        EventKind::State {
            state,
            full_name,
            reason_code,
            ..
        } => {
            assert_eq!(state, AgentState::Ready);
            assert_eq!(full_name.as_deref(), Some("Al Smith"));
            assert_eq!(reason_code, None);
        }
        other => panic!("{other:?}"),
    }
    match one("1001#State#NOT_READY#12#Al Smith#x#y#Al#z#4012") {
        EventKind::State {
            state,
            full_name,
            reason_code,
            extra,
            ..
        } => {
            assert_eq!(state, AgentState::NotReady);
            assert_eq!(reason_code.as_deref(), Some("12"));
            assert_eq!(full_name.as_deref(), Some("Al Smith"));
            assert_eq!(extra, vec!["x", "y", "Al", "z", "4012"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        one("1001#State#RE_LOGIN"),
        EventKind::State {
            state: AgentState::ReLogin,
            ..
        }
    ));
    assert!(matches!(
        one("1001#LOGOUT"),
        EventKind::State {
            state: AgentState::Logout,
            ..
        }
    ));
    match one("1001#State#ON_BREAK#Al") {
        EventKind::State { state, .. } => {
            assert_eq!(state, AgentState::Other("ON_BREAK".into()))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn system_destination_and_case() {
    assert!(matches!(
        one("System#IN_SERVICE"),
        EventKind::System {
            status: SystemStatus::InService,
            ..
        }
    ));
    assert!(matches!(
        one("SYSTEM#OUT_OF_SERVICE\n"),
        EventKind::System {
            status: SystemStatus::OutOfService,
            ..
        }
    ));
    assert!(matches!(
        one("System#NOT_REACHABLE"),
        EventKind::System {
            status: SystemStatus::NotReachable,
            ..
        }
    ));
    match one("DESTINATION#crm-7#RECONNECT") {
        EventKind::Destination {
            destination,
            action,
            ..
        } => assert_eq!(
            (destination.as_str(), action.as_str()),
            ("crm-7", "RECONNECT")
        ),
        other => panic!("{other:?}"),
    }
    // An agent called "System" still gets agent events.
    assert!(matches!(
        one("System#State#READY#x"),
        EventKind::State { .. }
    ));
}

#[test]
fn errors_take_the_first_code_like_field() {
    match one("1001#Error#CF_RESOURCE_BUSY") {
        EventKind::Error { code, detail, .. } => {
            assert_eq!(code, ErrorCode::CfResourceBusy);
            assert!(detail.is_empty());
        }
        other => panic!("{other:?}"),
    }
    match one("1001#Error#Login failed#SUBSCRIPTION_FAILED#more") {
        EventKind::Error { code, detail, .. } => {
            assert_eq!(code, ErrorCode::SubscriptionFailed);
            assert_eq!(detail, vec!["Login failed", "more"]);
        }
        other => panic!("{other:?}"),
    }
    match one("1001#Error#something odd") {
        EventKind::Error { code, .. } => {
            assert_eq!(code, ErrorCode::Other("something odd".into()))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn inbound_call_formats() {
    match one("1001#InboundCall#ACTIVE#DialogID:77#5551234#callVariable1=a|acct=42#2024-01-02 10:11:12#Al#x") {
        EventKind::InboundCall { call, extra, .. } => {
            assert_eq!(call.dialog_id.as_deref(), Some("77"));
            assert_eq!(call.state, Some(CallState::Active));
            assert_eq!(call.from_address.as_deref(), Some("5551234"));
            assert_eq!(call.call_variables.get("acct"), Some("42"));
            assert_eq!(call.start_time.as_deref(), Some("2024-01-02 10:11:12"));
            assert_eq!(call.full_name.as_deref(), Some("Al"));
            assert_eq!(extra, vec!["x"]);
        }
        other => panic!("{other:?}"),
    }
    match one("1001#InboundCall#DROP#DialogID:77#Al") {
        EventKind::InboundCall { call, .. } => {
            assert!(call.state.as_ref().is_some_and(CallState::is_ended));
            assert_eq!(call.full_name.as_deref(), Some("Al"));
        }
        other => panic!("{other:?}"),
    }
    match one("1001#InboundCall#FAILED#DialogID:77#BUSY#Al") {
        EventKind::InboundCall { call, .. } => {
            assert_eq!(call.failure_cause.as_deref(), Some("BUSY"));
            assert_eq!(call.full_name.as_deref(), Some("Al"));
        }
        other => panic!("{other:?}"),
    }
    // Without the DialogID part (only sent for some states).
    match one("1001#InboundCall#ALERTING#5551234#a=1#2024-01-02 10:11:12#Al") {
        EventKind::InboundCall { call, .. } => {
            assert_eq!(call.dialog_id, None);
            assert_eq!(call.from_address.as_deref(), Some("5551234"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn new_calls_old_and_new_ani() {
    match one("1001#NewInboundCall#5551234#5551234|callVariable1=a|callVariable2=b>#DialogID:77") {
        EventKind::NewInboundCall { call, .. } => {
            assert_eq!(call.ani.as_deref(), Some("5551234"));
            assert_eq!(call.call_variables.get("callVariable2"), Some("b"));
            assert_eq!(call.dialog_id.as_deref(), Some("77"));
        }
        other => panic!("{other:?}"),
    }
    match one("1001#NewInboundCall#5551234#5551234,a,b#DialogID:77") {
        EventKind::NewInboundCall { call, .. } => {
            assert_eq!(call.ani.as_deref(), Some("5551234"));
            assert_eq!(call.call_variables.get("callVariable1"), Some("a"));
        }
        other => panic!("{other:?}"),
    }
    match one("1001#NewOutboundCall#8000#ani=5551234|BACampaign=c1|BAStatus=x#DialogID:78") {
        EventKind::NewOutboundCall { call, preview, .. } => {
            assert!(!preview);
            assert_eq!(call.ani.as_deref(), Some("5551234"));
            assert_eq!(call.call_variables.get("BACampaign"), Some("c1"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn consult_dialog_and_status() {
    match one("1001#ConsultCall#INITIATED#AssDialogID:88#4012#a=1#2024-01-02 10:11:12#Al") {
        EventKind::ConsultCall { call, .. } => {
            assert_eq!(call.dialog_id.as_deref(), Some("88"));
            assert_eq!(call.state, Some(CallState::Initiated));
        }
        other => panic!("{other:?}"),
    }
    match one("1001#DialogState#ACTIVE#77#Al#555#a=1#88#HELD#4013#b=2#tail") {
        EventKind::DialogState { dialogs, extra, .. } => {
            assert_eq!(dialogs.dialog_id.as_deref(), Some("77"));
            assert_eq!(dialogs.ass_state, Some(CallState::Held));
            assert_eq!(dialogs.ass_call_variables.get("b"), Some("2"));
            assert_eq!(extra, vec!["tail"]);
        }
        other => panic!("{other:?}"),
    }
    match one("1001#CONSULT#DialogState#ACTIVE#77#Al") {
        EventKind::DialogState {
            dialog_type,
            dialogs,
            ..
        } => {
            assert_eq!(dialog_type.as_deref(), Some("CONSULT"));
            assert_eq!(dialogs.dialog_id.as_deref(), Some("77"));
        }
        other => panic!("{other:?}"),
    }
    let ev = parse("1001#DialogStatus#77#ACTIVE#88#HELD", Some("INBOUND")).expect("parse");
    match &ev[0].kind {
        EventKind::DialogStatus {
            call_type, dialogs, ..
        } => {
            assert_eq!(call_type.as_deref(), Some("INBOUND"));
            assert_eq!(dialogs.ass_dialog_id.as_deref(), Some("88"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn reason_codes_lists_and_supervisor() {
    match one("1001#ReasonCodes#Category:NOT_READY#Codes:1,2 #Labels:Lunch,Break#Al") {
        EventKind::ReasonCodes {
            category,
            codes,
            full_name,
            ..
        } => {
            assert_eq!(category, "NOT_READY");
            assert_eq!(codes.len(), 2);
            assert_eq!(codes[1].code, "2");
            assert_eq!(codes[1].label, "Break");
            assert_eq!(full_name.as_deref(), Some("Al"));
        }
        other => panic!("{other:?}"),
    }
    match one("9#QueueList#QueueName:Q1,CallsInQueue:2,StartTimeOfLongestCallInQueue:2024-01-02 10:11:12#QueueName:Q2,CallsInQueue:0") {
        EventKind::QueueList { queues, .. } => {
            assert_eq!(queues.len(), 2);
            assert_eq!(
                queues[0].get("StartTimeOfLongestCallInQueue"),
                Some("2024-01-02 10:11:12")
            );
        }
        other => panic!("{other:?}"),
    }
    match one("9#TeamUsersList#FirstName:Al,LastName:S,Extension:4012,LoginID:1001,State:READY") {
        EventKind::Agents { users, .. } => {
            assert_eq!(users[0].get("firstName"), Some("Al"));
            assert_eq!(users[0].get("loginID"), Some("1001"));
        }
        other => panic!("{other:?}"),
    }
    match one("9#TeamInfoIDs#TeamID#7,8 #Boss") {
        EventKind::TeamIds {
            team_ids,
            full_name,
            ..
        } => {
            assert_eq!(team_ids, vec!["7", "8"]);
            assert_eq!(full_name.as_deref(), Some("Boss"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        one("9#TeamMemberStateChanged#7#READY#1001"),
        EventKind::TeamMemberStateChanged { state: AgentState::Ready, ref extra, .. } if extra == &["1001"]
    ));
    match one("1001#AgentInfo#Al#Smith#true#REQUIRED_WITH_ WRAP_UP_DATA#Al Smith") {
        EventKind::AgentInfo {
            supervisor,
            wrap_up_mode,
            full_name,
            ..
        } => {
            assert_eq!(supervisor, Some(true));
            assert_eq!(wrap_up_mode, Some(WrapUpMode::RequiredWithWrapUpData));
            assert_eq!(full_name.as_deref(), Some("Al Smith"));
        }
        other => panic!("{other:?}"),
    }
    match one("1001#AgentInfo#Al#Smith#true#OPTIONAL#Teams:2#7,8#Al Smith") {
        EventKind::AgentInfo {
            teams, full_name, ..
        } => {
            assert_eq!(teams.len(), 2);
            assert_eq!(full_name.as_deref(), Some("Al Smith"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn reconnect_echo_and_sync() {
    let ev = parse("1001#RECONNECT#secret,4012", Some("Login#1001")).expect("parse");
    match &ev[0].kind {
        EventKind::Reconnect { request, .. } => {
            let r = request.as_ref().expect("request");
            assert_eq!(r.jms_type, "Login#1001");
            assert_eq!(r.body, "secret,4012");
        }
        other => panic!("{other:?}"),
    }
    match one("AgentState#1001#pw#4012#2024-01-01 00:00:00") {
        EventKind::ConnectorSync { agent_id } => assert_eq!(agent_id, "1001"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn phonebooks_both_text_layouts() {
    match one("Phonebooks#name:Global,type:GLOBAL,id:1#name:Team,type:TEAM,id:2") {
        EventKind::Phonebooks { team, phonebooks } => {
            assert!(!team);
            assert_eq!(phonebooks[1].get("id"), Some("2"));
        }
        other => panic!("{other:?}"),
    }
    match one("[Phonebooks#Global=1|Team=2]") {
        EventKind::Phonebooks { phonebooks, .. } => {
            assert_eq!(phonebooks[1].get("name"), Some("Team"));
            assert_eq!(phonebooks[1].get("id"), Some("2"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        one("TeamPhoneBooks#name:T,type:TEAM,id:3"),
        EventKind::Phonebooks { team: true, .. }
    ));
    match one("PhonebookContacts#description:d,firstName:A,lastName:B,phoneNumber:555,id:9") {
        EventKind::PhonebookContacts { contacts, .. } => {
            assert_eq!(contacts[0].get("phoneNumber"), Some("555"))
        }
        other => panic!("{other:?}"),
    }
    match one("[PhonebookContacts#1#name=A B,phoneNumber=555,contactId=9|name=C,phoneNumber=556,contactId=10]") {
        EventKind::PhonebookContacts {
            phonebook_id,
            contacts,
        } => {
            assert_eq!(phonebook_id.as_deref(), Some("1"));
            assert_eq!(contacts.len(), 2);
            assert_eq!(contacts[1].get("contactId"), Some("10"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn json_events_from_the_data_sheet() {
    assert!(matches!(
        one(r#"{"type":"System","status":"IN_SERVICE"}"#),
        EventKind::System {
            status: SystemStatus::InService,
            ..
        }
    ));
    match one(
        r#"{"type":"State","agentId":"1001","state":"NOT_READY","reasonCode":"12","stateChangeTimeString":"","pendingState":"","stateChangeTime":"2024-01-02 10:11:12","newKey":5}"#,
    ) {
        EventKind::State {
            state,
            reason_code,
            extra,
            ..
        } => {
            assert_eq!(state, AgentState::NotReady);
            assert_eq!(reason_code.as_deref(), Some("12"));
            assert_eq!(extra, vec!["newKey=5"]);
        }
        other => panic!("{other:?}"),
    }
    match one(
        r#"{"type":"InboundCall","dialogId":"16871253","state":"ACTIVE","startTime":"2024-01-02 10:11:12","prevDialogId":null,"fromAddress":"5551234","callVariables":[{"callVariable1":"a"},{"ani":"5551234"}],"participants":[{"mediaAddress":"4012","state":"ACTIVE","addressType":"AGENT_DEVICE"}],"agentId":"1001"}"#,
    ) {
        EventKind::InboundCall { call, .. } => {
            assert_eq!(call.dialog_id.as_deref(), Some("16871253"));
            assert_eq!(call.ani.as_deref(), Some("5551234"));
            assert_eq!(call.prev_dialog_id, None);
            assert_eq!(call.participants[0].media_address, "4012");
        }
        other => panic!("{other:?}"),
    }
    match one(
        r#"{"type":"ConsultCall","state":"INITIATED","assDialogId":"88","fromAddress":"4012","toAddress":"4013","agentId":"1001"}"#,
    ) {
        EventKind::ConsultCall { call, .. } => {
            assert_eq!(call.dialog_id.as_deref(), Some("88"));
            assert_eq!(call.to_address.as_deref(), Some("4013"));
        }
        other => panic!("{other:?}"),
    }
    match one(
        r#"{"type":"ReasonCodes","category":"WrapUp","reasonCodes":[{"1":"Complaint"},{"2":"Inquiry New"}],"agentId":"1001"}"#,
    ) {
        EventKind::ReasonCodes { codes, .. } => assert_eq!(codes[1].label, "Inquiry New"),
        other => panic!("{other:?}"),
    }
    match one(r#"[{"type":"Phonebooks","phonebooks":[{"name":"G","id":1}]}]"#) {
        EventKind::Phonebooks { phonebooks, .. } => {
            assert_eq!(phonebooks[0].get("id"), Some("1"))
        }
        other => panic!("{other:?}"),
    }
    match one(
        r#"[{"type":"Agents","users":[{"firstName":"A","lastName":"B","extension":"4012"}]}]"#,
    ) {
        EventKind::Agents { users, .. } => assert_eq!(users[0].get("extension"), Some("4012")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        one(
            r#"{"type":"NewOutboundPreviewCall","dialogId":"5","fromAddress":"x","callVariables":[],"calltype":"calltype","agentId":"1"}"#
        ),
        EventKind::NewOutboundCall { preview: true, .. }
    ));
    assert!(matches!(
        one(r#"{"type":"Brand New","x":1}"#),
        EventKind::UnknownJson { type_name: Some(ref t), .. } if t == "Brand New"
    ));
}

#[test]
fn bad_input_is_a_typed_error() {
    assert_eq!(parse("  ", None), Err(EventError::Empty));
    assert!(matches!(parse("{oops", None), Err(EventError::Json(_))));
    assert!(
        matches!(parse("[1,2]", None), Ok(ref v) if matches!(v[0].kind, EventKind::Unknown { .. }))
    );
    assert!(matches!(parse("[{}, 3]", None), Err(EventError::Json(_))));
    assert_eq!(parse_bytes(b"\xff", None), Err(EventError::NotUtf8));
    assert!(matches!(
        parse("1001#ReasonCodes#x", None),
        Err(EventError::Malformed {
            event: "ReasonCodes",
            ..
        })
    ));
    assert!(matches!(one("hello world"), EventKind::Unknown { .. }));
}

#[test]
fn json_rendering_is_flat_and_tagged() {
    let ev = &parse("1001#InboundCall#ACTIVE#DialogID:77#555#a=1#t#Al", None).expect("parse")[0];
    let j = ev.to_json();
    assert_eq!(j["event"], "InboundCall");
    assert_eq!(j["format"], "text");
    assert_eq!(j["agent_id"], "1001");
    assert_eq!(j["dialog_id"], "77");
    assert_eq!(j["state"], "ACTIVE");
    assert_eq!(j["call_variables"]["a"], "1");
}
