//! A clock for the `openai` provider that the test holds: each back-off passes at once and is
//! recorded, and a deadline passes only when the test moves the clock past it. The sockets stay
//! real and nothing else moves this clock, so no deadline can pass while an answer is on its
//! way, however slow the machine.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crewtui::provider::openai::Clock;
use futures_util::future::BoxFuture;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// Far longer than a passing test waits for the provider to reach a deadline, in real time.
const PATIENCE: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct TestClock {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    start: Instant,
    /// How far the clock has moved from `start`; changed only with `state` locked, so that
    /// the time and the deadlines are read together.
    moved: watch::Sender<Duration>,
    state: Mutex<State>,
    /// Told whenever a deadline is set.
    deadline_set: Notify,
}

#[derive(Debug, Default)]
struct State {
    back_offs: Vec<Duration>,
    /// The deadlines the provider is waiting on, by a number of their own.
    deadlines: BTreeMap<u64, Instant>,
    next: u64,
}

impl TestClock {
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                start: Instant::now(),
                moved: watch::Sender::new(Duration::ZERO),
                state: Mutex::default(),
                deadline_set: Notify::new(),
            }),
        }
    }

    /// What a provider is built with to run on this clock.
    pub fn handle(&self) -> Arc<dyn Clock> {
        Arc::new(self.clone())
    }

    /// Every back-off the provider waited out, in order.
    pub fn back_offs(&self) -> Vec<Duration> {
        self.shared.state.lock().unwrap().back_offs.clone()
    }

    /// Moves the clock on by `by`; deadlines it passes complete.
    pub fn advance(&self, by: Duration) {
        let _state = self.shared.state.lock().unwrap();
        self.shared.moved.send_modify(|moved| *moved += by);
    }

    /// How far ahead the nearest deadline still to come lies, once the provider waits on one.
    pub async fn deadline_ahead(&self) -> Duration {
        let wait = async {
            loop {
                let set = self.shared.deadline_set.notified();
                let ahead = {
                    let state = self.shared.state.lock().unwrap();
                    let now = self.now();
                    let nearest = state.deadlines.values().filter(|at| **at > now).min();
                    nearest.map(|at| *at - now)
                };
                if let Some(ahead) = ahead {
                    return ahead;
                }
                set.await;
            }
        };
        tokio::time::timeout(PATIENCE, wait)
            .await
            .expect("the provider never waited on a deadline")
    }
}

impl Clock for TestClock {
    fn now(&self) -> Instant {
        self.shared.start + *self.shared.moved.borrow()
    }

    fn back_off(&self, wait: Duration) -> BoxFuture<'static, ()> {
        let shared = Arc::clone(&self.shared);
        // Recorded when awaited, not when asked for: a back-off never waited out is none.
        Box::pin(async move {
            let mut state = shared.state.lock().unwrap();
            state.back_offs.push(wait);
            shared.moved.send_modify(|moved| *moved += wait);
        })
    }

    fn deadline(&self, at: Instant) -> BoxFuture<'static, ()> {
        let waiting = Waiting::new(&self.shared, at);
        Box::pin(async move {
            let shared = Arc::clone(&waiting.shared);
            let mut moved = shared.moved.subscribe();
            let start = shared.start;
            // The sender lives in `shared`, so the channel never closes.
            let _ = moved.wait_for(|moved| start + *moved >= at).await;
            drop(waiting);
        })
    }
}

/// A deadline the provider holds; it no longer counts once dropped.
struct Waiting {
    shared: Arc<Shared>,
    id: u64,
}

impl Waiting {
    fn new(shared: &Arc<Shared>, at: Instant) -> Self {
        let id = {
            let mut state = shared.state.lock().unwrap();
            let id = state.next;
            state.next += 1;
            state.deadlines.insert(id, at);
            id
        };
        shared.deadline_set.notify_waiters();
        Self {
            shared: Arc::clone(shared),
            id,
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.shared.state.lock().unwrap().deadlines.remove(&self.id);
    }
}
