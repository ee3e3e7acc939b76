//! Duplex operations: killing and restarting a side, switching the active side, and the
//! v24+ maintenance handshake (ACTIVE_MAINTENANCE_REQ/RESP/EVENT,
//! STANDBY_ACTIVE_EVENT, STOPPING_REQUESTS_TO_THIS_SIDE_IND).

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::consts::{status, svc};
use super::handlers::{maintenance_event, maintenance_req};
use super::server::{self, lock, Maint};
use super::{CtiSimulator, Side, SideState, SimError};

/// How a maintenance handshake ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MaintenanceOutcome {
    /// Whether the side went into maintenance (every asked client accepted).
    pub accepted: bool,
    /// ClientIDs that accepted.
    pub accepted_by: Vec<String>,
    /// ClientIDs that rejected.
    pub rejected_by: Vec<String>,
    /// ClientIDs that did not answer in time (a rejection).
    pub no_answer: Vec<String>,
    /// Sessions that sent STOPPING_REQUESTS_TO_THIS_SIDE_IND and were closed.
    pub stopped: usize,
    /// Sessions closed with FAILURE_EVENT E_CTI_SERVER_IN_MAINTENANCE_MODE.
    pub forced: usize,
}

impl CtiSimulator {
    /// Kills a side: its listener and every connection close (the clients see the TCP
    /// connection drop). When it was active and the other side is up, the other side
    /// becomes active (its standby sessions get STANDBY_ACTIVE_EVENT and the calls in
    /// progress).
    pub fn kill_side(&self, side: Side) {
        let mut sh = lock(&self.engine);
        let was_active = sh.side(side).state == SideState::Active;
        server::stop_side(&mut sh, side);
        if was_active && sh.side(side.other()).state == SideState::Standby {
            sh.promote(side.other());
        }
    }

    /// Restarts a killed side on the port it had (a side that never ran on the
    /// configured address), once the old listener has let go of it. It comes back as
    /// standby when the other side is active, else active. Returns its address.
    pub async fn restart_side(&self, side: Side) -> Result<SocketAddr, SimError> {
        let dying = lock(&self.engine).side_mut(side).dying.take();
        if let Some(t) = dying {
            let _ = t.await;
        }
        let addr = {
            let sh = lock(&self.engine);
            if sh.stopped {
                return Err(SimError::Stopped);
            }
            if sh.side(side).state != SideState::Down {
                return Err(SimError::Invalid(format!("side {side:?} is running")));
            }
            match (side, sh.side(side).addr) {
                (_, Some(a)) => a,
                (Side::A, None) => sh.cfg.bind,
                (Side::B, None) => sh
                    .cfg
                    .bind_b
                    .ok_or_else(|| SimError::Invalid("no side B configured (bind_b)".into()))?,
            }
        };
        let local = server::start_side(&self.engine, side, addr)?;
        let mut sh = lock(&self.engine);
        sh.side_mut(side).state = if sh.side(side.other()).state == SideState::Active {
            SideState::Standby
        } else {
            SideState::Active
        };
        Ok(local)
    }

    /// Makes `side` active and the other side standby. The other side's standby-capable
    /// (v24+ ACTIVE_STANDBY) sessions become standby sessions; its other sessions get
    /// FAILURE_EVENT E_CTI_CTI_SERVER_OFFLINE and are closed, unless that side stopped
    /// answering heartbeats (a hung server), in which case they are left hanging.
    pub fn switch_active(&self, side: Side) -> Result<(), SimError> {
        let mut sh = lock(&self.engine);
        if matches!(
            sh.side(side).state,
            SideState::Down | SideState::Maintenance
        ) {
            return Err(SimError::Invalid(format!("side {side:?} is not running")));
        }
        if sh.side(side).state == SideState::Active {
            return Ok(());
        }
        let old = side.other();
        let hung = !sh.side(old).answer_heartbeats;
        if sh.side(old).state == SideState::Active {
            sh.side_mut(old).state = SideState::Standby;
        }
        let ids: Vec<(u64, bool)> = sh
            .conns
            .iter()
            .filter(|(_, c)| c.side == old)
            .filter_map(|(id, c)| {
                c.session
                    .as_ref()
                    .map(|s| (*id, s.version >= 24 && s.has("CTI_SERVICE_ACTIVE_STANDBY")))
            })
            .collect();
        for (id, capable) in ids {
            if capable {
                if let Some(s) = sh.conns.get_mut(&id).and_then(|c| c.session.as_mut()) {
                    s.standby = true;
                    s.seen.clear();
                }
            } else if !hung {
                sh.fail_conn(id, "E_CTI_CTI_SERVER_OFFLINE");
            }
        }
        sh.promote(side);
        Ok(())
    }

