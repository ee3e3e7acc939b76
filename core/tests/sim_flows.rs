//! Each call flow checked event by event, as the agent desktops and a bridge see it, at
//! protocol versions 15 and 24.

mod sim_common;

use cce::cti::codec::Message;
use cce::sim::cti::{
    CtiSimulator, SimAgent, SimCall, SimCallData, SimConfig, SimDialedNumber, SimTeam,
};
use sim_common::*;

const NULL: i64 = 0xFFFF_FFFF;

fn config() -> SimConfig {
    let agent = |id: &str, ext: &str| {
        let mut a = SimAgent::new(id, ext);
        a.skill_groups = vec![10];
        a.team_id = Some(7);
        a
    };
    let mut sup = agent("2001", "6001");
    sup.supervisor = true;
    sup.skill_groups = vec![];
    SimConfig {
        agents: vec![agent("1001", "5001"), agent("1002", "5002"), sup],
        teams: vec![SimTeam {
            id: 7,
            name: Some("Blue".into()),
        }],
        dialed_numbers: vec![SimDialedNumber {
            number: "8000".into(),
            skill_group: 10,
        }],
        ..SimConfig::default()
    }
}

struct World {
    sim: CtiSimulator,
    a: Raw,
    b: Raw,
    bridge: Raw,
}

async fn world(v: u32) -> World {
    let sim = CtiSimulator::start(config()).await.unwrap();
    let (a, _) = Raw::open(sim.local_addr(), &Open::agent(v, "1001")).await;
    let (b, _) = Raw::open(sim.local_addr(), &Open::agent(v, "1002")).await;
    let (mut bridge, _) = Raw::open(sim.local_addr(), &Open::bridge(v)).await;
    assert_eq!(names(&bridge.sync().await), ["SYSTEM_EVENT"]);
    World { sim, a, b, bridge }
}

impl World {
    async fn ready(&mut self, who: &str) {
        let r = if who == "a" { &mut self.a } else { &mut self.b };
        let set = r
            .req("SET_AGENT_STATE_REQ")
            .i("AgentState", st("AGENT_STATE_AVAILABLE").into());
        let got = r.ok(set).await;
        assert_eq!(names(&got), ["AGENT_STATE_EVENT"]);
        self.bridge.sync().await;
    }

    async fn end(self) {
        assert_eq!(self.sim.encode_errors(), 0);
        self.sim.stop().await;
    }
}

fn call(ani: &str) -> SimCall {
    SimCall {
        ani: ani.into(),
        dnis: "8000".into(),
        call_variables: vec!["acct-42".into()],
        named_variables: vec![("user.crm".into(), "C-7".into())],
        ..SimCall::default()
    }
}

fn lcs(m: &Message) -> &'static str {
    cce::cti::spec::table("LocalConnectionState Values")
        .and_then(|t| t.name_of(m.u32("LocalConnectionState").unwrap()))
        .unwrap()
}

fn agent_state(m: &Message) -> u32 {
    assert_eq!(m.name(), "AGENT_STATE_EVENT");
    m.u32("AgentState").unwrap()
}

/// An inbound call answered at agent A; returns its ConnectionCallID.
async fn answered_call(w: &mut World) -> u32 {
    w.ready("a").await;
    let id = w.sim.offer_call(&call("5551234")).unwrap();
    w.a.sync().await;
    let ans =
        w.a.req("ANSWER_CALL_REQ")
            .i("ConnectionCallID", id.into())
            .s("ConnectionDeviceID", "5001");
    w.a.ok(ans).await;
    w.bridge.sync().await;
    id
}

