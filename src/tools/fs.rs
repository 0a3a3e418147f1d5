//! The `read_file` and `list_dir` built-ins, confined to the crew's files root.
//!
//! A path is refused when it leads outside the root, whether by `..`, by being absolute
//! elsewhere, or through a symlink. It is first checked as written, so that whether something
//! exists outside the root is not revealed by the error, then opened beneath the open root
//! ([`super::beneath`]): what is read is what was checked, however the tree changes meanwhile.
//! A symlink is followed only when it is relative and stays inside the root.

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use crate::provider::ToolSpec;

use super::beneath::{self, Kind, OpenError, Want};
use super::{BoxFuture, Tool, ToolContext, json_kind, string_arg};

/// Larger files are refused rather than read whole into memory only to be truncated.
const MAX_READ_BYTES: u64 = 4 * 1024 * 1024;

/// `path` with `.` and `..` applied, without touching the file system.
fn lexically_normal(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir | Component::Normal(_) => {
                normal.push(component);
            }
            Component::CurDir => {}
            Component::ParentDir => {
                normal.pop();
            }
        }
    }
    normal
}

/// The files root, open for one call.
struct FilesRoot {
    dir: OwnedFd,
    /// As configured (the loader made it absolute) and as resolved: an absolute path given by
    /// the model may start with either.
    configured: PathBuf,
    real: PathBuf,
}

impl FilesRoot {
    fn open(root: &Path) -> Result<Self, String> {
        let cannot =
            |e: std::io::Error| format!("the files root {} cannot be opened: {e}", root.display());
        let real = std::fs::canonicalize(root).map_err(cannot)?;
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(root)
            .map_err(cannot)?;
        Ok(Self {
            dir: dir.into(),
            configured: lexically_normal(root),
            real,
        })
    }

    fn escapes(&self, path: &str) -> String {
        format!("`{path}` escapes the files root {}", self.real.display())
    }

    /// `path` relative to the root, refused when it climbs out as written.
    fn relative(&self, path: &str) -> Result<PathBuf, String> {
        let given = Path::new(path);
        if given.is_absolute() {
            let normal = lexically_normal(given);
            let inside = normal
                .strip_prefix(&self.real)
                .or_else(|_| normal.strip_prefix(&self.configured));
            return inside
                .map(Path::to_path_buf)
                .map_err(|_| self.escapes(path));
        }
        let mut depth = 0usize;
        for component in given.components() {
            match component {
                Component::Normal(_) => depth += 1,
                Component::ParentDir => {
                    depth = depth.checked_sub(1).ok_or_else(|| self.escapes(path))?;
                }
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return Err(self.escapes(path)),
            }
        }
        Ok(given.to_path_buf())
    }

    fn open_beneath(&self, relative: &Path, want: Want) -> Result<OwnedFd, OpenError> {
        beneath::open(self.dir.as_fd(), relative, want)
    }

    /// `path` opened beneath the root, and its form relative to the root. A failure's message
    /// says what the tool was `doing`.
    fn open_path(&self, path: &str, want: Want, doing: &str) -> Result<(PathBuf, OwnedFd), String> {
        let relative = self.relative(path)?;
        match self.open_beneath(&relative, want) {
            Ok(fd) => Ok((relative, fd)),
            Err(OpenError::Escapes) => Err(self.escapes(path)),
            Err(OpenError::Io(error)) => Err(format!("{doing} `{path}`: {error}")),
        }
    }
}

/// Runs file-system work off the async threads. A panic in it stays the tool's panic.
async fn blocking(
    work: impl FnOnce() -> Result<String, String> + Send + 'static,
) -> Result<String, String> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(error) => match error.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(error) => Err(format!("the file-system work was stopped: {error}")),
        },
    }
}

