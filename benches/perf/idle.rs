//! Item 3: draws and CPU after a run has finished.

use super::*;

pub(crate) const IDLE: Duration = Duration::from_secs(10);

pub(crate) fn idle_item() {
    let pty = pty_run(2.0, IDLE);
    note(&format!(
        "the crewtui binary in a pty (200x50) after a 16-agent run finished, watched for {:.1} s",
        pty.idle_window.as_secs_f64()
    ));
    row(
        "draws after the last change",
        pty.idle_draws.to_string(),
        "0",
        Some(pty.idle_draws == 0),
    );
    row(
        "bytes written after the last change",
        format!("{} B", pty.idle_bytes),
        "",
        None,
    );
    let share = pty.idle_cpu.as_secs_f64() / pty.idle_window.as_secs_f64();
    row(
        "CPU while idle (share of one core)",
        format!("{:.3} % ({})", share * 100.0, ms(pty.idle_cpu)),
        "< 1 %",
        Some(share < 0.01),
    );
}
