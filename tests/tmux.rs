//! End to end: the real binary in a real terminal (tmux), driven by keys and read back from the
//! screen as a person would see it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    /// The screen with colours, as escape sequences.
    fn screen_colored(&self) -> String {
        self.run(&["capture-pane", "-p", "-e", "-t", "e2e"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend(keys);
        self.run(&args);
    }

    /// Waits until the screen shows `what`, failing with the screen if it never does.
    fn wait_for(&self, what: &str) -> String {
        self.wait_until(what, |screen| screen.contains(what))
    }

    /// Waits until `done` holds for the screen, failing with the screen if it never does.
    fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What tmux knows of the terminal state the program left: `alternate_on mouse_any_flag
    /// cursor_flag`, e.g. `1 1 0` for a full-screen program with the mouse and no cursor.
    fn flags(&self) -> String {
        self.run(&[
            "display-message",
            "-p",
            "-t",
            "e2e",
            "#{alternate_on} #{mouse_any_flag} #{cursor_flag}",
        ])
        .trim()
        .to_string()
    }

    /// Waits until [`Tmux::flags`] are `expected`.
    fn wait_flags(&self, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.flags() != expected {
            assert!(
                Instant::now() < deadline,
                "terminal flags {} never became {expected}; screen:\n{}",
                self.flags(),
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The pid of the crewtui the pane's shell runs.
    fn crewtui_pid(&self) -> String {
        let shell = self.run(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"]);
        let child = Command::new("pgrep")
            .args(["-P", shell.trim(), "-x", "crewtui"])
            .output()
            .expect("pgrep runs");
        let pid = String::from_utf8_lossy(&child.stdout).trim().to_string();
        assert!(
            !pid.is_empty() && !pid.contains('\n'),
            "one crewtui under the pane's shell: {pid:?}"
        );
        pid
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// crewtui on `crew` in a new tmux session of `width` × `height`, its logs and sessions kept
/// under the target dir; after it exits the shell prints its status and whether the terminal
/// is back in cooked mode. None when tmux is missing (never on CI, where .ci/run installs it).
fn launch(tag: &str, crew: &Path, width: u16, height: u16) -> Option<Tmux> {
    let script = format!(
        "XDG_STATE_HOME={0} XDG_DATA_HOME={0} {1} {2}; echo EXIT=$?; stty -a | grep -o -- '-\\?icanon'; sleep 600",
        home(tag).display(),
        env!("CARGO_BIN_EXE_crewtui"),
        crew.display()
    );
    new_session(tag, width, height, &["bash", "-c", &script])
}

/// An interactive shell, with job control, in a new tmux session of 120 × 40 whose crewtui
/// keeps its logs and sessions in [`home`]; None when tmux is missing, as for [`launch`].
fn shell(tag: &str) -> Option<Tmux> {
    let tmux = new_session(tag, 120, 40, &["bash", "--norc", "--noprofile", "-i"])?;
    let home = home(tag);
    tmux.keys(&[
        &format!(
            "export PS1='$ ' XDG_STATE_HOME={0} XDG_DATA_HOME={0}; clear",
            home.display()
        ),
        "Enter",
    ]);
    Some(tmux)
}

/// Where the crewtui of test `tag` keeps its logs and sessions.
fn home(tag: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tmux-{tag}"))
}

/// Whether tmux is there; if not, says the test is skipped (never on CI, where .ci/run
/// installs it).
fn have_tmux() -> bool {
    if tmux_available() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "tmux is required on CI (.ci/run installs it)"
    );
    eprintln!("SKIPPED: tmux is not installed; apt-get install tmux to run this test");
    false
}

fn new_session(tag: &str, width: u16, height: u16, command: &[&str]) -> Option<Tmux> {
    if !have_tmux() {
        return None;
    }
    let _ = std::fs::remove_dir_all(home(tag));
    let tmux = Tmux {
        socket: format!("crewtui-{tag}-{}", std::process::id()),
    };
    let (w, h) = (width.to_string(), height.to_string());
    let mut args = vec!["new-session", "-d", "-s", "e2e", "-x", &w, "-y", &h];
    args.extend(command);
    tmux.run(&args);
    Some(tmux)
}

/// The demo crew, streaming slowly enough to cancel an agent by hand.
fn slow_demo() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tmux-demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("demo-files")).unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("crews");
    let yaml = std::fs::read_to_string(root.join("demo.yaml"))
        .unwrap()
        .replace(
            "scripted_tokens_per_second: 40",
            "scripted_tokens_per_second: 8",
        );
    std::fs::write(dir.join("demo.yaml"), yaml).unwrap();
    std::fs::copy(
        root.join("demo-files/checklist.md"),
        dir.join("demo-files/checklist.md"),
    )
    .unwrap();
    dir.join("demo.yaml")
}

#[test]
fn the_demo_crew_in_a_real_terminal() {
    let Some(tmux) = launch("e2e", &slow_demo(), 160, 48) else {
        return;
    };

    // Every agent has its pane; the lead asks and the input box takes the answer.
    let screen = tmux.wait_for("Answer Lead");
    for agent in ["Lead", "Market", "Tech", "Risks", "Writer", "Editor"] {
        assert!(
            screen.contains(&format!(" {agent} ")),
            "no pane for {agent}:\n{screen}"
        );
    }
    assert!(screen.contains("who is the audience"), "{screen}");
    tmux.keys(&["Crew authors on Linux", "Enter"]);
    tmux.wait_for("↩ you: Crew authors on Linux");

    // Cancel Market (Tab moves focus from Lead to it) while the others go on.
    tmux.wait_for("Sizing the audience");
    tmux.keys(&["Tab"]);
    tmux.keys(&["c"]);
    let screen = tmux.wait_for("■ cancelled");
    assert!(
        screen.contains(" cancelled "),
        "badge shows cancelled:\n{screen}"
    );

    // Risks' tool panics: its pane turns red and shows the panic; the run goes on to the end.
    // Risks' tool failed on the way: the outcome says so.
    let screen = tmux.wait_for("completed with 1 failure — agent `editor` is terminal");
    assert!(screen.contains("load model crashed"), "{screen}");
    assert!(
        screen.contains("path lead → [research ×3] → writer → editor"),
        "{screen}"
    );
    let colored = tmux.screen_colored();
    let risks_line = colored
        .lines()
        .find(|l| l.contains(" Risks "))
        .expect("risks title line");
    let before_title = &risks_line[..risks_line.find(" Risks ").unwrap()];
    assert!(
        before_title.contains("\x1b[38;5;9m") || before_title.contains("\x1b[91m"),
        "the risks border is red: {risks_line:?}"
    );

    // q quits at once after the run; the shell gets its terminal back, cooked.
    tmux.keys(&["q"]);
    // The shell prints the exit status, then the terminal mode (`icanon` or `-icanon`).
    let screen = tmux.wait_for("icanon");
    assert!(screen.contains("EXIT=0"), "{screen}");
    let after = screen.split("EXIT=").nth(1).unwrap();
    assert!(
        after.contains("icanon") && !after.contains("-icanon"),
        "raw mode left on:\n{screen}"
    );
    assert!(
        !screen.contains("Lead · launch lead"),
        "the alternate screen was left:\n{screen}"
    );
}

/// A crew whose one agent calls a command tool that sleeps for `seconds` (a number no other
/// test uses, to find the program among the machine's processes).
fn napping_crew(tag: &str, seconds: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tmux-crew-{tag}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("napping.yaml");
    std::fs::write(
        &path,
        format!(
            "name: napping\ninput: go\nsettings: {{scripted_tokens_per_second: 0}}\n\
             tools:\n  nap: {{command: sleep, args: [\"{seconds}\"], timeout_seconds: 600}}\n\
             agents:\n  - id: a\n    provider: scripted\n    tools: [nap]\n    script:\n\
             \x20     - tool_calls: [{{tool: nap, arguments: {{}}}}]\n      - reply: rested\n"
        ),
    )
    .unwrap();
    path
}

/// The events of the one session recorded under `home`.
fn recorded(home: &Path) -> Vec<serde_json::Value> {
    let dir = home.join("crewtui/sessions");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    std::fs::read_to_string(&files[0])
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn stop_signals_cancel_the_run_kill_its_tool_and_restore_the_terminal() {
    if !have_tmux() {
        return;
    }
    let signals = [
        ("INT", "401"),
        ("TERM", "402"),
        ("HUP", "403"),
        ("QUIT", "404"),
        ("USR1", "405"),
        ("USR2", "406"),
        ("ALRM", "407"),
    ];
    // Each in a terminal of its own, at once.
    let runs: Vec<_> = signals
        .into_iter()
        .map(|(signal, seconds)| {
            std::thread::spawn(move || {
                let seconds = format!("{seconds}.{}", std::process::id() % 1000);
                let tag = format!("stop-{signal}");
                let crew = napping_crew(&tag, &seconds);
                let tmux = launch(&tag, &crew, 100, 30).expect("tmux");
                tmux.wait_for("running tool");
                assert_eq!(tmux.flags(), "1 1 0", "full screen, mouse on, no cursor");
                assert!(!common::sleeping(&seconds).is_empty(), "the tool runs");
                Command::new("kill")
                    .args([&format!("-{signal}"), &tmux.crewtui_pid()])
                    .status()
                    .unwrap();
                // The shell prints the exit status, then the terminal mode (`icanon` or
                // `-icanon`).
                let screen = tmux.wait_for("icanon");
                assert!(
                    screen.contains("EXIT=1"),
                    "SIG{signal}: a stopped run counts as cancelled:\n{screen}"
                );
                let after = screen.split("EXIT=").nth(1).unwrap();
                assert!(
                    after.contains("icanon") && !after.contains("-icanon"),
                    "SIG{signal}: raw mode left on:\n{screen}"
                );
                assert_eq!(
                    tmux.flags(),
                    "0 0 1",
                    "SIG{signal}: main screen, mouse off, cursor shown"
                );
                let events = recorded(&home(&tag));
                let last = events.last().unwrap();
                assert_eq!(last["type"], "session_finished", "SIG{signal}");
                assert_eq!(last["outcome"], "cancelled", "SIG{signal}");
                assert!(
                    common::sleeping(&seconds).is_empty(),
                    "SIG{signal}: the tool was killed"
                );
            })
        })
        .collect();
    for run in runs {
        if let Err(panic) = run.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn ctrl_z_and_sigtstp_suspend_and_fg_brings_the_screen_back_live_and_in_replay() {
    let Some(tmux) = shell("suspend") else {
        return;
    };
    let seconds = format!("408.{}", std::process::id() % 1000);
    let crew = napping_crew("suspend", &seconds);
    tmux.keys(&[
        &format!("{} {}", env!("CARGO_BIN_EXE_crewtui"), crew.display()),
        "Enter",
    ]);
    tmux.wait_for("running tool");
    tmux.wait_flags("1 1 0");

    // Ctrl-Z, a key like any other in raw mode: the shell gets its terminal back, as it was.
    tmux.keys(&["C-z"]);
    tmux.wait_for("Stopped");
    assert_eq!(
        tmux.flags(),
        "0 0 1",
        "main screen, mouse off, cursor shown"
    );
    tmux.keys(&["stty -a | grep -o -- '-\\?icanon'; fg", "Enter"]);
    tmux.wait_flags("1 1 0");
    let screen = tmux.wait_for("running tool");
    assert!(
        screen.contains("nap") && !screen.contains("Stopped"),
        "the whole screen is drawn again:\n{screen}"
    );
    // Keys work at once, one by one: raw mode is back.
    tmux.keys(&["?"]);
    tmux.wait_for("Help");
    tmux.keys(&["Escape"]);
    tmux.wait_until("the help closed", |screen| !screen.contains("Help"));

    // SIGTSTP from outside does the same.
    let pid = tmux.crewtui_pid();
    Command::new("kill").args(["-TSTP", &pid]).status().unwrap();
    tmux.wait_until("a second stop", |screen| {
        screen.matches("Stopped").count() == 2
    });
    assert_eq!(
        tmux.flags(),
        "0 0 1",
        "main screen, mouse off, cursor shown"
    );
    // The shell's own mode while crewtui is stopped: cooked, as the shell wants it.
    tmux.keys(&["clear; stty -a | grep -o -- '-\\?icanon'", "Enter"]);
    let screen = tmux.wait_for("icanon");
    assert!(!screen.contains("-icanon"), "{screen}");
    tmux.keys(&["fg", "Enter"]);
    tmux.wait_flags("1 1 0");
    tmux.wait_for("running tool");
    tmux.keys(&["?"]);
    tmux.wait_for("Help");
    assert!(!common::sleeping(&seconds).is_empty(), "the run went on");

    // Quitting cancels the run; then its recording, replayed, suspends the same way.
    tmux.keys(&["Escape"]);
    tmux.wait_until("the help closed", |screen| !screen.contains("Help"));
    tmux.keys(&["q"]);
    tmux.wait_for("Quit");
    tmux.keys(&["y"]);
    tmux.wait_flags("0 0 1");
    let dir = home("suspend").join("crewtui/sessions");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    tmux.keys(&[
        &format!(
            "clear; {} replay {} --speed 0.25",
            env!("CARGO_BIN_EXE_crewtui"),
            file.display()
        ),
        "Enter",
    ]);
    tmux.wait_for("nap");
    tmux.wait_flags("1 1 0");
    tmux.keys(&["C-z"]);
    tmux.wait_for("Stopped");
    assert_eq!(tmux.flags(), "0 0 1");
    tmux.keys(&["fg", "Enter"]);
    tmux.wait_flags("1 1 0");
    tmux.wait_for("nap");
    tmux.keys(&["q"]);
    tmux.wait_flags("0 0 1");
}

#[test]
fn closing_the_pane_mid_run_is_a_cancel_not_a_panic() {
    let tag = "closed-pane";
    let seconds = format!("409.{}", std::process::id() % 1000);
    let crew = napping_crew(tag, &seconds);
    let status = home(tag).join("status");
    // The shell outlives its pane (it ignores the hangup) to write down how crewtui ended.
    let script = format!(
        "trap '' HUP; XDG_STATE_HOME={0} XDG_DATA_HOME={0} {1} {2}; echo $? > {3}",
        home(tag).display(),
        env!("CARGO_BIN_EXE_crewtui"),
        crew.display(),
        status.display()
    );
    let Some(tmux) = new_session(tag, 100, 30, &["bash", "-c", &script]) else {
        return;
    };
    tmux.wait_for("running tool");
    // The terminal goes away under it: SIGHUP, and a terminal and stderr that fail.
    tmux.run(&["kill-server"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let code = loop {
        if let Ok(code) = std::fs::read_to_string(&status)
            && code.ends_with('\n')
        {
            break code;
        }
        assert!(Instant::now() < deadline, "crewtui never ended");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code.trim(), "1", "cancelled, not a panic (101)");
    let last = recorded(&home(tag)).pop().unwrap();
    assert_eq!(last["outcome"], "cancelled");
    assert!(common::sleeping(&seconds).is_empty(), "the tool was killed");
    let log = std::fs::read_to_string(home(tag).join("crewtui/crewtui.log")).unwrap();
    assert!(!log.contains("panic"), "{log}");
}

/// The clipboard writes in the pane's raw output, once there are `n` whole ones (the pane's
/// output reaches its file a little after the screen shows the notice).
fn wait_for_copies(file: &Path, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let copies = clipboard_writes(&std::fs::read(file).unwrap_or_default());
        if copies.len() >= n {
            return copies;
        }
        assert!(
            Instant::now() < deadline,
            "saw {} clipboard writes, not {n}: {copies:?}",
            copies.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The texts put on the clipboard by the OSC 52 sequences in `bytes`.
fn clipboard_writes(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.split("\x1b]52;c;")
        .skip(1)
        // A write still on its way has no terminator yet.
        .filter_map(|rest| rest.split_once('\x07').map(|(b64, _)| b64))
        .map(|b64| {
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut bits = 0u32;
            let mut count = 0;
            let mut out = Vec::new();
            for c in b64.bytes().filter(|&c| c != b'=') {
                let v = alphabet.iter().position(|&a| a == c).expect("base64") as u32;
                bits = bits << 6 | v;
                count += 6;
                if count >= 8 {
                    count -= 8;
                    out.push((bits >> count) as u8);
                    bits &= (1 << count) - 1;
                }
            }
            String::from_utf8(out).expect("UTF-8")
        })
        .collect()
}

#[test]
fn f_finds_the_failed_agent_slash_searches_it_and_y_copies_by_osc_52() {
    let Some(tmux) = launch("find", &slow_demo(), 160, 48) else {
        return;
    };
    // Everything the program writes to the terminal, raw, and tmux keeping what it is sent
    // for the clipboard.
    let raw = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tmux-find-output");
    let _ = std::fs::remove_file(&raw);
    tmux.run(&["set-option", "-g", "set-clipboard", "on"]);
    tmux.run(&[
        "pipe-pane",
        "-t",
        "e2e",
        "-O",
        &format!("cat >> {}", raw.display()),
    ]);
    tmux.wait_for("Answer Lead");
    tmux.keys(&["Crew authors on Linux", "Enter"]);
    // Risks' tool panics; once its reply is in, f brings the focus to it from the lead.
    tmux.wait_for("before the announcement");
    tmux.keys(&["f"]);
    let screen = tmux.wait_for("Risks: ✗ fault panicked");
    assert!(
        screen.contains("┏ ✗ Risks"),
        "Risks has the focus:\n{screen}"
    );
    assert!(
        screen.contains("1 failed"),
        "the header counts it:\n{screen}"
    );

    tmux.keys(&["/", "CDN", "Enter"]);
    tmux.wait_for("/CDN · 1 of 1");
    tmux.keys(&["y"]);
    tmux.wait_for("Copied the line of the match");
    let copies = wait_for_copies(&raw, 1);
    assert_eq!(copies.len(), 1, "{copies:?}");
    assert!(copies[0].contains("CDN"), "{copies:?}");
    let buffer = tmux.run(&["show-buffer"]);
    assert_eq!(buffer, copies[0], "tmux took the copy for its clipboard");

    // Without a search, y copies the agent's whole last reply. (Esc is sent on its own: Esc
    // and a key right after it read as Alt and the key.)
    tmux.keys(&["Escape"]);
    tmux.wait_for("Tab focus");
    tmux.keys(&["y"]);
    tmux.wait_for("Copied Risks's last reply");
    let copies = wait_for_copies(&raw, 2);
    assert_eq!(copies.len(), 2, "{copies:?}");
    assert!(
        copies[1].starts_with("The load model crashed, so I estimated by hand")
            && copies[1].ends_with("before the announcement."),
        "{copies:?}"
    );
    tmux.keys(&["C-c", "q"]);
}

/// A lead that asks first, a counter whose calculator needs approval, a closer.
fn debugging_crew() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tmux-crew-debugging");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("debugging.yaml");
    std::fs::write(
        &path,
        r#"name: debugging
input: go
settings: {scripted_tokens_per_second: 0, approve_tools: {calculator: ask}}
routing:
  signals:
    lead: [{signal: "[COUNT]", target: counter}]
  agent_behaviors:
    lead: {wait_for_signal: true}
agents:
  - id: lead
    provider: scripted
    script: [{reply: "Ready when you are."}, {reply: "Counting next. [COUNT]"}]
  - id: counter
    provider: scripted
    tools: [calculator]
    handoff_targets: [closer]
    script:
      - {reply: "Let me count.", tool_calls: [{tool: calculator, arguments: {expression: "6*7"}}]}
      - {reply: "It is 42."}
  - id: closer
    provider: scripted
    is_terminal: true
    script: [{reply: "Closed."}]
"#,
    )
    .unwrap();
    path
}

#[test]
fn b_sets_a_breakpoint_space_approves_g_guides_and_quitting_detaches_for_resume() {
    let tag = "debugging";
    let Some(tmux) = launch(tag, &debugging_crew(), 140, 40) else {
        return;
    };
    // The lead waits for an answer: leave the box, set a breakpoint, then answer.
    tmux.wait_for("Answer lead");
    tmux.keys(&["Escape"]);
    tmux.wait_for("a answer");
    tmux.keys(&["b"]);
    tmux.wait_for("Breakpoints");
    tmux.keys(&["agent:closer", "Enter"]);
    tmux.wait_for("▶ agent:closer");
    tmux.keys(&["Escape"]);
    tmux.keys(&["a"]);
    tmux.wait_for("Answer lead");
    tmux.keys(&["go on", "Enter"]);
    // The calculator asks first; space approves it.
    let screen = tmux.wait_for("◆ waits for approval before");
    assert!(
        screen.contains("calculator with") && screen.contains("\"expression\": \"6*7\""),
        "{screen}"
    );
    tmux.keys(&["Space"]);
    tmux.wait_for("→ 42");
    // The breakpoint stops the closer before its turn; guidance is given there.
    tmux.wait_until("the closer stopped by its breakpoint", |screen| {
        screen.contains("◆ stopped before its turn") && screen.contains("agent:closer")
    });
    tmux.keys(&["g"]);
    tmux.wait_for("Guidance for closer");
    tmux.keys(&["Be brief.", "Enter"]);
    tmux.wait_for("✎ guidance: Be brief.");
    tmux.keys(&["q"]);
    tmux.wait_for("d  detach");
    tmux.keys(&["d"]);
    // The shell prints the exit status, then the terminal mode: wait for both, since the
    // screen can be read between the two.
    let screen = tmux.wait_until("the exit status and the terminal mode", |screen| {
        screen
            .split("EXIT=")
            .nth(1)
            .is_some_and(|after| after.contains("icanon"))
    });
    assert!(screen.contains("EXIT=2"), "a detached run waits:\n{screen}");
    assert!(screen.contains("`crewtui resume "), "{screen}");
    assert!(
        screen.contains("icanon") && !screen.contains("-icanon"),
        "{screen}"
    );

    let events = recorded(&home(tag));
    let of = |kind: &str| -> Vec<&serde_json::Value> {
        events.iter().filter(|e| e["type"] == kind).collect()
    };
    assert_eq!(of("breakpoints")[0]["specs"][0], "agent:closer");
    assert!(
        of("decision").iter().any(|d| d["op"] == "approve"),
        "{events:?}"
    );
    assert_eq!(of("guidance")[0]["text"], "Be brief.");
    assert_eq!(of("session_finished")[0]["outcome"], "paused");

    // Resuming goes on from the closer's gate, and the closer sees the guidance.
    let dir = home(tag).join("crewtui/sessions");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let out = common::binary(
        &home(tag),
        &["resume", file.to_str().unwrap(), "--headless"],
    )
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let closer_request = stdout
        .lines()
        .find(|l| l.contains("\"model_request\"") && l.contains("\"closer\""))
        .expect("the closer was asked");
    assert!(closer_request.contains("Be brief."), "{closer_request}");
}