async fn inbound_routed(v: u32) {
    let mut w = world(v).await;
    w.ready("a").await;
    let id = w.sim.offer_call(&call("5551234")).unwrap();

    let got = w.a.sync().await;
    assert_eq!(
        names(&got),
        [
            "AGENT_STATE_EVENT",
            "BEGIN_CALL_EVENT",
            "CALL_DELIVERED_EVENT"
        ]
    );
    assert_eq!(agent_state(&got[0]), st("AGENT_STATE_RESERVED"));
    let begin = &got[1];
    assert_eq!(begin.u32("ConnectionCallID"), Some(id));
    assert_eq!(begin.str("ANI"), Some("5551234"));
    assert_eq!(begin.str("DNIS"), Some("8000"));
    assert_eq!(begin.str("CallVariable1"), Some("acct-42"));
    assert_eq!(begin.u32("NumNamedVariables"), Some(1));
    assert_eq!(
        begin.u32("CallType"),
        Some(k("CallType Values", "CALLTYPE_ACD_IN") as u32)
    );
    let del = &got[2];
    assert_eq!(del.str("ConnectionDeviceID"), Some("5001"));
    assert_eq!(del.str("AlertingDeviceID"), Some("5001"));
    assert_eq!(del.str("CallingDeviceID"), Some("5551234"));
    assert_eq!(lcs(del), "LCS_ALERTING");
    assert_eq!(del.u32("SkillGroupNumber"), Some(10));
    assert!(
        w.b.sync().await.is_empty(),
        "agent B sees nothing of A's call"
    );
    assert_eq!(
        names(&w.bridge.sync().await),
        [
            "BEGIN_CALL_EVENT",
            "AGENT_STATE_EVENT",
            "CALL_DELIVERED_EVENT"
        ]
    );

    let ans =
        w.a.req("ANSWER_CALL_REQ")
            .i("ConnectionCallID", id.into())
            .s("ConnectionDeviceID", "5001");
    let got = w.a.ok(ans).await;
    assert_eq!(names(&got), ["CALL_ESTABLISHED_EVENT", "AGENT_STATE_EVENT"]);
    assert_eq!(got[0].str("AnsweringDeviceID"), Some("5001"));
    assert_eq!(lcs(&got[0]), "LCS_CONNECT");
    assert_eq!(agent_state(&got[1]), st("AGENT_STATE_TALKING"));

    // The caller hangs up.
    w.sim.hangup(id).unwrap();
    let got = w.a.sync().await;
    assert_eq!(
        names(&got),
        [
            "CALL_CONNECTION_CLEARED_EVENT",
            "CALL_CLEARED_EVENT",
            "END_CALL_EVENT",
            "AGENT_STATE_EVENT"
        ]
    );
    assert_eq!(got[0].str("ReleasingDeviceID"), Some("5551234"));
    assert_eq!(agent_state(&got[3]), st("AGENT_STATE_AVAILABLE"));
    assert!(got
        .iter()
        .take(3)
        .all(|m| m.u32("ConnectionCallID") == Some(id)));
    assert!(w.sim.calls().is_empty());
    w.end().await;
}

async fn inbound_queued(v: u32) {
    let mut w = world(v).await;
    let id = w.sim.offer_call(&call("5550001")).unwrap();
    let got = w.bridge.sync().await;
    assert_eq!(names(&got), ["BEGIN_CALL_EVENT", "CALL_QUEUED_EVENT"]);
    assert_eq!(got[1].u32("NumQueued"), Some(1));
    assert_eq!(lcs(&got[1]), "LCS_QUEUED");
    assert_eq!(got[1].u32("SkillGroupNumber"), Some(10));
    assert!(w.a.sync().await.is_empty());
    assert!(w.sim.calls()[0].queued);

    // A becomes available: the call is dequeued and delivered to A.
    let set =
        w.a.req("SET_AGENT_STATE_REQ")
            .i("AgentState", st("AGENT_STATE_AVAILABLE").into());
    let got = w.a.ok(set).await;
    assert_eq!(
        names(&got),
        [
            "AGENT_STATE_EVENT",
            "AGENT_STATE_EVENT",
            "BEGIN_CALL_EVENT",
            "CALL_DELIVERED_EVENT"
        ]
    );
    assert_eq!(agent_state(&got[0]), st("AGENT_STATE_AVAILABLE"));
    assert_eq!(agent_state(&got[1]), st("AGENT_STATE_RESERVED"));
    let got = w.bridge.sync().await;
    assert_eq!(
        names(&got),
        [
            "AGENT_STATE_EVENT",
            "CALL_DEQUEUED_EVENT",
            "AGENT_STATE_EVENT",
            "CALL_DELIVERED_EVENT"
        ]
    );
    assert_eq!(got[1].u32("NumQueued"), Some(0));

    w.sim.answer_call(id, None).unwrap();
    assert_eq!(
        names(&w.a.sync().await),
        ["CALL_ESTABLISHED_EVENT", "AGENT_STATE_EVENT"]
    );
    // The agent releases its connection.
    let clear =
        w.a.req("CLEAR_CONNECTION_REQ")
            .i("ConnectionCallID", id.into())
            .s("ConnectionDeviceID", "5001")
            .i("RequestingDeviceIDType", NULL & 0xFFFF);
    let got = w.a.ok(clear).await;
    assert_eq!(
        names(&got),
        [
            "CALL_CONNECTION_CLEARED_EVENT",
            "CALL_CLEARED_EVENT",
            "END_CALL_EVENT",
            "AGENT_STATE_EVENT"
        ]
    );
    assert_eq!(got[0].str("ReleasingDeviceID"), Some("5001"));
    w.end().await;
}