    /// Runs the maintenance handshake on the active `side`: ACTIVE_MAINTENANCE_REQ to
    /// its ACTIVE_STANDBY sessions, up to `maintenance_timeout_ms` for their
    /// ACTIVE_MAINTENANCE_RESP, then ACTIVE_MAINTENANCE_EVENT (continue only if all
    /// accepted). On continue the other side becomes active (STANDBY_ACTIVE_EVENT), the
    /// side's other sessions get FAILURE_EVENT E_CTI_SERVER_IN_MAINTENANCE_MODE, and
    /// sessions that send STOPPING_REQUESTS_TO_THIS_SIDE_IND are closed; the rest are
    /// closed when the timeout passes again. The side stays in maintenance until
    /// [`CtiSimulator::end_maintenance`].
    pub async fn maintenance(&self, side: Side) -> Result<MaintenanceOutcome, SimError> {
        let (asked, timeout, notify) = {
            let mut sh = lock(&self.engine);
            if sh.side(side).state != SideState::Active {
                return Err(SimError::Invalid(format!("side {side:?} is not active")));
            }
            let invoke = sh.next_id();
            let ids: Vec<u64> = sh
                .conns
                .iter()
                .filter(|(_, c)| c.side == side)
                .filter(|(_, c)| {
                    c.session.as_ref().is_some_and(|s| {
                        !s.standby
                            && s.version >= 24
                            && s.services & svc("CTI_SERVICE_ACTIVE_STANDBY") != 0
                    })
                })
                .map(|(id, _)| *id)
                .collect();
            for id in &ids {
                if let Some(s) = sh.conns.get_mut(id).and_then(|c| c.session.as_mut()) {
                    s.maint = Some(Maint::Asked(invoke));
                }
                sh.send_ev(*id, &maintenance_req(invoke));
            }
            (
                ids,
                Duration::from_millis(sh.cfg.maintenance_timeout_ms),
                sh.notify.clone(),
            )
        };
        let deadline = Instant::now() + timeout;
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let pending = {
                let sh = lock(&self.engine);
                asked.iter().any(|id| {
                    sh.conns
                        .get(id)
                        .and_then(|c| c.session.as_ref())
                        .is_some_and(|s| matches!(s.maint, Some(Maint::Asked(_))))
                })
            };
            if !pending || tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
        let mut out = MaintenanceOutcome::default();
        let go = {
            let mut sh = lock(&self.engine);
            for id in &asked {
                let Some(s) = sh.conns.get_mut(id).and_then(|c| c.session.as_mut()) else {
                    continue;
                };
                let who = s.client_id.clone();
                match s.maint.take() {
                    Some(Maint::Answered(true)) => out.accepted_by.push(who),
                    Some(Maint::Answered(false)) => out.rejected_by.push(who),
                    _ => out.no_answer.push(who),
                }
            }
            let go = out.rejected_by.is_empty() && out.no_answer.is_empty();
            for id in &asked {
                sh.send_ev(*id, &maintenance_event(go));
            }
            if go {
                sh.side_mut(side).state = SideState::Maintenance;
                let others: Vec<u64> = sh
                    .conns
                    .iter()
                    .filter(|(id, c)| c.side == side && !asked.contains(id))
                    .map(|(id, _)| *id)
                    .collect();
                for id in others {
                    out.forced +=
                        usize::from(sh.conns.get(&id).is_some_and(|c| c.session.is_some()));
                    sh.fail_conn(id, "E_CTI_SERVER_IN_MAINTENANCE_MODE");
                }
                if sh.side(side.other()).state == SideState::Standby {
                    sh.promote(side.other());
                }
            }
            go
        };
        out.accepted = go;
        if !go {
            return Ok(out);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let open = {
                let sh = lock(&self.engine);
                asked
                    .iter()
                    .filter(|id| sh.conns.get(id).is_some_and(|c| c.session.is_some()))
                    .count()
            };
            if open == 0 || tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
        let mut sh = lock(&self.engine);
        for id in &asked {
            if sh.conns.get(id).is_some_and(|c| c.session.is_some()) {
                out.forced += 1;
                sh.fail_conn(*id, "E_CTI_SERVER_IN_MAINTENANCE_MODE");
            } else {
                out.stopped += 1;
            }
        }
        let _ = status("E_CTI_SERVER_IN_MAINTENANCE_MODE");
        Ok(out)
    }

    /// Ends a side's maintenance: it becomes standby (active when the other side is not).
    pub fn end_maintenance(&self, side: Side) -> Result<(), SimError> {
        let mut sh = lock(&self.engine);
        if sh.side(side).state != SideState::Maintenance {
            return Err(SimError::Invalid(format!(
                "side {side:?} is not in maintenance"
            )));
        }
        sh.side_mut(side).state = if sh.side(side.other()).state == SideState::Active {
            SideState::Standby
        } else {
            SideState::Active
        };
        Ok(())
    }
}
