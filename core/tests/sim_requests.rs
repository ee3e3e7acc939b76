//! Every client request of the catalogue gets an answer carrying its InvokeID: the
//! documented confirmation, or FAILURE_CONF / CONTROL_FAILURE_CONF; services, masks
//! and IGNORE_CONF are honoured.

mod sim_common;

use bytes::Bytes;
use cce::cti::codec::Message;
use cce::cti::spec::{self, Direction};
use cce::sim::cti::{CtiSimulator, SimAgent, SimConfig};
use sim_common::*;

fn config() -> SimConfig {
    let mut sup = SimAgent::new("2001", "6001");
    sup.supervisor = true;
    sup.team_id = Some(7);
    let mut a = SimAgent::new("1001", "5001");
    a.team_id = Some(7);
    a.skill_groups = vec![10];
    SimConfig {
        agents: vec![a, sup],
        ..SimConfig::default()
    }
}

async fn every_request_is_answered(version: u32) {
    let sim = CtiSimulator::start(config()).await.unwrap();
    let (mut bridge, _) = Raw::open(sim.local_addr(), &Open::bridge(version)).await;
    bridge.sync().await;
    let mut answered = 0;
    for m in spec::MESSAGES {
        if m.direction != Direction::ToServer && m.direction != Direction::Both {
            continue;
        }
        if matches!(
            m.name,
            "OPEN_REQ" | "CLOSE_REQ" | "STOPPING_REQUESTS_TO_THIS_SIDE_IND"
        ) || m.since > version
            || m.name.starts_with("CONFIG_REQUEST")
            || !(m.name.ends_with("_REQ") || m.name.ends_with("_REQ_MSG"))
            || m.name.contains("_CONF")
        {
            continue;
        }
        let msg = if m.documented {
            filled(m.name, version)
        } else {
            // An undocumented request: just an InvokeID.
            Message::raw(m, Bytes::from_static(&[0, 0, 0x30, 0x39]))
        };
        let id = bridge.send(msg).await;
        let id = if m.documented { id } else { 12345 };
        let reply = loop {
            let r = bridge.recv().await;
            if r.invoke_id() == Some(id) && r.spec().direction != Direction::ToServer {
                break r;
            }
        };
        let conf = m.name.replacen("_REQ", "_CONF", 1);
        assert!(
            [conf.as_str(), "FAILURE_CONF", "CONTROL_FAILURE_CONF"].contains(&reply.name()),
            "{} answered with {}",
            m.name,
            reply.name()
        );
        if !m.documented {
            assert_eq!(reply.name(), "FAILURE_CONF", "{}", m.name);
            assert_eq!(
                reply.u32("Status"),
                Some(status("E_CTI_FUNCTION_NOT_AVAILABLE"))
            );
        }
        answered += 1;
    }
    assert!(answered >= 55, "only {answered} requests tried");
    // The session still works after all of that.
    bridge.sync().await;
    assert_eq!(sim.encode_errors(), 0);
    sim.stop().await;
}

#[tokio::test]
async fn every_request_is_answered_v15() {
    every_request_is_answered(15).await;
}

#[tokio::test]
async fn every_request_is_answered_v24() {
    every_request_is_answered(24).await;
}

