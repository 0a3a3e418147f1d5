//! Where the session writers' threads get their time: the system's monotonic clock, or a
//! [`ManualClock`] that moves only when told to.
//!
//! A writer's thread sleeps until its next batch, hold or sync is due. Under the system clock
//! it sleeps on a timeout; under a manual clock it sleeps until the clock is moved, and
//! [`ManualClock::advance`] returns only once every writer on the clock has done what was due
//! by then and sleeps again — so a test sees the effect of time passing at once, with no
//! waiting and no polling.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// A writer's time. Cloning shares the clock.
#[derive(Clone, Default)]
pub struct Clock(Kind);

#[derive(Clone, Default)]
enum Kind {
    #[default]
    System,
    Manual(Arc<ManualClock>),
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Kind::System => f.write_str("Clock::System"),
            Kind::Manual(_) => f.write_str("Clock::Manual"),
        }
    }
}

/// What a manual clock asks of a writer whose thread uses it.
pub(super) trait Settle: Send + Sync {
    /// Wakes the writer's thread and returns once it has done what is due at `now` and sleeps
    /// again (or has ended).
    fn settle(&self, now: Instant);
}

impl Clock {
    /// The system's monotonic clock: what every real writer uses.
    pub fn system() -> Clock {
        Clock(Kind::System)
    }

    pub fn now(&self) -> Instant {
        match &self.0 {
            Kind::System => Instant::now(),
            Kind::Manual(manual) => *lock(&manual.now),
        }
    }

    /// Sleeps on `wake` (releasing `guard`) until woken, or until `due` by this clock.
    pub(super) fn sleep<'a, T>(
        &self,
        wake: &Condvar,
        guard: MutexGuard<'a, T>,
        due: Option<Instant>,
    ) -> MutexGuard<'a, T> {
        let timeout = match (&self.0, due) {
            (Kind::System, Some(due)) => Some(due.saturating_duration_since(Instant::now())),
            // A manual clock wakes its writers itself when it moves.
            (Kind::System, None) | (Kind::Manual(_), _) => None,
        };
        match timeout {
            Some(timeout) => match wake.wait_timeout(guard, timeout) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            },
            None => wake
                .wait(guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    /// Lets a manual clock wake the writer when it moves; nothing for the system clock.
    pub(super) fn register(&self, writer: Weak<dyn Settle>) {
        match &self.0 {
            Kind::System => {}
            Kind::Manual(manual) => lock(&manual.writers).push(writer),
        }
    }
}

/// A clock for tests: it stands still until [`ManualClock::advance`] moves it.
pub struct ManualClock {
    now: Mutex<Instant>,
    writers: Mutex<Vec<Weak<dyn Settle>>>,
}

impl ManualClock {
    /// A clock standing at the present moment.
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock {
            now: Mutex::new(Instant::now()),
            writers: Mutex::new(Vec::new()),
        })
    }

    /// The clock to hand to writers.
    pub fn clock(self: &Arc<Self>) -> Clock {
        Clock(Kind::Manual(Arc::clone(self)))
    }

    /// Moves the clock by `by`, then waits until every writer on it has done what was due.
    pub fn advance(&self, by: Duration) {
        let now = {
            let mut now = lock(&self.now);
            *now += by;
            *now
        };
        let mut writers = lock(&self.writers);
        writers.retain(|writer| writer.strong_count() > 0);
        for writer in writers.iter().filter_map(Weak::upgrade) {
            writer.settle(now);
        }
    }
}

/// A lock whose data stays usable after a panic elsewhere: losing the session file to a
/// poisoned mutex would be worse than the panic.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
