//! FAILOVER (Redis's coordinated switch-over, replication.c's `failoverCommand`): the
//! master pauses writes, waits until a replica has acknowledged its whole stream, then
//! becomes a replica of it with `PSYNC <id> <offset> FAILOVER`, which makes the target
//! promote itself and continue the old master with a partial resync.

use std::time::{Duration, Instant};

use super::ReplicaState;
use crate::command::{is, CmdError, CmdResult, Ctx};
use crate::resp::Args;
use crate::state::Server;

/// The state of a FAILOVER (INFO's `master_failover_state`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failover {
    None,
    /// Writes are paused until a replica (the target, if given) acknowledges everything.
    WaitForSync {
        target: Option<(String, u16)>,
        deadline: Option<Instant>,
        force: bool,
    },
    /// We are becoming the target's replica (our PSYNC carries FAILOVER).
    InProgress,
}

impl Failover {
    /// INFO's name for the state.
    pub fn name(&self) -> &'static str {
        match self {
            Failover::None => "no-failover",
            Failover::WaitForSync { .. } => "waiting-for-sync",
            Failover::InProgress => "failover-in-progress",
        }
    }

    /// Whether writes are held while a replica catches up.
    pub fn is_waiting(&self) -> bool {
        matches!(self, Failover::WaitForSync { .. })
    }
}

/// Whether a failover is under way (SYNC, PSYNC and REPLICAOF are refused meanwhile).
pub fn active(server: &Server) -> bool {
    server.repl.lock().failover != Failover::None
}

/// Whether our next PSYNC must carry FAILOVER.
pub fn in_progress(server: &Server) -> bool {
    server.repl.lock().failover == Failover::InProgress
}

/// ```text
/// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]
/// ```
pub fn failover(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let server = ctx.server;
    if args.len() == 2 && is(&args[1], "abort") {
        if !active(server) {
            return Err(CmdError::err("No failover in progress."));
        }
        abort(server, "Failover manually aborted");
        ctx.out.ok();
        return Ok(());
    }
    let (mut timeout, mut force, mut target) = (0i64, false, None::<(String, i64)>);
    let mut j = 1;
    while j < args.len() {
        if is(&args[j], "timeout") && j + 1 < args.len() && timeout == 0 {
            timeout = crate::util::num::parse_i64(&args[j + 1]).ok_or(CmdError::NotInteger)?;
            if timeout <= 0 {
                return Err(CmdError::err("FAILOVER timeout must be greater than 0"));
            }
            j += 2;
        } else if is(&args[j], "to") && j + 2 < args.len() && target.is_none() {
            let port = crate::util::num::parse_i64(&args[j + 2]).ok_or(CmdError::NotInteger)?;
            target = Some((String::from_utf8_lossy(&args[j + 1]).into_owned(), port));
            j += 3;
        } else if is(&args[j], "force") && !force {
            force = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut st = server.repl.lock();
    if st.failover != Failover::None {
        return Err(CmdError::err("FAILOVER already in progress."));
    }
    if st.master.is_some() {
        return Err(CmdError::err(
            "FAILOVER is not valid when server is a replica.",
        ));
    }
    if st.replicas.is_empty() {
        return Err(CmdError::err("FAILOVER requires connected replicas."));
    }
    if force && (timeout == 0 || target.is_none()) {
        return Err(CmdError::err(
            "FAILOVER with force option requires both a timeout and target HOST and IP.",
        ));
    }
    let target = match target {
        Some((host, port)) => {
            let Some(r) = st
                .replicas
                .iter()
                .find(|r| r.ip.eq_ignore_ascii_case(&host) && i64::from(r.port) == port)
            else {
                return Err(CmdError::err(
                    "FAILOVER target HOST and PORT is not a replica.",
                ));
            };
            if r.state != ReplicaState::Online {
                return Err(CmdError::err("FAILOVER target replica is not online."));
            }
            server
                .log
                .notice(&format!("FAILOVER requested to {host}:{port}."));
            Some((host, port as u16))
        }
        None => {
            server.log.notice("FAILOVER requested to any replica.");
            None
        }
    };
    st.failover = Failover::WaitForSync {
        target,
        deadline: (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64)),
        force,
    };
    drop(st);
    // Until the switch is done (or aborted): writes wait, as CLIENT PAUSE WRITE.
    server.pause.start(
        crate::pause::Kind::Write,
        Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600),
    );
    ctx.out.ok();
    Ok(())
}

/// Ends a failover: back to a master if we had started following the target; writes
/// resume.
pub fn abort(server: &Server, why: &str) {
    let mut st = server.repl.lock();
    let was = std::mem::replace(&mut st.failover, Failover::None);
    let target = match &was {
        Failover::WaitForSync {
            target: Some((h, p)),
            ..
        } => format!("{h}:{p}"),
        _ => match &st.master {
            Some(m) => format!("{}:{}", m.host, m.port),
            None => "any replica".to_string(),
        },
    };
    drop(st);
    if was == Failover::None {
        return;
    }
    server
        .log
        .notice(&format!("FAILOVER to {target} aborted: {why}"));
    if was == Failover::InProgress {
        super::replica::unset_master(server);
    }
    server.pause.stop();
}

/// The switch is done: the target took our PSYNC.
pub fn finished(server: &Server) {
    server.repl.lock().failover = Failover::None;
    server.pause.stop();
}

/// The cron's part (Redis's `updateFailoverStatus`): a timeout aborts (or, with FORCE,
/// fails over anyway); a replica that acknowledged the whole stream becomes our master.
pub fn cron(server: &Server) {
    let mut st = server.repl.lock();
    let Failover::WaitForSync {
        target,
        deadline,
        force,
    } = st.failover.clone()
    else {
        return;
    };
    if deadline.is_some_and(|d| Instant::now() >= d) {
        if force {
            let (host, port) = target.expect("FORCE comes with a target");
            server.log.notice(&format!(
                "FAILOVER to {host}:{port} time out exceeded, failing over."
            ));
            st.failover = Failover::InProgress;
            drop(st);
            super::replica::set_master(server, host, port);
        } else {
            drop(st);
            abort(server, "Replica never caught up before timeout");
        }
        return;
    }
    let offset = st.offset;
    let synced = st.replicas.iter().find(|r| {
        r.state == ReplicaState::Online
            && r.ack_off == offset
            && target
                .as_ref()
                .is_none_or(|(h, p)| r.ip.eq_ignore_ascii_case(h) && r.port == *p)
    });
    let Some(r) = synced else {
        return;
    };
    let (host, port) = (r.ip.clone(), r.port);
    st.failover = Failover::InProgress;
    drop(st);
    server.log.notice(&format!(
        "Failover target {host}:{port} is synced, failing over."
    ));
    super::replica::set_master(server, host, port);
}
