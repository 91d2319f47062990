//! CLIENT PAUSE (Redis's `pauseClients`): until a deadline, either every command or
//! only those that may write (`WRITE`) waits before it runs. A paused server also stops
//! expiring keys, so that a paused dataset stays as it is (a failover tool pauses
//! writes, waits for a replica to catch up, then promotes it).
//!
//! The check on every command is one atomic load; the lock and the condition variable
//! are only touched while a pause is on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// What a pause holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Commands that may write or propagate (`WRITE`).
    Write,
    /// Every command (`ALL`, the default).
    All,
}

#[derive(Debug, Default)]
struct State {
    /// The kind and the deadline of the pause in force.
    pause: Option<(Kind, Instant)>,
}

/// The server's pause.
#[derive(Debug, Default)]
pub struct Pause {
    /// Whether a pause may be in force (false once it is known to be over).
    on: AtomicBool,
    state: Mutex<State>,
    ended: Condvar,
}

impl Pause {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// CLIENT PAUSE: pauses `kind` until `until`. A pause already in force keeps the
    /// stricter kind and the later deadline, as Redis merges them.
    pub fn start(&self, kind: Kind, until: Instant) {
        let mut state = self.state();
        let merged = match state.pause {
            Some((k, end)) => (k.max(kind), end.max(until)),
            None => (kind, until),
        };
        state.pause = Some(merged);
        self.on.store(true, Ordering::Release);
    }

    /// CLIENT UNPAUSE: ends the pause and wakes whoever waits on it.
    pub fn stop(&self) {
        let mut state = self.state();
        state.pause = None;
        self.on.store(false, Ordering::Release);
        self.ended.notify_all();
    }

    /// The pause in force now, if any (an elapsed one ends here).
    pub fn current(&self) -> Option<Kind> {
        if !self.on.load(Ordering::Acquire) {
            return None;
        }
        let mut state = self.state();
        match state.pause {
            Some((kind, end)) if Instant::now() < end => Some(kind),
            _ => {
                state.pause = None;
                self.on.store(false, Ordering::Release);
                self.ended.notify_all();
                None
            }
        }
    }

    /// Whether a pause may be in force (one atomic load, for the per-command check).
    pub fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    /// Whether the pause in force holds back a command (`writes`: one that may write).
    pub fn holds(&self, writes: bool) -> bool {
        match self.current() {
            Some(Kind::All) => true,
            Some(Kind::Write) => writes,
            None => false,
        }
    }

    /// Whether keys must not expire now (any pause is in force).
    pub fn holds_expiry(&self) -> bool {
        self.current().is_some()
    }

    /// Waits while a pause that holds back a command (`writes`: one that may write)
    /// is in force. Returns at once when none is.
    pub fn wait(&self, writes: bool) {
        if !self.on.load(Ordering::Acquire) {
            return;
        }
        let mut state = self.state();
        loop {
            let Some((kind, end)) = state.pause else {
                return;
            };
            let now = Instant::now();
            if now >= end {
                state.pause = None;
                self.on.store(false, Ordering::Release);
                self.ended.notify_all();
                return;
            }
            if kind == Kind::Write && !writes {
                return;
            }
            // Woken by UNPAUSE or a new pause; otherwise at the deadline.
            let (guard, _) = self
                .ended
                .wait_timeout(state, (end - now).max(Duration::from_millis(1)))
                .unwrap_or_else(|e| e.into_inner());
            state = guard;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn write_pauses_hold_writes_only_and_unpause_wakes_them() {
        let pause = Arc::new(Pause::default());
        pause.start(Kind::Write, Instant::now() + Duration::from_secs(30));
        pause.wait(false); // a read goes through at once
        let waiter = {
            let pause = Arc::clone(&pause);
            std::thread::spawn(move || pause.wait(true))
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(!waiter.is_finished(), "a write waits");
        pause.stop();
        waiter.join().unwrap();
        assert_eq!(pause.current(), None);
    }

    #[test]
    fn pauses_merge_and_end_at_their_deadline() {
        let pause = Pause::default();
        pause.start(Kind::All, Instant::now() + Duration::from_millis(20));
        pause.start(Kind::Write, Instant::now() + Duration::from_millis(40));
        assert_eq!(pause.current(), Some(Kind::All), "the stricter kind stays");
        pause.wait(false); // returns at the later deadline
        assert_eq!(pause.current(), None);
        assert!(!pause.holds_expiry());
    }
}
