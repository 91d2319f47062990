//! An elastic pool of std threads.
//!
//! A Redis client holds its connection open, so the job that serves it keeps a worker
//! for as long as the client stays. The pool therefore grows whenever every worker is
//! busy (up to a maximum the server sets from `maxclients`), so client 51 never waits
//! for client 1 to leave; and workers idle for longer than a timeout retire, so a burst
//! of clients does not leave thousands of threads behind. This is tiny_http's design: a
//! `Mutex<VecDeque>` of jobs, a `Condvar`, and counts kept right by a guard when a
//! worker exits, even by a panic.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::Duration;

/// A unit of work: here, serving one connection.
pub type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    /// Workers waiting for a job.
    idle: usize,
    /// Workers alive.
    workers: usize,
}

struct Shared {
    state: Mutex<State>,
    cv: Condvar,
    max_workers: usize,
    idle_timeout: Duration,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pool.
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

impl Pool {
    /// A pool that grows to `max_workers` threads; idle ones retire after `idle_timeout`.
    pub fn new(max_workers: usize, idle_timeout: Duration) -> Pool {
        Pool {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                cv: Condvar::new(),
                max_workers: max_workers.max(1),
                idle_timeout,
            }),
        }
    }

    /// Runs `job` on a worker: an idle one if there is one, else a new one.
    ///
    /// Past `max_workers` the job waits for a worker to come free; the server keeps the
    /// number of jobs at or below the maximum, so that never happens for connections.
    pub fn execute(&self, job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
        let mut state = self.shared.lock();
        state.queue.push_back(Box::new(job));
        if state.idle >= state.queue.len() {
            drop(state);
            self.shared.cv.notify_one();
            return Ok(());
        }
        if state.workers < self.shared.max_workers {
            state.workers += 1;
            drop(state);
            let shared = Arc::clone(&self.shared);
            let spawned = thread::Builder::new()
                .name("redlite-worker".into())
                .spawn(move || worker(shared));
            if let Err(e) = spawned {
                self.shared.lock().workers -= 1;
                return Err(e);
            }
        }
        Ok(())
    }

    /// (workers alive, workers idle).
    pub fn counts(&self) -> (usize, usize) {
        let state = self.shared.lock();
        (state.workers, state.idle)
    }
}

/// Keeps `workers` right however a worker exits.
struct Sentinel(Arc<Shared>);

impl Drop for Sentinel {
    fn drop(&mut self) {
        self.0.lock().workers -= 1;
    }
}

fn worker(shared: Arc<Shared>) {
    let _sentinel = Sentinel(Arc::clone(&shared));
    loop {
        // Take the job with the lock held, then release it before running the job.
        let job = {
            let mut state = shared.lock();
            loop {
                if let Some(job) = state.queue.pop_front() {
                    break job;
                }
                state.idle += 1;
                let (next, timeout) = shared
                    .cv
                    .wait_timeout(state, shared.idle_timeout)
                    .unwrap_or_else(|e| e.into_inner());
                state = next;
                state.idle -= 1;
                if timeout.timed_out() && state.queue.is_empty() {
                    return;
                }
            }
        };
        job();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Instant;

    #[test]
    fn grows_past_busy_workers() {
        // Ten jobs that each wait for a signal: all ten must run at once.
        let pool = Pool::new(100, Duration::from_secs(5));
        let (started_tx, started_rx) = mpsc::channel();
        let release = Arc::new((Mutex::new(false), Condvar::new()));
        for _ in 0..10 {
            let started_tx = started_tx.clone();
            let release = Arc::clone(&release);
            pool.execute(move || {
                started_tx.send(()).unwrap();
                let (m, cv) = &*release;
                let mut go = m.lock().unwrap();
                while !*go {
                    go = cv.wait(go).unwrap();
                }
            })
            .unwrap();
        }
        for _ in 0..10 {
            started_rx
                .recv_timeout(Duration::from_secs(5))
                .expect("job started");
        }
        assert_eq!(pool.counts().0, 10);
        *release.0.lock().unwrap() = true;
        release.1.notify_all();
    }

    #[test]
    fn idle_workers_retire_and_reuse_happens() {
        let pool = Pool::new(10, Duration::from_millis(50));
        let (tx, rx) = mpsc::channel();
        for i in 0..3 {
            let tx = tx.clone();
            pool.execute(move || tx.send(i).unwrap()).unwrap();
        }
        for _ in 0..3 {
            rx.recv_timeout(Duration::from_secs(5)).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while pool.counts().0 > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(pool.counts().0, 0, "idle workers retired");
        pool.execute(move || tx.send(9).unwrap()).unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 9);
    }

    #[test]
    fn a_panicking_job_does_not_leak_a_worker_count() {
        let pool = Pool::new(2, Duration::from_secs(5));
        pool.execute(|| panic!("job failed on purpose")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while pool.counts().0 > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(pool.counts().0, 0);
    }
}