/// Requests that need no call get their real confirmation, with plausible fields.
async fn plain_confirmations(version: u32) {
    let sim = CtiSimulator::start(config()).await.unwrap();
    let (mut b, _) = Raw::open(sim.local_addr(), &Open::bridge(version)).await;
    b.sync().await;
    for name in [
        "CLIENT_EVENT_REPORT_REQ",
        "REGISTER_VARIABLES_REQ",
        "SET_APP_DATA_REQ",
        "AGENT_DESK_SETTINGS_REQ",
        "SET_DEVICE_ATTRIBUTES_REQ",
        "LIST_AGENT_TEAM_REQ",
    ] {
        let (_, r) = b.request(b.req(name)).await;
        assert_eq!(r.name(), name.replace("_REQ", "_CONF"), "{r:?}");
    }
    let (_, r) = b.request(b.req("LIST_AGENT_TEAM_REQ")).await;
    assert_eq!(r.u32("NumberOfAgentTeams"), Some(1));
    assert_eq!(r.u32("TeamID"), Some(7));

    let (_, r) = b.request(b.req("REGISTER_SERVICE_REQ")).await;
    let svc_id = r.u32("RegisteredServiceID").unwrap();
    let (_, r) = b
        .request(
            b.req("UNREGISTER_SERVICE_REQ")
                .i("RegisteredServiceID", svc_id.into()),
        )
        .await;
    assert_eq!(r.name(), "UNREGISTER_SERVICE_CONF");
    let (_, r) = b
        .request(
            b.req("UNREGISTER_SERVICE_REQ")
                .i("RegisteredServiceID", svc_id.into()),
        )
        .await;
    assert_eq!(r.u32("Status"), Some(status("E_CTI_INVALID_SERVICE")));

    let q = b.req("QUERY_AGENT_STATE_REQ").s("AgentID", "1001");
    let (_, r) = b.request(q).await;
    assert_eq!(r.name(), "QUERY_AGENT_STATE_CONF");
    assert_eq!(r.u32("AgentState"), Some(st("AGENT_STATE_NOT_READY")));
    assert_eq!(r.u32("NumSkillGroups"), Some(1));
    assert_eq!(r.u32("SkillGroupNumber"), Some(10));

    let q = b.req("QUERY_DEVICE_INFO_REQ").s("AgentInstrument", "5001");
    let (_, r) = b.request(q).await;
    assert_eq!(r.name(), "QUERY_DEVICE_INFO_CONF");
    assert_eq!(r.u32("NumLines"), Some(2));
    let q = b.req("QUERY_DEVICE_INFO_REQ").s("AgentInstrument", "9999");
    let (_, r) = b.request(q).await;
    assert_eq!(r.u32("Status"), Some(status("E_CTI_INVALID_DEVICE")));

    let q = b.req("QUERY_AGENT_STATISTICS_REQ").s("AgentID", "1001");
    let (_, r) = b.request(q).await;
    assert_eq!(r.name(), "QUERY_AGENT_STATISTICS_CONF");
    assert_eq!(r.str("AgentID"), Some("1001"));
    let q = b
        .req("QUERY_SKILL_GROUP_STATISTICS_REQ")
        .i("SkillGroupNumber", 10)
        .i("SkillGroupID", 0xFFFF_FFFF);
    let (_, r) = b.request(q).await;
    assert_eq!(r.name(), "QUERY_SKILL_GROUP_STATISTICS_CONF");
    assert_eq!(r.u32("AgentsLoggedOn"), Some(1));
    assert_eq!(r.u32("AgentsNotReady"), Some(1));

    if version < 19 {
        sim.stop().await;
        return;
    }
    // Configuration acquisition (v19+): key, then BEGIN ... END.
    b.send(b.req("CONFIG_REQUEST_KEY_EVENT")).await;
    assert_eq!(b.recv().await.name(), "CONFIG_KEY_EVENT");
    b.send(b.req("CONFIG_REQUEST_EVENT")).await;
    let got = b.until("CONFIG_END_EVENT").await;
    assert_eq!(
        names(&got),
        [
            "CONFIG_BEGIN_EVENT",
            "CONFIG_SKILL_GROUP_EVENT",
            "CONFIG_AGENT_EVENT",
            "CONFIG_END_EVENT"
        ]
    );
    assert_eq!(got[2].u32("NumRecords"), Some(2));
    assert_eq!(sim.encode_errors(), 0);
    sim.stop().await;
}

#[tokio::test]
async fn plain_confirmations_v15() {
    plain_confirmations(15).await;
}

#[tokio::test]
async fn plain_confirmations_v24() {
    plain_confirmations(24).await;
}

