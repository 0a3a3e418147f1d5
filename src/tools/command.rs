//! Command tools declared in the crew: an external program that gets the call's JSON
//! arguments on stdin and answers on stdout.
//!
//! The program runs in a process group of its own, and the whole group is killed when the call
//! ends, however it ends: the program exits (anything it left running in the background goes
//! with it), it is stopped (timeout, cancel), or the call is dropped. A process that leaves the
//! group on purpose (`setsid`) is beyond reach.
//!
//! The environment is not inherited: the program gets [`DEFAULT_ENV`] and the variables its
//! crew entry lists, never a variable that holds a provider's key.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::config::model::CommandToolConfig;
use crate::provider::ToolSpec;

use super::{BoxFuture, Tool, ToolContext};

/// Stdout kept in memory; the rest is read and dropped so the program is never blocked.
const MAX_STDOUT_BYTES: usize = 4 * 1024 * 1024;
/// The end of stderr shown in a failure, where the reason usually is.
const STDERR_EXCERPT_BYTES: usize = 2000;

/// Variables every command tool gets when they are set, with every `LC_*`: what programs need
/// to find each other, a home and a scratch directory, and to speak the user's language.
pub const DEFAULT_ENV: &[&str] = &[
    "HOME", "LANG", "LOGNAME", "PATH", "SHELL", "TERM", "TMPDIR", "TZ", "USER",
];

pub(super) struct CommandTool {
    spec: ToolSpec,
    command: PathBuf,
    args: Vec<String>,
    timeout: Option<Duration>,
    /// Passed on besides [`DEFAULT_ENV`].
    env: Vec<String>,
    /// The crew's key variables, never passed on, even when listed.
    keys: Arc<BTreeSet<String>>,
}

impl CommandTool {
    pub(super) fn new(name: &str, config: &CommandToolConfig, keys: Arc<BTreeSet<String>>) -> Self {
        Self {
            spec: super::declared_spec(name, &config.description, &config.parameters),
            command: config.command.clone(),
            args: config.args.clone(),
            timeout: config.timeout_seconds.map(Duration::from_secs),
            env: config.env.clone(),
            keys,
        }
    }

    /// Whether the program gets the variable `name` of this process's environment.
    fn passes(&self, name: &OsStr) -> bool {
        let Some(name) = name.to_str() else {
            return false;
        };
        let wanted = DEFAULT_ENV.contains(&name)
            || name.starts_with("LC_")
            || self.env.iter().any(|listed| listed == name);
        wanted && !self.keys.contains(name)
    }
}

/// Which part of a stream to keep when it is longer than the limit.
#[derive(Clone, Copy)]
enum Keep {
    Head(usize),
    Tail(usize),
}

/// Read `reader` to its end, keeping part of it. Returns the kept bytes and the total read.
async fn drain(reader: Option<impl AsyncRead + Unpin>, keep: Keep) -> (Vec<u8>, usize) {
    let Some(mut reader) = reader else {
        return (Vec::new(), 0);
    };
    let mut kept = Vec::new();
    let mut total = 0;
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        total += n;
        match keep {
            Keep::Head(limit) => {
                let room = limit.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
            Keep::Tail(limit) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > limit * 2 {
                    kept.drain(..kept.len() - limit);
                }
            }
        }
    }
    (kept, total)
}

/// The last part of stderr, trimmed, as one excerpt.
fn stderr_excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.len() <= STDERR_EXCERPT_BYTES {
        return text.to_string();
    }
    let mut start = text.len() - STDERR_EXCERPT_BYTES;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

/// The program's process group, killed by [`GroupKill::kill`] or, at the latest, on drop: the
/// call future is dropped on timeout or cancel, and this is what stops the program then.
struct GroupKill {
    group: Option<libc::pid_t>,
}