async fn outbound_hold_retrieve(v: u32) {
    let mut w = world(v).await;
    w.ready("a").await;
    let mk =
        w.a.req("MAKE_CALL_REQ")
            .s("DialedNumber", "9005551212")
            .i("SkillGroupNumber", NULL);
    let (before, conf) = w.a.request(mk).await;
    assert!(before.is_empty());
    assert_eq!(conf.name(), "MAKE_CALL_CONF");
    let id = conf.u32("NewConnectionCallID").unwrap();
    assert_eq!(conf.str("NewConnectionDeviceID"), Some("5001"));
    let got = w.a.sync().await;
    assert_eq!(
        names(&got),
        [
            "BEGIN_CALL_EVENT",
            "CALL_SERVICE_INITIATED_EVENT",
            "AGENT_STATE_EVENT",
            "CALL_ORIGINATED_EVENT",
            "CALL_DELIVERED_EVENT",
            "CALL_ESTABLISHED_EVENT"
        ]
    );
    assert_eq!(
        got[0].u32("CallType"),
        Some(k("CallType Values", "CALLTYPE_AGENT_OUT") as u32)
    );
    assert_eq!(lcs(&got[1]), "LCS_INITIATE");
    assert_eq!(agent_state(&got[2]), st("AGENT_STATE_TALKING"));
    assert_eq!(got[3].str("CalledDeviceID"), Some("9005551212"));
    assert_eq!(got[5].str("AnsweringDeviceID"), Some("9005551212"));
    assert!(got
        .iter()
        .all(|m| m.name() == "AGENT_STATE_EVENT" || m.u32("ConnectionCallID") == Some(id)));

    let hold =
        w.a.req("HOLD_CALL_REQ")
            .i("ConnectionCallID", id.into())
            .s("ConnectionDeviceID", "5001");
    let got = w.a.ok(hold).await;
    assert_eq!(names(&got), ["CALL_HELD_EVENT", "AGENT_STATE_EVENT"]);
    assert_eq!(lcs(&got[0]), "LCS_HOLD");
    assert_eq!(agent_state(&got[1]), st("AGENT_STATE_HOLD"));
    // Holding a held call fails with a control failure.
    let hold =
        w.a.req("HOLD_CALL_REQ")
            .i("ConnectionCallID", id.into())
            .s("ConnectionDeviceID", "5001");
    let (_, r) = w.a.request(hold).await;
    assert_eq!(r.name(), "CONTROL_FAILURE_CONF");
    assert_eq!(
        r.u32("FailureCode"),
        Some(k("ControlFailureCode Values", "CF_NO_ACTIVE_CALL") as u32)
    );

    let ret =
        w.a.req("RETRIEVE_CALL_REQ")
            .i("HeldConnectionCallID", id.into())
            .s("HeldConnectionDeviceID", "5001");
    let got = w.a.ok(ret).await;
    assert_eq!(names(&got), ["CALL_RETRIEVED_EVENT", "AGENT_STATE_EVENT"]);
    assert_eq!(agent_state(&got[1]), st("AGENT_STATE_TALKING"));

    let clear =
        w.a.req("CLEAR_CALL_REQ")
            .i("ConnectionCallID", id.into())
            .s("ConnectionDeviceID", "5001");
    let got = w.a.ok(clear).await;
    assert_eq!(
        names(&got),
        ["CALL_CLEARED_EVENT", "END_CALL_EVENT", "AGENT_STATE_EVENT"]
    );
    assert_eq!(agent_state(&got[2]), st("AGENT_STATE_AVAILABLE"));
    // An unknown call is a control failure.
    let clear = w.a.req("CLEAR_CALL_REQ").i("ConnectionCallID", id.into());
    let (_, r) = w.a.request(clear).await;
    assert_eq!(r.name(), "CONTROL_FAILURE_CONF");
    w.end().await;
}

async fn consult(w: &mut World, c1: u32) -> u32 {
    w.ready("b").await;
    let cons =
        w.a.req("CONSULTATION_CALL_REQ")
            .i("ActiveConnectionCallID", c1.into())
            .s("ActiveConnectionDeviceID", "5001")
            .s("DialedNumber", "5002");
    let (_, conf) = w.a.request(cons).await;
    assert_eq!(conf.name(), "CONSULTATION_CALL_CONF");
    let c2 = conf.u32("NewConnectionCallID").unwrap();
    assert_ne!(c1, c2);
    let got = w.a.sync().await;
    assert_eq!(
        names(&got),
        [
            "CALL_HELD_EVENT",
            "BEGIN_CALL_EVENT",
            "CALL_SERVICE_INITIATED_EVENT",
            "CALL_ORIGINATED_EVENT",
            "CALL_DELIVERED_EVENT"
        ]
    );
    assert_eq!(got[0].u32("ConnectionCallID"), Some(c1));
    assert_eq!(got[1].u32("ConnectionCallID"), Some(c2));
    assert_eq!(
        got[1].u32("CallType"),
        Some(k("CallType Values", "CALLTYPE_CONSULT") as u32)
    );
    assert_eq!(
        got[1].str("CallVariable1"),
        Some("acct-42"),
        "consult call inherits call data"
    );
    let got = w.b.sync().await;
    assert_eq!(names(&got), ["BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT"]);
    assert_eq!(got[1].str("AlertingDeviceID"), Some("5002"));
    let ans =
        w.b.req("ANSWER_CALL_REQ")
            .i("ConnectionCallID", c2.into())
            .s("ConnectionDeviceID", "5002");
    let got = w.b.ok(ans).await;
    assert_eq!(names(&got), ["CALL_ESTABLISHED_EVENT", "AGENT_STATE_EVENT"]);
    assert_eq!(names(&w.a.sync().await), ["CALL_ESTABLISHED_EVENT"]);
    w.bridge.sync().await;
    c2
}

