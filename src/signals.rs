//! The signals that ask crewtui to end, as one source every front end listens to.
//!
//! Left to their default action, SIGINT, SIGTERM, SIGHUP and SIGQUIT — and SIGUSR1, SIGUSR2
//! and SIGALRM, which nobody sends crewtui on purpose but which would end it just as abruptly
//! — kill the process where it stands: the terminal stays in raw mode on the alternate screen,
//! the session file never gets its `session_finished`, a running tool's process group lives
//! on. Once [`StopSignals::install`] has run they do nothing by themselves; each front end takes
//! them from here and ends the way a cancel does (DESIGN.md: a cancelled run exits 1).

use std::io;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

/// How long a front end waits, after a stop signal, for the session to end: its cancellation
/// reaching every agent and tool, and `session_finished` written. A second signal ends the wait.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// The signals handled, with the names used in messages.
const STOP: [(i32, &str); 7] = [
    (libc::SIGINT, "SIGINT"),
    (libc::SIGTERM, "SIGTERM"),
    (libc::SIGHUP, "SIGHUP"),
    (libc::SIGQUIT, "SIGQUIT"),
    (libc::SIGUSR1, "SIGUSR1"),
    (libc::SIGUSR2, "SIGUSR2"),
    (libc::SIGALRM, "SIGALRM"),
];

/// Every stop signal, caught from the moment this exists for as long as the process lives.
pub struct StopSignals {
    streams: Vec<(&'static str, Signal)>,
}

impl StopSignals {
    /// Catches every stop signal. Needs a tokio runtime with its I/O driver; done before a
    /// session file or the terminal is set up, so none can catch either half-done.
    pub fn install() -> io::Result<StopSignals> {
        let streams = STOP
            .into_iter()
            .map(|(number, name)| Ok((name, signal(SignalKind::from_raw(number))?)))
            .collect::<io::Result<_>>()?;
        Ok(StopSignals { streams })
    }

    /// The name of the next stop signal to arrive.
    pub async fn recv(&mut self) -> &'static str {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<&'static str> {
        for (name, stream) in &mut self.streams {
            // A stream ends only with the runtime; then nothing more will come from it.
            if let Poll::Ready(Some(())) = stream.poll_recv(cx) {
                return Poll::Ready(name);
            }
        }
        Poll::Pending
    }
}