fn read_file(root: &Path, path: &str) -> Result<String, String> {
    let (_, file) = FilesRoot::open(root)?.open_path(path, Want::Any, "cannot open")?;
    let file = std::fs::File::from(file);
    let cannot_read = |e: std::io::Error| format!("cannot read `{path}`: {e}");
    let metadata = file.metadata().map_err(cannot_read)?;
    if metadata.is_dir() {
        return Err(format!("`{path}` is a directory; list it with list_dir"));
    }
    // A fifo or a device could block the read forever, or never end.
    if !metadata.is_file() {
        return Err(format!("`{path}` is not a regular file"));
    }
    let too_big =
        |len: u64| format!("`{path}` is {len} bytes, more than read_file reads ({MAX_READ_BYTES})");
    if metadata.len() > MAX_READ_BYTES {
        return Err(too_big(metadata.len()));
    }
    // The file may have grown since its size was read.
    let mut bytes = Vec::new();
    file.take(MAX_READ_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > MAX_READ_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn list_dir(root: &Path, path: &str) -> Result<String, String> {
    let files = FilesRoot::open(root)?;
    let (relative, dir) = files.open_path(path, Want::Directory, "cannot list")?;
    let entries = beneath::list(dir).map_err(|e| format!("cannot list `{path}`: {e}"))?;
    let mut names: Vec<String> = entries
        .into_iter()
        .map(|(name, kind)| {
            // A symlink is listed as what it points to when that is inside the root; this
            // opens it by name again, which decides only the marker, never what is read.
            let is_dir = match kind {
                Kind::Directory => true,
                Kind::Symlink => files
                    .open_beneath(&relative.join(&name), Want::Directory)
                    .is_ok(),
                Kind::Other => false,
            };
            let mut shown = name.to_string_lossy().into_owned();
            if is_dir {
                shown.push('/');
            }
            shown
        })
        .collect();
    names.sort();
    if names.is_empty() {
        return Ok("(empty directory)".to_string());
    }
    Ok(names.join("\n"))
}

fn path_spec(name: &str, description: &str, path_help: &str, required: &[&str]) -> ToolSpec {
    ToolSpec {
        name: name.to_string(),
        description: description.to_string(),
        parameters: super::string_params(&[("path", path_help)], required),
    }
}

pub(super) struct ReadFile {
    spec: ToolSpec,
    root: PathBuf,
}

impl ReadFile {
    pub(super) fn new(root: PathBuf) -> Self {
        Self {
            spec: path_spec(
                "read_file",
                "Reads a text file under the crew's files directory and returns its contents.",
                "Path of the file, relative to the files directory",
                &["path"],
            ),
            root,
        }
    }
}

impl Tool for ReadFile {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call<'a>(
        &'a self,
        args: serde_json::Value,
        _ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let path = string_arg(&args, "path")?.to_string();
            let root = self.root.clone();
            blocking(move || read_file(&root, &path)).await
        })
    }
}

pub(super) struct ListDir {
    spec: ToolSpec,
    root: PathBuf,
}

impl ListDir {
    pub(super) fn new(root: PathBuf) -> Self {
        Self {
            spec: path_spec(
                "list_dir",
                "Lists a directory under the crew's files directory: one name a line, sorted, \
                 directories ending in /.",
                "Path of the directory, relative to the files directory (default: .)",
                &[],
            ),
            root,
        }
    }
}

impl Tool for ListDir {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn call<'a>(
        &'a self,
        args: serde_json::Value,
        _ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let path = match args.get("path") {
                None | Some(serde_json::Value::Null) => ".",
                Some(serde_json::Value::String(s)) if s.is_empty() => ".",
                Some(serde_json::Value::String(s)) => s.as_str(),
                Some(other) => {
                    return Err(format!(
                        "argument `path` must be a string, got {}",
                        json_kind(other)
                    ));
                }
            };
            let (root, path) = (self.root.clone(), path.to_string());
            blocking(move || list_dir(&root, &path)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::tools::test_support::TestDir;

    /// root/ with a.txt, sub/b.txt, links out and links in (one relative, one absolute); a
    /// secret beside root/.
    fn tree() -> (TestDir, PathBuf) {
        let dir = TestDir::new("fs");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.txt"), "alpha").unwrap();
        std::fs::write(root.join("sub/b.txt"), "beta").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("out")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("leak.txt")).unwrap();
        std::os::unix::fs::symlink("sub", root.join("inner")).unwrap();
        std::os::unix::fs::symlink(root.join("a.txt"), root.join("absolute.txt")).unwrap();
        (dir, root)
    }

    async fn call(tool: &dyn Tool, args: serde_json::Value) -> Result<String, String> {
        let ctx = ToolContext {
            cancel: CancellationToken::new(),
        };
        tool.call(args, &ctx).await
    }

    #[tokio::test]
    async fn reads_files_inside_the_root() {
        let (_dir, root) = tree();
        let read = ReadFile::new(root.clone());
        let a = call(&read, serde_json::json!({"path": "a.txt"})).await;
        assert_eq!(a.as_deref(), Ok("alpha"));
        let b = call(&read, serde_json::json!({"path": "./sub/../sub/b.txt"})).await;
        assert_eq!(b.as_deref(), Ok("beta"));
        let absolute = root.join("a.txt").display().to_string();
        let a = call(&read, serde_json::json!({"path": absolute})).await;
        assert_eq!(a.as_deref(), Ok("alpha"));
        let via_link = call(&read, serde_json::json!({"path": "inner/b.txt"})).await;
        assert_eq!(via_link.as_deref(), Ok("beta"));
    }

