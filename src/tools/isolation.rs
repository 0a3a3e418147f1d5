//! The isolation every tool call runs under: its own task, a timeout, cancellation, panics
//! caught and reported, secrets cut out and output cut to a limit.
//!
//! A panicking tool must not reach the terminal either: the process panic hook asks
//! [`in_tool_call`] and stays quiet while a tool is being polled, because the panic is
//! reported as a `tool_failed` event instead.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{BoxFuture, Tool, ToolContext, ToolFailureKind, ToolOutcome, elapsed_ms};
use crate::redact::Secrets;

thread_local! {
    static IN_TOOL_CALL: Cell<bool> = const { Cell::new(false) };
}

/// True while the current thread is polling a tool call: the process panic hook uses it to
/// keep a tool's panic off the terminal (it is reported as a tool_failed event instead).
pub fn in_tool_call() -> bool {
    IN_TOOL_CALL.with(Cell::get)
}

/// Sets the flag for as long as it lives. Restoring on drop keeps the flag right while a
/// panic unwinds out of a poll, and for a tool that calls another tool.
struct FlagGuard {
    previous: bool,
}

impl FlagGuard {
    fn set() -> Self {
        Self {
            previous: IN_TOOL_CALL.with(|flag| flag.replace(true)),
        }
    }
}

impl Drop for FlagGuard {
    fn drop(&mut self) {
        IN_TOOL_CALL.with(|flag| flag.set(self.previous));
    }
}

/// Polls (and drops) the tool's future with the flag set.
struct Flagged<'a, T> {
    inner: Option<BoxFuture<'a, T>>,
}

impl<T> Future for Flagged<'_, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let _guard = FlagGuard::set();
        let Some(inner) = self.inner.as_mut() else {
            // Only reachable if polled after completion, which tokio never does.
            return Poll::Pending;
        };
        let poll = inner.as_mut().poll(cx);
        if poll.is_ready() {
            self.inner = None;
        }
        poll
    }
}

impl<T> Drop for Flagged<'_, T> {
    fn drop(&mut self) {
        // An aborted tool is dropped mid-flight; its destructors count as part of the call.
        let _guard = FlagGuard::set();
        self.inner = None;
    }
}

/// How long to wait for an aborted task to be dropped, so that what it owns (a child
/// process) is gone by the time the call returns. Bounded: a tool that blocks its thread
/// cannot be dropped until it yields, and the caller must not wait for it.
const ABORT_GRACE: Duration = Duration::from_millis(50);

/// The tool's task, aborted when the call is dropped before it ends: a call whose turn goes
/// away (its task aborted, the runtime shutting down) takes its tool, and what the tool owns,
/// with it instead of leaving it to run unwatched.
struct Running<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Running<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Why a call was stopped before it finished.
enum Stop {
    Cancelled,
    TimedOut,
}

/// What one call is held to.
pub(super) struct Bounds<'a> {
    pub timeout: Duration,
    pub output_limit: usize,
    /// Cut out of the output and of any error before the cut to `output_limit`, so that no
    /// part of a secret survives at the cut.
    pub secrets: &'a Secrets,
}

/// Run `tool` in a task of its own and turn however it ends into a [`ToolOutcome`].
pub(super) async fn run(
    tool: Arc<dyn Tool>,
    args: serde_json::Value,
    bounds: Bounds<'_>,
    cancel: CancellationToken,
    started: Instant,
) -> ToolOutcome {
    let Bounds {
        timeout,
        output_limit,
        secrets,
    } = bounds;
    let failed = |kind: ToolFailureKind, error: String| ToolOutcome::Failed {
        kind,
        error: truncate(secrets.redact(error), output_limit).0,
        elapsed_ms: elapsed_ms(started),
    };
    if cancel.is_cancelled() {
        return ToolOutcome::Cancelled;
    }
    let ctx = ToolContext {
        cancel: cancel.child_token(),
    };
    let stop = ctx.cancel.clone();
    let body: BoxFuture<'static, Result<String, String>> = Box::pin(async move {
        let ctx = ctx;
        tool.call(args, &ctx).await
    });
    let mut running = Running(tokio::spawn(Flagged { inner: Some(body) }));
    let task = &mut running.0;

    let joined = tokio::select! {
        biased;
        () = cancel.cancelled() => Err(Stop::Cancelled),
        joined = &mut *task => Ok(joined),
        () = tokio::time::sleep(timeout) => Err(Stop::TimedOut),
    };
    let joined = match joined {
        Ok(joined) => joined,
        Err(why) => {
            // The tool's own token first, for a tool that stops cleanly, then the task.
            stop.cancel();
            task.abort();
            let _ = tokio::time::timeout(ABORT_GRACE, &mut *task).await;
            return match why {
                Stop::Cancelled => ToolOutcome::Cancelled,
                Stop::TimedOut => {
                    let secs = timeout.as_secs_f64();
                    failed(
                        ToolFailureKind::Timeout,
                        format!("timed out after {secs} s"),
                    )
                }
            };
        }
    };
    match joined {
        Ok(Ok(output)) => {
            let (output, truncated) = truncate(secrets.redact(output), output_limit);
            ToolOutcome::Completed {
                output,
                truncated,
                elapsed_ms: elapsed_ms(started),
            }
        }
        Ok(Err(error)) => failed(ToolFailureKind::Error, error),
        Err(e) if e.is_panic() => {
            let message = panic_message(e.into_panic());
            failed(ToolFailureKind::Panic, format!("tool panicked: {message}"))
        }
        // Nothing else aborts the task, but a runtime shutting down cancels it.
        Err(_) => ToolOutcome::Cancelled,
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => match payload.downcast_ref::<&'static str>() {
            Some(message) => (*message).to_string(),
            None => "(panic payload is not a string)".to_string(),
        },
    }
}

/// Cut `text` to at most `limit` bytes at a char boundary and say so on a line of its own.
pub(super) fn truncate(text: String, limit: usize) -> (String, bool) {
    if text.len() <= limit {
        return (text, false);
    }
    let mut cut = limit;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let total = text.len();
    let mut shown = text;
    shown.truncate(cut);
    if !shown.is_empty() && !shown.ends_with('\n') {
        shown.push('\n');
    }
    shown.push_str(&format!(
        "… [output truncated: {cut} of {total} bytes shown]"
    ));
    (shown, true)
}