impl GroupKill {
    /// SIGKILL to every process of the group, once. The group outlives its leader for as long
    /// as any member lives, and its id is not reused meanwhile; once the group is empty the
    /// signal finds nobody (ESRCH), which is the expected end.
    fn kill(&mut self) {
        let Some(group) = self.group.take() else {
            return;
        };
        // SAFETY: killpg takes plain integers and touches no memory of ours.
        let result = unsafe { libc::killpg(group, libc::SIGKILL) };
        if result != 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::ESRCH) {
                tracing::debug!("cannot kill process group {group}: {error}");
            }
        }
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Tool for CommandTool {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn call<'a>(
        &'a self,
        args: serde_json::Value,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let program = self.command.display();
            let mut command = tokio::process::Command::new(&self.command);
            command
                .args(&self.args)
                .env_clear()
                .envs(std::env::vars_os().filter(|(name, _)| self.passes(name)))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .process_group(0);
            let mut child = command.spawn().map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => format!("program `{program}` not found"),
                _ => format!("cannot start `{program}`: {e}"),
            })?;
            // Declared after the child, so dropped before it: the group goes first.
            let mut group = GroupKill {
                group: child.id().and_then(|id| libc::pid_t::try_from(id).ok()),
            };

            let input = format!("{args}\n");
            let stdin = child.stdin.take();
            // Written while stdout and stderr are read, and errors ignored: a program may
            // exit without reading its input.
            let feed = async move {
                if let Some(mut stdin) = stdin {
                    let _ = stdin.write_all(input.as_bytes()).await;
                }
            };
            let stdout = drain(child.stdout.take(), Keep::Head(MAX_STDOUT_BYTES));
            let stderr = drain(child.stderr.take(), Keep::Tail(STDERR_EXCERPT_BYTES));
            let leader = async {
                let status = child.wait().await;
                // The program is done, and so is the call: what it left running goes too,
                // and with it the last holders of stdout and stderr, which then end.
                group.kill();
                status
            };
            let run = async { tokio::join!(feed, stdout, stderr, leader) };
            let ((), (stdout, stdout_total), (stderr, _), status) = tokio::select! {
                finished = run => finished,
                () = ctx.cancel.cancelled() => return Err("cancelled".to_string()),
            };
            let status = status.map_err(|e| format!("waiting for `{program}` failed: {e}"))?;

            if !status.success() {
                let stderr = stderr_excerpt(&stderr);
                return Err(if stderr.is_empty() {
                    format!("`{program}` failed ({status}) and wrote nothing to stderr")
                } else {
                    format!("`{program}` failed ({status}): {stderr}")
                });
            }
            let mut output = String::from_utf8_lossy(&stdout).into_owned();
            if stdout_total > stdout.len() {
                output.push_str(&format!(
                    "\n… [command output cut at {} of {stdout_total} bytes]",
                    stdout.len()
                ));
            }
            Ok(output)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::provider::ToolCallRequest;
    use crate::tools::test_support::{TestDir, command, crew, process_ends, read_pid};
    use crate::tools::{ToolFailureKind, ToolLimits, ToolOutcome, ToolRegistry};

    async fn run(program: &str, args: &[&str], input: serde_json::Value) -> Result<String, String> {
        let tool = CommandTool::new("cmd", &command(program, args, None), Arc::default());
        let ctx = ToolContext {
            cancel: CancellationToken::new(),
        };
        tool.call(input, &ctx).await
    }

    fn request(name: &str) -> ToolCallRequest {
        ToolCallRequest {
            id: "call-1".to_string(),
            name: name.to_string(),
            arguments: "{}".to_string(),
        }
    }

    const LIMITS: ToolLimits = ToolLimits {
        timeout: Duration::from_secs(60),
        output_limit: 16 * 1024,
        max_calls_per_turn: 64,
    };

    #[tokio::test]
    async fn the_arguments_go_to_stdin_and_stdout_is_the_result() {
        let echoed = run("cat", &[], serde_json::json!({"text": "héllo"})).await;
        assert_eq!(echoed.as_deref(), Ok("{\"text\":\"héllo\"}\n"));
        let script = "read -r line; printf 'got %s and %s' \"$line\" \"$0\"";
        let shell = run("sh", &["-c", script, "arg0"], serde_json::json!({"n": 1})).await;
        assert_eq!(shell.as_deref(), Ok("got {\"n\":1} and arg0"));
    }

    #[tokio::test]
    async fn a_non_zero_exit_is_an_error_carrying_stderr() {
        let script =
            "echo partial; echo '  first problem' >&2; echo 'the real reason  ' >&2; exit 3";
        let error = run("sh", &["-c", script], serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(error.contains("exit status: 3"), "{error}");
        assert!(error.ends_with("first problem\nthe real reason"), "{error}");
        let silent = run("sh", &["-c", "exit 1"], serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(silent.contains("wrote nothing to stderr"), "{silent}");
        let noisy = "i=0; while [ $i -lt 2000 ]; do echo \"line $i\" >&2; i=$((i+1)); done; exit 2";
        let long = run("sh", &["-c", noisy], serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(long.len() < 2200 && long.ends_with("line 1999"), "{long}");
    }

    #[tokio::test]
    async fn a_missing_program_is_named() {
        let error = run("crewtui-no-such-program", &[], serde_json::json!({})).await;
        assert_eq!(
            error.unwrap_err(),
            "program `crewtui-no-such-program` not found"
        );
        let error = run("/nonexistent/dir/tool", &[], serde_json::json!({})).await;
        assert_eq!(
            error.unwrap_err(),
            "program `/nonexistent/dir/tool` not found"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_chatty_program_that_ignores_stdin_does_not_deadlock() {
        // More than any pipe buffer on stdout, stderr and stdin at once.
        let script = "head -c 1000000 /dev/zero | tr '\\0' x; head -c 300000 /dev/zero >&2";
        let big_input = serde_json::json!({"blob": "y".repeat(1_000_000)});
        let output = run("sh", &["-c", script], big_input).await.unwrap();
        assert_eq!(output.len(), 1_000_000);
        assert!(output.bytes().all(|b| b == b'x'));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_timeout_kills_the_program() {
        let dir = TestDir::new("command-timeout");
        let pid_file = dir.path().join("pid");
        let script = format!("echo $$ > '{}'; exec sleep 30", pid_file.display());
        // The tool's own timeout wins over the crew-wide one.
        let tools = vec![("slow", command("sh", &["-c", &script], Some(1)))];
        let registry = ToolRegistry::for_crew(&crew(dir.path(), tools));
        let granted = ["slow".to_string()];
        let outcome = registry
            .call(
                &granted,
                &request("slow"),
                &LIMITS,
                CancellationToken::new(),
            )
            .await;
        match outcome {
            ToolOutcome::Failed { kind, error, .. } => {
                assert_eq!(kind, ToolFailureKind::Timeout);
                assert_eq!(error, "timed out after 1 s");
            }
            other => panic!("{other:?}"),
        }
        let pid = read_pid(&pid_file).await;
        assert!(process_ends(pid).await, "sleep {pid} outlived the call");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelling_or_dropping_the_call_kills_what_the_program_started() {
        // Dropped as when the turn's task goes away: no token fires.
        for dropped in [false, true] {
            let dir = TestDir::new("command-stop");
            let pid_file = dir.path().join("pid");
            let script = format!("sleep 30 & echo $! > '{}'; wait", pid_file.display());
            let tools = vec![("spawner", command("sh", &["-c", &script], None))];
            let registry = Arc::new(ToolRegistry::for_crew(&crew(dir.path(), tools)));
            let cancel = CancellationToken::new();
            let call = {
                let (registry, cancel) = (Arc::clone(&registry), cancel.clone());
                tokio::spawn(async move {
                    let granted = ["spawner".to_string()];
                    registry
                        .call(&granted, &request("spawner"), &LIMITS, cancel)
                        .await
                })
            };
            let grandchild = read_pid(&pid_file).await;
            if dropped {
                call.abort();
                assert!(call.await.unwrap_err().is_cancelled());
            } else {
                cancel.cancel();
                assert_eq!(call.await.unwrap(), ToolOutcome::Cancelled);
            }
            assert!(
                process_ends(grandchild).await,
                "sleep {grandchild} outlived the call (dropped: {dropped})"
            );
        }
    }

    /// Runs `script` as tool `name` through the registry; the pid of what it left running is
    /// what it wrote to the file `PID`.
    async fn left_running(name: &str, script: &str) -> (ToolOutcome, u32) {
        let dir = TestDir::new(name);
        let pid_file = dir.path().join("pid");
        let script = script.replace("PID", &format!("'{}'", pid_file.display()));
        // A timeout well short of the sleep's, should the call wait for the straggler.
        let tools = vec![(name, command("sh", &["-c", &script], Some(10)))];
        let registry = ToolRegistry::for_crew(&crew(dir.path(), tools));
        let granted = [name.to_string()];
        let outcome = registry
            .call(&granted, &request(name), &LIMITS, CancellationToken::new())
            .await;
        (outcome, read_pid(&pid_file).await)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_the_program_leaves_running_ends_with_the_call() {
        let cases = [
            (
                "bg-quiet",
                "sleep 30 >/dev/null 2>&1 & echo $! > PID; echo started",
            ),
            // The straggler holds stdout: the call still ends when the program does.
            ("bg-holding", "sleep 30 & echo $! > PID; echo started"),
            (
                "bg-failing",
                "sleep 30 >/dev/null 2>&1 & echo $! > PID; echo bad >&2; exit 3",
            ),
        ];
        for (name, script) in cases {
            let (outcome, pid) = left_running(name, script).await;
            let ended_well = match &outcome {
                ToolOutcome::Completed { output, .. } => output == "started\n",
                ToolOutcome::Failed { kind, error, .. } => {
                    *kind == ToolFailureKind::Error && error.ends_with("bad")
                }
                ToolOutcome::Cancelled => false,
            };
            assert!(ended_well, "{name}: {outcome:?}");
            assert!(
                process_ends(pid).await,
                "{name}: sleep {pid} outlived the call"
            );
        }
    }

    #[tokio::test]
    async fn the_program_gets_the_default_variables_and_those_listed_only() {
        // Variables cargo sets for every test run stand in for the user's own.
        let listed = "CARGO_MANIFEST_DIR";
        let unlisted = "CARGO_PKG_NAME";
        assert!(std::env::var_os(listed).is_some() && std::env::var_os(unlisted).is_some());
        let mut config = command("env", &[], None);
        config.env = vec![listed.to_string(), "HOME".to_string()];
        // HOME stands in for a key variable: listed or default, it is never passed on.
        let keys = Arc::new(["HOME".to_string()].into_iter().collect());
        let tool = CommandTool::new("env", &config, keys);
        let ctx = ToolContext {
            cancel: CancellationToken::new(),
        };
        let output = tool.call(serde_json::json!({}), &ctx).await.unwrap();
        let names: Vec<&str> = output
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(n, _)| n)
            .collect();
        assert!(
            names.contains(&"PATH") && names.contains(&listed),
            "{names:?}"
        );
        assert!(
            !names.contains(&unlisted) && !names.contains(&"HOME"),
            "{names:?}"
        );
        assert!(
            names
                .iter()
                .all(|n| DEFAULT_ENV.contains(n) || n.starts_with("LC_") || *n == listed),
            "{names:?}"
        );
    }
}