async fn consult_transfer(v: u32) {
    let mut w = world(v).await;
    let c1 = answered_call(&mut w).await;
    let c2 = consult(&mut w, c1).await;
    let xfer =
        w.a.req("TRANSFER_CALL_REQ")
            .i("ActiveConnectionCallID", c2.into())
            .i("HeldConnectionCallID", c1.into())
            .s("ActiveConnectionDeviceID", "5001")
            .s("HeldConnectionDeviceID", "5001");
    let (_, conf) = w.a.request(xfer).await;
    assert_eq!(conf.name(), "TRANSFER_CALL_CONF");
    assert_eq!(conf.u32("NewConnectionCallID"), Some(c1));
    assert_eq!(conf.u32("NumParties"), Some(2));
    let got = w.a.sync().await;
    assert_eq!(
        names(&got),
        [
            "CALL_TRANSFERRED_EVENT",
            "END_CALL_EVENT",
            "END_CALL_EVENT",
            "AGENT_STATE_EVENT"
        ]
    );
    assert_eq!(got[0].u32("PrimaryCallID"), Some(c1));
    assert_eq!(got[0].u32("SecondaryCallID"), Some(c2));
    assert_eq!(got[0].str("TransferringDeviceID"), Some("5001"));
    assert_eq!(got[0].str("TransferredDeviceID"), Some("5002"));
    assert_eq!(got[1].u32("ConnectionCallID"), Some(c2));
    assert_eq!(got[2].u32("ConnectionCallID"), Some(c1));
    assert_eq!(agent_state(&got[3]), st("AGENT_STATE_AVAILABLE"));
    let got = w.b.sync().await;
    assert_eq!(
        names(&got),
        [
            "BEGIN_CALL_EVENT",
            "CALL_TRANSFERRED_EVENT",
            "END_CALL_EVENT"
        ]
    );
    assert_eq!(got[0].u32("ConnectionCallID"), Some(c1));
    assert_eq!(got[0].str("ANI"), Some("5551234"));
    assert_eq!(got[2].u32("ConnectionCallID"), Some(c2));
    // The bridge sees the consult call end and the original call go on.
    let got = w.bridge.sync().await;
    assert_eq!(
        names(&got),
        [
            "CALL_TRANSFERRED_EVENT",
            "END_CALL_EVENT",
            "AGENT_STATE_EVENT"
        ]
    );
    w.sim.hangup(c1).unwrap();
    let got = w.b.sync().await;
    assert_eq!(
        names(&got),
        [
            "CALL_CONNECTION_CLEARED_EVENT",
            "CALL_CLEARED_EVENT",
            "END_CALL_EVENT",
            "AGENT_STATE_EVENT"
        ]
    );
    w.end().await;
}

async fn consult_conference(v: u32) {
    let mut w = world(v).await;
    let c1 = answered_call(&mut w).await;
    let c2 = consult(&mut w, c1).await;
    let conf_req =
        w.a.req("CONFERENCE_CALL_REQ")
            .i("ActiveConnectionCallID", c2.into())
            .i("HeldConnectionCallID", c1.into())
            .s("ActiveConnectionDeviceID", "5001")
            .s("HeldConnectionDeviceID", "5001");
    let (_, conf) = w.a.request(conf_req).await;
    assert_eq!(conf.name(), "CONFERENCE_CALL_CONF");
    assert_eq!(conf.u32("NumParties"), Some(3));
    let got = w.a.sync().await;
    assert_eq!(names(&got), ["CALL_CONFERENCED_EVENT", "END_CALL_EVENT"]);
    assert_eq!(got[0].u32("NumParties"), Some(3));
    assert_eq!(got[0].str("AddedPartyDeviceID"), Some("5002"));
    assert_eq!(got[0].get_all("ConnectedPartyDeviceID").len(), 3);
    assert_eq!(got[1].u32("ConnectionCallID"), Some(c2));
    let got = w.b.sync().await;
    assert_eq!(
        names(&got),
        [
            "BEGIN_CALL_EVENT",
            "CALL_CONFERENCED_EVENT",
            "END_CALL_EVENT"
        ]
    );
    // A leaves the conference; the call goes on between the caller and B.
    let clear =
        w.a.req("CLEAR_CONNECTION_REQ")
            .i("ConnectionCallID", c1.into())
            .s("ConnectionDeviceID", "5001")
            .i("RequestingDeviceIDType", NULL & 0xFFFF);
    let got = w.a.ok(clear).await;
    assert_eq!(
        names(&got),
        [
            "CALL_CONNECTION_CLEARED_EVENT",
            "END_CALL_EVENT",
            "AGENT_STATE_EVENT"
        ]
    );
    assert_eq!(names(&w.b.sync().await), ["CALL_CONNECTION_CLEARED_EVENT"]);
    assert_eq!(w.sim.calls()[0].parties.len(), 2);
    w.end().await;
}