    #[tokio::test]
    async fn paths_out_of_the_root_are_refused() {
        let (dir, root) = tree();
        let read = ReadFile::new(root.clone());
        let outside = dir.path().join("secret.txt").display().to_string();
        for path in [
            "../secret.txt",
            "sub/../../secret.txt",
            "../missing.txt",
            "/etc/passwd",
            outside.as_str(),
            "out/secret.txt",
            "leak.txt",
            // Inside, but absolute: where it leads depends on more than the root.
            "absolute.txt",
        ] {
            let result = call(&read, serde_json::json!({"path": path})).await;
            let error = result.expect_err(path);
            assert!(error.contains("escapes the files root"), "{path}: {error}");
        }
        let list = ListDir::new(root);
        for path in ["..", "out", "/"] {
            let error = call(&list, serde_json::json!({"path": path})).await;
            let error = error.expect_err(path);
            assert!(error.contains("escapes the files root"), "{path}: {error}");
        }
    }

    #[tokio::test]
    async fn read_file_refuses_what_is_not_a_readable_text_file() {
        let (_dir, root) = tree();
        let read = ReadFile::new(root.clone());
        let missing = call(&read, serde_json::json!({"path": "nope.txt"})).await;
        assert!(missing.unwrap_err().contains("cannot open `nope.txt`"));
        let directory = call(&read, serde_json::json!({"path": "sub"})).await;
        assert!(directory.unwrap_err().contains("is a directory"));
        let fifo = std::process::Command::new("mkfifo")
            .arg(root.join("pipe"))
            .status();
        if fifo.is_ok_and(|status| status.success()) {
            let pipe = call(&read, serde_json::json!({"path": "pipe"})).await;
            assert!(pipe.unwrap_err().contains("not a regular file"));
        }
        let huge = vec![b'z'; MAX_READ_BYTES as usize + 1];
        std::fs::write(root.join("huge.txt"), huge).unwrap();
        let error = call(&read, serde_json::json!({"path": "huge.txt"})).await;
        assert!(
            error
                .unwrap_err()
                .contains("is 4194305 bytes, more than read_file reads")
        );
        let no_path = call(&read, serde_json::json!({})).await;
        assert!(
            no_path
                .unwrap_err()
                .contains("missing string argument `path`")
        );
    }

    #[tokio::test]
    async fn list_dir_sorts_and_marks_directories() {
        let (_dir, root) = tree();
        let list = ListDir::new(root);
        let top = call(&list, serde_json::json!({})).await;
        // Links out are not followed to see what they are.
        let expected = "a.txt\nabsolute.txt\ninner/\nleak.txt\nout\nsub/";
        assert_eq!(top.as_deref(), Ok(expected));
        let sub = call(&list, serde_json::json!({"path": "sub"})).await;
        assert_eq!(sub.as_deref(), Ok("b.txt"));
        let file = call(&list, serde_json::json!({"path": "a.txt"})).await;
        assert!(file.unwrap_err().contains("cannot list `a.txt`"));
    }

    /// The attack: a directory inside the root and a symlink to outside it trade
    /// places over and over while the tools read through the directory's name.
    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_directory_swapped_for_a_link_out_is_never_read_through() {
        let tree = crate::tools::test_support::RaceTree::new("fs-race");
        let read = ReadFile::new(tree.root.clone());
        let list = ListDir::new(tree.root.clone());
        let calls: [(&dyn Tool, serde_json::Value, &str); 2] = [
            (&read, serde_json::json!({"path": "d/f.txt"}), "inside"),
            (&list, serde_json::json!({"path": "d"}), "f.txt"),
        ];
        let swapper = tree.swap();
        let mut inside = [0; 2];
        let started = std::time::Instant::now();
        let mut round = 0;
        while swapper.racing(
            round,
            1500,
            inside.iter().copied().min().unwrap_or(0),
            started,
        ) {
            round += 1;
            for ((tool, args, answer), inside) in calls.iter().zip(&mut inside) {
                match call(*tool, args.clone()).await {
                    Ok(got) if got == *answer => *inside += 1,
                    Ok(got) => panic!("{} gave {got:?} from outside", tool.spec().name),
                    Err(_) => {}
                }
            }
        }
        let swaps = swapper.stop();
        assert!(
            swaps > 0 && inside.iter().all(|&n| n > 0),
            "{swaps} swaps; calls answered from inside: {inside:?}"
        );
    }
}
