//! Helpers for the tools tests: a scratch directory removed when dropped (no tempfile
//! crate), a crew to build a registry from, and a check that a process is gone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
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