async fn single_step_transfer_and_deflect(v: u32) {
    let mut w = world(v).await;
    let c1 = answered_call(&mut w).await;
    w.ready("b").await;
    let xfer =
        w.a.req("TRANSFER_CALL_REQ")
            .i("ActiveConnectionCallID", c1.into())
            .i("HeldConnectionCallID", NULL)
            .i("HeldConnectionDeviceIDType", NULL & 0xFFFF)
            .s("ActiveConnectionDeviceID", "5001")
            .s("DialedNumber", "5002");
    let (_, conf) = w.a.request(xfer).await;
    assert_eq!(conf.name(), "TRANSFER_CALL_CONF");
    let got = w.a.sync().await;
    assert_eq!(
        names(&got),
        [
            "CALL_TRANSFERRED_EVENT",
            "END_CALL_EVENT",
            "AGENT_STATE_EVENT"
        ]
    );
    assert_eq!(got[0].u32("SecondaryCallID"), Some(0xFFFF_FFFF));
    let got = w.b.sync().await;
    assert_eq!(names(&got), ["BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT"]);

    // B deflects the ringing call back to A.
    let defl =
        w.b.req("DEFLECT_CALL_REQ")
            .i("ConnectionCallID", c1.into())
            .s("ConnectionDeviceID", "5002")
            .s("CalledDeviceID", "5001");
    let got = w.b.ok(defl).await;
    assert_eq!(names(&got), ["CALL_DIVERTED_EVENT", "END_CALL_EVENT"]);
    assert_eq!(got[0].str("DivertingDeviceID"), Some("5002"));
    assert_eq!(got[0].str("CalledDeviceID"), Some("5001"));
    let got = w.a.sync().await;
    assert_eq!(names(&got), ["BEGIN_CALL_EVENT", "CALL_DELIVERED_EVENT"]);
    // Deflecting a call that is not ringing there fails.
    let defl =
        w.b.req("DEFLECT_CALL_REQ")
            .i("ConnectionCallID", c1.into())
            .s("ConnectionDeviceID", "5002")
            .s("CalledDeviceID", "5001");
    let (_, r) = w.b.request(defl).await;
    assert_ne!(r.name(), "DEFLECT_CALL_CONF");
    w.end().await;
}

async fn alternate_and_reconnect(v: u32) {
    let mut w = world(v).await;
    let c1 = answered_call(&mut w).await;
    let cons =
        w.a.req("CONSULTATION_CALL_REQ")
            .i("ActiveConnectionCallID", c1.into())
            .s("DialedNumber", "9001");
    let (_, conf) = w.a.request(cons).await;
    let c2 = conf.u32("NewConnectionCallID").unwrap();
    let got = w.a.sync().await;
    assert_eq!(
        names(&got).last(),
        Some(&"CALL_ESTABLISHED_EVENT"),
        "external party answers"
    );
    let alt = |r: &Raw, active: u32, other: u32| {
        r.req("ALTERNATE_CALL_REQ")
            .i("ActiveConnectionCallID", active.into())
            .i("OtherConnectionCallID", other.into())
            .s("ActiveConnectionDeviceID", "5001")
            .s("OtherConnectionDeviceID", "5001")
    };
    let got = w.a.ok(alt(&w.a, c2, c1)).await;
    assert_eq!(names(&got), ["CALL_HELD_EVENT", "CALL_RETRIEVED_EVENT"]);
    assert_eq!(got[0].u32("ConnectionCallID"), Some(c2));
    assert_eq!(got[1].u32("ConnectionCallID"), Some(c1));
    let got = w.a.ok(alt(&w.a, c1, c2)).await;
    assert_eq!(names(&got), ["CALL_HELD_EVENT", "CALL_RETRIEVED_EVENT"]);
    let rec =
        w.a.req("RECONNECT_CALL_REQ")
            .i("ActiveConnectionCallID", c2.into())
            .i("HeldConnectionCallID", c1.into())
            .s("ActiveConnectionDeviceID", "5001")
            .s("HeldConnectionDeviceID", "5001");
    let got = w.a.ok(rec).await;
    assert_eq!(
        names(&got),
        [
            "CALL_CONNECTION_CLEARED_EVENT",
            "CALL_CLEARED_EVENT",
            "END_CALL_EVENT",
            "CALL_RETRIEVED_EVENT"
        ]
    );
    assert_eq!(got[2].u32("ConnectionCallID"), Some(c2));
    assert_eq!(got[3].u32("ConnectionCallID"), Some(c1));
    w.end().await;
}

