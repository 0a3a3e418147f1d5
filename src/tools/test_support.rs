//! Helpers for the tools tests: a scratch directory removed when dropped (no tempfile
//! crate), a crew to build a registry from, a check that a process is gone, and a thread that
//! keeps swapping two paths.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use crate::config::model::{CommandToolConfig, Crew, Routing, Settings};

pub(crate) struct TestDir {
    path: PathBuf,
}

impl TestDir {
    pub(crate) fn new(label: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("crewtui-tools-{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test dir");
        Self { path }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A crew with no agents, files under `root` and these command tools.
pub(crate) fn crew(root: &Path, tools: Vec<(&str, CommandToolConfig)>) -> Crew {
    Crew {
        name: "test".to_string(),
        description: String::new(),
        source: root.join("crew.yaml"),
        entry_point: String::new(),
        input: None,
        agents: Vec::new(),
        settings: Settings {
            files_root: root.to_path_buf(),
            ..Settings::default()
        },
        routing: Routing::default(),
        providers: BTreeMap::new(),
        tools: tools
            .into_iter()
            .map(|(name, config)| (name.to_string(), config))
            .collect(),
        scripted_tools: BTreeMap::new(),
        prices: Default::default(),
        origin: None,
    }
}

pub(crate) fn command(
    program: &str,
    args: &[&str],
    timeout_seconds: Option<u64>,
) -> CommandToolConfig {
    CommandToolConfig {
        description: format!("runs {program}"),
        command: PathBuf::from(program),
        args: args.iter().map(|a| (*a).to_string()).collect(),
        parameters: serde_json::json!({"type": "object", "properties": {}}),
        timeout_seconds,
        env: Vec::new(),
        approve: None,
    }
}

/// The pid a test program wrote to `file`, waiting up to 10 s for it to appear.
pub(crate) async fn read_pid(file: &Path) -> u32 {
    for _ in 0..200 {
        if let Ok(text) = std::fs::read_to_string(file)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pid in {}", file.display());
}

/// Whether process `pid` has ended (gone, or a zombie waiting to be reaped) within 5 s.
pub(crate) async fn process_ends(pid: u32) -> bool {
    for _ in 0..100 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return true;
        };
        // The state follows the command name, which is in parentheses.
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        if state.starts_with('Z') || state.starts_with('X') {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// The layout of the swap race: root/d/f.txt reads "inside"; root/l is a symlink to
/// outside/, whose f.txt reads "outside" and which also holds only-outside.txt. While root/d
/// and root/l trade places, the name d/f.txt leads outside half of the time.
#[cfg(target_os = "linux")]
pub(crate) struct RaceTree {
    _dir: TestDir,
    pub(crate) root: PathBuf,
}

#[cfg(target_os = "linux")]
impl RaceTree {
    pub(crate) fn new(label: &str) -> Self {
        let dir = TestDir::new(label);
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("d")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("d/f.txt"), "inside").unwrap();
        std::fs::write(outside.join("f.txt"), "outside").unwrap();
        std::fs::write(outside.join("only-outside.txt"), "").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("l")).unwrap();
        Self { _dir: dir, root }
    }

    /// Starts trading root/d and root/l.
    pub(crate) fn swap(&self) -> Swapper {
        Swapper::start(&self.root.join("d"), &self.root.join("l"))
    }
}

/// Exchanges two paths (a directory and a symlink, say) over and over on a thread of its own,
/// atomically each time (renameat2 with RENAME_EXCHANGE), until stopped or dropped.
#[cfg(target_os = "linux")]
pub(crate) struct Swapper {
    stop: Arc<AtomicBool>,
    swaps: Arc<std::sync::atomic::AtomicU64>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

#[cfg(target_os = "linux")]
impl Swapper {
    fn start(a: &Path, b: &Path) -> Self {
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        let (a, b) = (c(a), c(b));
        let stop = Arc::new(AtomicBool::new(false));
        let counted = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let thread = {
            let stop = Arc::clone(&stop);
            let counted = Arc::clone(&counted);
            std::thread::spawn(move || {
                let mut swaps = 0;
                while !stop.load(Ordering::Relaxed) {
                    // SAFETY: both paths are NUL-terminated and live across the call.
                    let result = unsafe {
                        libc::syscall(
                            libc::SYS_renameat2,
                            libc::AT_FDCWD,
                            a.as_ptr(),
                            libc::AT_FDCWD,
                            b.as_ptr(),
                            libc::RENAME_EXCHANGE,
                        )
                    };
                    assert_eq!(result, 0, "renameat2: {}", std::io::Error::last_os_error());
                    swaps += 1;
                    counted.store(swaps, Ordering::Relaxed);
                }
                swaps
            })
        };
        Self {
            stop,
            swaps: counted,
            thread: Some(thread),
        }
    }

    /// Whether the race is still to be run: fewer than `rounds` rounds done, too few swaps for
    /// a race worth the name, or too few reads that got through (`inside`) to show the reads
    /// work at all — and less than a few seconds gone (a loaded machine may give either side
    /// little time).
    pub(crate) fn racing(
        &self,
        round: usize,
        rounds: usize,
        inside: usize,
        started: std::time::Instant,
    ) -> bool {
        let enough = round >= rounds && self.swaps.load(Ordering::Relaxed) >= 100 && inside >= 10;
        !enough && started.elapsed() < std::time::Duration::from_secs(5)
    }

    /// Stops swapping; how many swaps there were.
    pub(crate) fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().expect("stopped once");
        thread.join().expect("the swapper thread")
    }
}

#[cfg(target_os = "linux")]
impl Drop for Swapper {
    /// A test that fails mid-race stops the thread before its directory is removed.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