#[tokio::test]
async fn services_are_enforced_and_ignore_conf_is_honoured() {
    let sim = CtiSimulator::start(config()).await.unwrap();
    // Client Events only: no call control.
    let o = Open::agent(24, "1001").services(svc(&["CTI_SERVICE_CLIENT_EVENTS"]));
    let (mut a, conf) = Raw::open(sim.local_addr(), &o).await;
    assert_eq!(
        conf.u32("ServicesGranted"),
        Some(svc(&["CTI_SERVICE_CLIENT_EVENTS"]))
    );
    let set = a
        .req("SET_AGENT_STATE_REQ")
        .i("AgentState", st("AGENT_STATE_AVAILABLE").into());
    let (_, r) = a.request(set).await;
    assert_eq!(
        r.u32("Status"),
        Some(status("E_CTI_FUNCTION_NOT_AVAILABLE"))
    );
    drop(a);

    // IGNORE_CONF: the state change happens, its confirmation is not sent.
    let o = Open::agent(24, "1001").id("ignore").services(svc(&[
        "CTI_SERVICE_CLIENT_EVENTS",
        "CTI_SERVICE_CLIENT_CONTROL",
        "CTI_SERVICE_IGNORE_CONF",
    ]));
    let (mut a, _) = Raw::open(sim.local_addr(), &o).await;
    a.sync().await;
    let set = a
        .req("SET_AGENT_STATE_REQ")
        .i("AgentState", st("AGENT_STATE_AVAILABLE").into());
    a.send(set).await;
    let got = a.sync().await;
    assert_eq!(names(&got), ["AGENT_STATE_EVENT"]);
    assert_eq!(
        sim.agent_state("1001"),
        Some(st("AGENT_STATE_AVAILABLE") as u16)
    );
    sim.stop().await;
}

#[tokio::test]
async fn agent_state_mask_and_duplicate_suppression() {
    let sim = CtiSimulator::start(config()).await.unwrap();
    // A bridge that only wants AVAILABLE agent states and suppresses duplicates.
    let mut o = Open::bridge(24).services(svc(&[
        "CTI_SERVICE_ALL_EVENTS",
        "CTI_SERVICE_IGNORE_DUPLICATE_AGENT_EVENTS",
    ]));
    o.agent_mask = u32::try_from(k("Agent State Masks", "AGENT_AVAILABLE_MASK")).unwrap();
    let (mut b, _) = Raw::open(sim.local_addr(), &o).await;
    assert_eq!(b.recv().await.name(), "SYSTEM_EVENT");
    for s in [
        "AGENT_STATE_AVAILABLE",
        "AGENT_STATE_AVAILABLE",
        "AGENT_STATE_NOT_READY",
        "AGENT_STATE_AVAILABLE",
    ] {
        sim.set_agent_state("1001", s, 0).unwrap();
    }
    let got = b.sync().await;
    // The second AVAILABLE is a duplicate; NOT_READY is masked out.
    assert_eq!(names(&got), ["AGENT_STATE_EVENT", "AGENT_STATE_EVENT"]);
    assert!(got
        .iter()
        .all(|m| m.u32("AgentState") == Some(st("AGENT_STATE_AVAILABLE"))));
    sim.stop().await;
}

#[tokio::test]
async fn client_events_sessions_get_only_their_agent() {
    let sim = CtiSimulator::start(config()).await.unwrap();
    let (mut a, _) = Raw::open(sim.local_addr(), &Open::agent(24, "1001")).await;
    let (mut s, _) = Raw::open(sim.local_addr(), &Open::agent(24, "2001")).await;
    sim.set_agent_state("2001", "AGENT_STATE_AVAILABLE", 0)
        .unwrap();
    assert!(a.sync().await.is_empty());
    assert_eq!(names(&s.sync().await), ["AGENT_STATE_EVENT"]);
    // A second desktop for the same agent by another client is refused; the same
    // client replaces its old session.
    let (_, refused) = Raw::open_any(sim.local_addr(), &Open::agent(24, "1001").id("other")).await;
    assert_eq!(refused.u32("Status"), Some(status("E_CTI_DEVICE_IN_USE")));
    let (mut again, _) = Raw::open(sim.local_addr(), &Open::agent(24, "1001")).await;
    let old = a.recv().await;
    assert_eq!(old.name(), "FAILURE_EVENT");
    assert_eq!(old.u32("Status"), Some(status("E_CTI_NEW_SESSION_OPENED")));
    assert!(a.recv_or_closed().await.is_none());
    again.sync().await;
    sim.stop().await;
}

#[tokio::test]
async fn a_single_protocol_version_can_be_required() {
    let sim = CtiSimulator::start(SimConfig {
        protocol_version: Some(20),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let (_, r) = Raw::open_any(sim.local_addr(), &Open::agent(24, "1001")).await;
    assert_eq!(r.u32("Status"), Some(status("E_CTI_INVALID_VERSION")));
    let (mut s, conf) = Raw::open(sim.local_addr(), &Open::agent(20, "1001")).await;
    assert_eq!(conf.u32("SessionType"), None);
    s.sync().await;
    sim.stop().await;
}