async fn call_data_dtmf_snapshots(v: u32) {
    let mut w = world(v).await;
    let c1 = answered_call(&mut w).await;
    let mut set =
        w.a.req("SET_CALL_DATA_REQ")
            .i("ConnectionCallID", c1.into())
            .s("ConnectionDeviceID", "5001")
            .s("CallVariable3", "gold");
    set.add_named_var("user.case", "77").unwrap();
    // Needs the Call Data Update service, which the desktop lacks.
    let (_, r) = w.a.request(set.clone()).await;
    assert_eq!(
        r.u32("Status"),
        Some(status("E_CTI_FUNCTION_NOT_AVAILABLE"))
    );
    let got = w.bridge.ok(set).await;
    assert_eq!(names(&got), ["CALL_DATA_UPDATE_EVENT"]);
    assert_eq!(got[0].str("CallVariable3"), Some("gold"));
    assert_eq!(got[0].str("CallVariable1"), Some("acct-42"));
    assert_eq!(got[0].u32("NumNamedVariables"), Some(2));
    assert_eq!(names(&w.a.sync().await), ["CALL_DATA_UPDATE_EVENT"]);
    w.sim
        .update_call_data(
            c1,
            &SimCallData {
                call_variables: vec![None, Some("ivr".into())],
                ..SimCallData::default()
            },
        )
        .unwrap();
    let got = w.a.sync().await;
    assert_eq!(got[0].str("CallVariable2"), Some("ivr"));

    let dtmf =
        w.a.req("SEND_DTMF_SIGNAL_REQ")
            .i("ConnectionCallID", c1.into())
            .s("ConnectionDeviceID", "5001")
            .s("DTMFString", "12#");
    assert!(w.a.ok(dtmf).await.is_empty());
    let dtmf =
        w.a.req("SEND_DTMF_SIGNAL_REQ")
            .i("ConnectionCallID", c1.into())
            .s("DTMFString", "12x");
    let (_, r) = w.a.request(dtmf).await;
    assert_eq!(r.u32("Status"), Some(status("E_CTI_INVALID_DIGITS")));

    let snap =
        w.a.req("SNAPSHOT_CALL_REQ")
            .i("ConnectionCallID", c1.into());
    let (_, r) = w.a.request(snap).await;
    assert_eq!(r.name(), "SNAPSHOT_CALL_CONF");
    assert_eq!(r.u32("NumCallDevices"), Some(2));
    assert_eq!(r.str("CallVariable3"), Some("gold"));
    let devs: Vec<&str> = r
        .get_all("CallDeviceID")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(devs, ["5551234", "5001"]);
    let snap = w.a.req("SNAPSHOT_DEVICE_REQ").s("AgentInstrument", "5001");
    let (_, r) = w.a.request(snap).await;
    assert_eq!(r.name(), "SNAPSHOT_DEVICE_CONF");
    assert_eq!(r.u32("NumCalls"), Some(1));
    assert_eq!(r.u32("CallConnectionCallID"), Some(c1));
    assert_eq!(lcs_of(r.u32("CallState").unwrap()), "LCS_CONNECT");
    let snap = w.a.req("SNAPSHOT_CALL_REQ").i("ConnectionCallID", 42);
    let (_, r) = w.a.request(snap).await;
    assert_eq!(r.u32("Status"), Some(status("E_CTI_INVALID_CALLID")));

    let stats = w.a.req("QUERY_AGENT_STATISTICS_REQ");
    let (_, r) = w.a.request(stats).await;
    assert_eq!(r.u32("HandledCallsSession"), Some(1));
    w.end().await;
}

fn lcs_of(v: u32) -> &'static str {
    cce::cti::spec::table("LocalConnectionState Values")
        .and_then(|t| t.name_of(v))
        .unwrap()
}

