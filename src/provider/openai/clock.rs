//! Where an `openai` call's time comes from: the back-off before another attempt, and the
//! deadlines that bound each wait on the server (first byte, idle stream).
//!
//! A provider is built on [`TokioClock`]. Another clock can be given with
//! [`super::OpenAiProvider::with_clock`]: a test then sees each back-off the provider asks for
//! and decides when a deadline passes, while the sockets stay real. Tokio's paused clock cannot
//! do that here: it moves on whenever the runtime waits on nothing but sockets, so every
//! deadline would pass while an answer is still on its way.

use std::fmt;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::time::Instant;

/// The time a model call reckons with.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Now, as deadlines are reckoned.
    fn now(&self) -> Instant;

    /// Waits `wait` before another attempt.
    fn back_off(&self, wait: Duration) -> BoxFuture<'static, ()>;

    /// Completes once `at` has passed; raced against a wait on the server.
    fn deadline(&self, at: Instant) -> BoxFuture<'static, ()>;
}

/// Tokio's clock: the one every provider is built with.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn back_off(&self, wait: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(wait))
    }

    fn deadline(&self, at: Instant) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep_until(at))
    }
}
