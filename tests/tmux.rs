//! End to end: the real binary in a real terminal (tmux), driven by keys and read back from the
//! screen as a person would see it.

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
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if screen.contains(what) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
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
    if !tmux_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is required on CI (.ci/run installs it)"
        );
        eprintln!("SKIPPED: tmux is not installed; apt-get install tmux to run this test");
        return None;
    }
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tmux-{tag}"));
    let script = format!(
        "XDG_STATE_HOME={0} XDG_DATA_HOME={0} {1} {2}; echo EXIT=$?; stty -a | grep -o -- '-\\?icanon'; sleep 600",
        home.display(),
        env!("CARGO_BIN_EXE_crewtui"),
        crew.display()
    );
    let tmux = Tmux {
        socket: format!("crewtui-{tag}-{}", std::process::id()),
    };
    let (w, h) = (width.to_string(), height.to_string());
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "e2e",
        "-x",
        &w,
        "-y",
        &h,
        "bash",
        "-c",
        &script,
    ]);
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

#[test]
fn a_terminate_signal_restores_the_terminal() {
    let crew = Path::new(env!("CARGO_MANIFEST_DIR")).join("crews/demo.yaml");
    let Some(tmux) = launch("term", &crew, 120, 40) else {
        return;
    };
    tmux.wait_for("Answer Lead");
    let shell = tmux.run(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"]);
    let child = Command::new("pgrep")
        .args(["-P", shell.trim(), "-x", "crewtui"])
        .output()
        .expect("pgrep runs");
    let pid = String::from_utf8_lossy(&child.stdout).trim().to_string();
    assert!(!pid.is_empty(), "crewtui is running under the pane's shell");
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    // The shell prints the exit status, then the terminal mode (`icanon` or `-icanon`).
    let screen = tmux.wait_for("icanon");
    assert!(
        screen.contains("EXIT=1"),
        "a terminated run counts as cancelled:\n{screen}"
    );
    let after = screen.split("EXIT=").nth(1).unwrap();
    assert!(
        after.contains("icanon") && !after.contains("-icanon"),
        "raw mode left on:\n{screen}"
    );
    assert!(
        !screen.contains("Answer Lead"),
        "the alternate screen was left:\n{screen}"
    );
}

/// Waits until `file` holds `what`, failing with what it holds if it never does.
fn wait_for_bytes(file: &Path, what: &[u8]) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let bytes = std::fs::read(file).unwrap_or_default();
        if bytes.windows(what.len()).any(|w| w == what) {
            return bytes;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {:?} in {}: {:?}",
            String::from_utf8_lossy(what),
            file.display(),
            String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(400)..])
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The texts put on the clipboard by the OSC 52 sequences in `bytes`.
fn clipboard_writes(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.split("\x1b]52;c;")
        .skip(1)
        .filter_map(|rest| rest.split('\x07').next())
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
    let bytes = wait_for_bytes(&raw, b"\x1b]52;c;");
    let copies = clipboard_writes(&bytes);
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
    let bytes = std::fs::read(&raw).unwrap();
    let copies = clipboard_writes(&bytes);
    assert_eq!(copies.len(), 2, "{copies:?}");
    assert!(
        copies[1].starts_with("The load model crashed, so I estimated by hand")
            && copies[1].ends_with("before the announcement."),
        "{copies:?}"
    );
    tmux.keys(&["C-c", "q"]);
}