async fn supervisor(v: u32) {
    let mut w = world(v).await;
    let o = Open::agent(v, "2001").services(svc(&[
        "CTI_SERVICE_CLIENT_EVENTS",
        "CTI_SERVICE_CLIENT_CONTROL",
        "CTI_SERVICE_SUPERVISOR",
    ]));
    let (mut s, _) = Raw::open(w.sim.local_addr(), &o).await;
    let mon = s.req("MONITOR_AGENT_TEAM_START_REQ").i("TeamID", 7);
    let (_, r) = s.request(mon).await;
    assert_eq!(r.name(), "MONITOR_AGENT_TEAM_START_CONF");
    let team_monitor = r.u32("MonitorID").unwrap();
    let got = s.sync().await;
    assert_eq!(names(&got), ["AGENT_TEAM_CONFIG_EVENT"]);
    assert_eq!(got[0].u32("NumberOfAgents"), Some(3));

    let c1 = answered_call(&mut w).await;
    // The team monitor reported A's state changes and call, tagged with its MonitorID.
    let got = s.sync().await;
    assert!(got.iter().any(|m| m.name() == "CALL_ESTABLISHED_EVENT"));
    assert!(got.iter().all(|m| m.u32("MonitorID") == Some(team_monitor)));

    let sup = |r: &Raw, action: i64| {
        r.req("SUPERVISE_CALL_REQ")
            .i("AgentConnectionCallID", NULL)
            .i("SupervisorConnectionCallID", NULL)
            .i("SupervisoryAction", action)
            .s("AgentID", "1001")
    };
    let (_, r) = s.request(sup(&s, 1)).await;
    assert_eq!(r.name(), "SUPERVISE_CALL_CONF");
    let m = r.u32("ConnectionCallID").unwrap();
    let got = s.sync().await;
    assert_eq!(
        names(&got),
        [
            "BEGIN_CALL_EVENT",
            "CALL_ESTABLISHED_EVENT",
            "AGENT_STATE_EVENT"
        ]
    );
    assert_eq!(got[0].u32("ConnectionCallID"), Some(m));
    assert_eq!(
        got[0].u32("CallType"),
        Some(k("CallType Values", "CALLTYPE_SUPERVISOR_MONITOR") as u32)
    );
    assert!(w.a.sync().await.is_empty(), "silent monitoring is silent");

    // Barge-in: the supervisor joins the agent's call.
    let (_, r) = s.request(sup(&s, 3)).await;
    assert_eq!(r.u32("ConnectionCallID"), Some(c1));
    let got = s.sync().await;
    assert_eq!(
        names(&got),
        // The team monitor already reported the agent's call: no BEGIN_CALL again.
        [
            "CALL_CLEARED_EVENT",
            "END_CALL_EVENT",
            "CALL_CONFERENCED_EVENT"
        ]
    );
    assert_eq!(
        got[2].u32("EventCause"),
        Some(k("EventCause Values", "CEC_SUPERVISOR_BARGE_IN") as u32)
    );
    assert_eq!(names(&w.a.sync().await), ["CALL_CONFERENCED_EVENT"]);

    // Intercept: the agent drops out.
    let (_, r) = s.request(sup(&s, 4)).await;
    assert_eq!(r.name(), "SUPERVISE_CALL_CONF");
    let got = w.a.sync().await;
    assert_eq!(
        names(&got),
        [
            "CALL_CONNECTION_CLEARED_EVENT",
            "END_CALL_EVENT",
            "AGENT_STATE_EVENT"
        ]
    );
    assert_eq!(
        got[0].u32("EventCause"),
        Some(k("EventCause Values", "CEC_SUPERVISOR_INTERCEPT") as u32)
    );
    // A supervisor action from a non-supervisor is refused.
    let (_, r) = w.b.request(sup(&w.b, 1)).await;
    assert_eq!(r.name(), "FAILURE_CONF");
    w.end().await;
}

async fn messages_emergency_and_system_events(v: u32) {
    let mut w = world(v).await;
    let (mut s, _) = Raw::open(w.sim.local_addr(), &Open::agent(v, "2001")).await;
    let msg =
        w.a.req("USER_MESSAGE_REQ")
            .i("Distribution", 1)
            .s("Text", "need help");
    assert!(w.a.ok(msg).await.is_empty());
    let got = s.sync().await;
    assert_eq!(names(&got), ["USER_MESSAGE_EVENT"]);
    assert_eq!(got[0].str("ClientID"), Some("desk-1001"));
    assert_eq!(got[0].str("Text"), Some("need help"));
    let msg =
        w.a.req("USER_MESSAGE_REQ")
            .i("Distribution", 2)
            .s("Text", "team");
    w.a.ok(msg).await;
    assert_eq!(names(&w.b.sync().await), ["USER_MESSAGE_EVENT"]);
    assert_eq!(names(&s.sync().await), ["USER_MESSAGE_EVENT"]);

    let c1 = answered_call(&mut w).await;
    let em =
        w.a.req("EMERGENCY_CALL_REQ")
            .i("ConnectionCallID", c1.into());
    let (_, r) = w.a.request(em).await;
    assert_eq!(r.name(), "EMERGENCY_CALL_CONF");
    let got = s.sync().await;
    assert_eq!(names(&got), ["EMERGENCY_CALL_EVENT"]);
    assert_eq!(got[0].str("AgentID"), Some("1001"));
    assert_eq!(got[0].u32("ConnectionCallID"), Some(c1));

    w.sim.set_peripheral_online(false);
    let got = w.bridge.sync().await;
    assert_eq!(
        names(&got),
        [
            "EMERGENCY_CALL_EVENT",
            "END_CALL_EVENT",
            "AGENT_STATE_EVENT",
            "SYSTEM_EVENT"
        ]
    );
    assert_eq!(
        got[3].u32("SystemEventID"),
        Some(k("SystemEventID Values", "SYS_PERIPHERAL_OFFLINE") as u32)
    );
    assert_eq!(names(&w.b.sync().await), ["SYSTEM_EVENT"]);
    w.sim.set_peripheral_online(true);
    let got = w.a.sync().await;
    assert_eq!(names(&got).last(), Some(&"SYSTEM_EVENT"));
    w.end().await;
}

async fn device_monitor(v: u32) {
    let w = world(v).await;
    let o = Open::bridge(v)
        .id("mon")
        .services(svc(&["CTI_SERVICE_PERIPHERAL_MONITOR"]));
    let (mut m, _) = Raw::open(w.sim.local_addr(), &o).await;
    assert!(
        m.sync().await.is_empty(),
        "no events before a monitor exists"
    );
    let start = m
        .req("MONITOR_START_REQ")
        .i("ConnectionCallID", 0)
        .i("ConnectionDeviceIDType", NULL & 0xFFFF)
        .k_dev()
        .s("MonitoredDeviceID", "5001")
        .i(
            "CallMsgMask",
            all_bits("Unsolicited Call Event Message Masks").into(),
        )
        .i("AgentStateMask", all_bits("Agent State Masks").into());
    let (_, r) = m.request(start).await;
    assert_eq!(r.name(), "MONITOR_START_CONF");
    let mid = r.u32("MonitorID").unwrap();
    w.sim
        .set_agent_state("1001", "AGENT_STATE_AVAILABLE", 0)
        .unwrap();
    w.sim
        .set_agent_state("1002", "AGENT_STATE_AVAILABLE", 0)
        .unwrap();
    w.sim
        .offer_call(&SimCall {
            agent_id: Some("1001".into()),
            ..call("5552222")
        })
        .unwrap();
    let got = m.sync().await;
    assert_eq!(
        names(&got),
        [
            "AGENT_STATE_EVENT",
            "AGENT_STATE_EVENT",
            "BEGIN_CALL_EVENT",
            "CALL_DELIVERED_EVENT"
        ]
    );
    assert!(got.iter().all(|e| e.u32("MonitorID") == Some(mid)));
    let stop = m.req("MONITOR_STOP_REQ").i("MonitorID", mid.into());
    m.ok(stop).await;
    w.sim
        .set_agent_state("1002", "AGENT_STATE_NOT_READY", 3)
        .unwrap();
    w.sim
        .set_agent_state("1001", "AGENT_STATE_NOT_READY", 3)
        .unwrap();
    assert!(m.sync().await.is_empty());
    let stop = m.req("MONITOR_STOP_REQ").i("MonitorID", mid.into());
    let (_, r) = m.request(stop).await;
    assert_eq!(r.u32("Status"), Some(status("E_CTI_INVALID_MONITORID")));
    w.end().await;
}

trait DevType {
    fn k_dev(self) -> Self;
}

impl DevType for Message {
    fn k_dev(self) -> Self {
        self.i(
            "MonitoredDeviceType",
            k("DeviceIDType Values", "DEVID_DEVICE_IDENTIFIER"),
        )
    }
}

async fn agent_states_login_logout(v: u32) {
    let mut w = world(v).await;
    let set = |r: &Raw, s: &str, reason: i64| {
        r.req("SET_AGENT_STATE_REQ")
            .i("AgentState", st(s).into())
            .i("EventReasonCode", reason)
    };
    let got = w.a.ok(set(&w.a, "AGENT_STATE_LOGOUT", 9)).await;
    assert_eq!(agent_state(&got[0]), st("AGENT_STATE_LOGOUT"));
    assert_eq!(got[0].u32("EventReasonCode"), Some(9));
    let (_, r) = w.a.request(set(&w.a, "AGENT_STATE_AVAILABLE", 0)).await;
    assert_eq!(r.u32("Status"), Some(status("E_CTI_AGENT_NOT_LOGGED_ON")));
    let mut login = set(&w.a, "AGENT_STATE_LOGIN", 0);
    login
        .push_floating("SkillGroupNumber", cce::cti::codec::Value::Int(20))
        .unwrap();
    let got = w.a.ok(login).await;
    assert_eq!(names(&got), ["AGENT_STATE_EVENT", "AGENT_STATE_EVENT"]);
    assert_eq!(agent_state(&got[0]), st("AGENT_STATE_LOGIN"));
    assert_eq!(agent_state(&got[1]), st("AGENT_STATE_NOT_READY"));
    assert_eq!(got[1].u32("SkillGroupNumber"), Some(20));
    let got = w.a.ok(set(&w.a, "AGENT_STATE_NOT_READY", 12)).await;
    assert_eq!(got[0].u32("EventReasonCode"), Some(12));
    for s in [
        "AGENT_STATE_WORK_READY",
        "AGENT_STATE_WORK_NOT_READY",
        "AGENT_STATE_AVAILABLE",
    ] {
        let got = w.a.ok(set(&w.a, s, 0)).await;
        assert_eq!(agent_state(&got[0]), st(s));
    }
    let (_, r) = w.a.request(set(&w.a, "AGENT_STATE_TALKING", 0)).await;
    assert_eq!(r.u32("Status"), Some(status("E_CTI_INVALID_OBJECT_STATE")));
    w.end().await;
}

macro_rules! at_v15_and_v24 {
    ($($f:ident),*) => {$(
        mod $f {
            #[tokio::test]
            async fn v15() { super::$f(15).await }
            #[tokio::test]
            async fn v24() { super::$f(24).await }
        }
    )*};
}

at_v15_and_v24!(
    inbound_routed,
    inbound_queued,
    outbound_hold_retrieve,
    consult_transfer,
    consult_conference,
    single_step_transfer_and_deflect,
    alternate_and_reconnect,
    call_data_dtmf_snapshots,
    supervisor,
    messages_emergency_and_system_events,
    device_monitor,
    agent_states_login_logout
);
