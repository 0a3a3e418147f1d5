//! The `read_file` and `list_dir` built-ins, confined to the crew's files root.
//!
//! A path is refused when it leads outside the root, whether by `..`, by being absolute
//! elsewhere, or through a symlink: it is checked before and after symlinks are resolved.

use std::path::{Component, Path, PathBuf};

use tokio::io::AsyncReadExt;

use crate::provider::ToolSpec;

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

/// The real location of `path` (relative to `root`, or absolute), if it lies inside `root`.
async fn resolve(root: &Path, path: &str) -> Result<PathBuf, String> {
    let given = lexically_normal(root);
    let root = tokio::fs::canonicalize(root)
        .await
        .map_err(|e| format!("the files root {} cannot be opened: {e}", root.display()))?;
    let escapes = || format!("`{path}` escapes the files root {}", root.display());
    let joined = lexically_normal(&root.join(path));
    // Checked before touching the file system too, so that whether something exists outside
    // the root is not revealed by the error. An absolute path may name the root as configured
    // rather than as resolved.
    let inside = joined.starts_with(&root) || given.is_absolute() && joined.starts_with(&given);
    if !inside {
        return Err(escapes());
    }
    let real = tokio::fs::canonicalize(&joined)
        .await
        .map_err(|e| format!("cannot open `{path}`: {e}"))?;
    if !real.starts_with(&root) {
        return Err(escapes());
    }
    Ok(real)
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
            let path = string_arg(&args, "path")?;
            let real = resolve(&self.root, path).await?;
            let metadata = tokio::fs::metadata(&real)
                .await
                .map_err(|e| format!("cannot read `{path}`: {e}"))?;
            if metadata.is_dir() {
                return Err(format!("`{path}` is a directory; list it with list_dir"));
            }
            // A fifo or a device could block the read forever, or never end.
            if !metadata.is_file() {
                return Err(format!("`{path}` is not a regular file"));
            }
            let too_big = |len: u64| {
                format!("`{path}` is {len} bytes, more than read_file reads ({MAX_READ_BYTES})")
            };
            if metadata.len() > MAX_READ_BYTES {
                return Err(too_big(metadata.len()));
            }
            let cannot_read = |e: std::io::Error| format!("cannot read `{path}`: {e}");
            let file = tokio::fs::File::open(&real).await.map_err(cannot_read)?;
            // The file may have grown since its size was read.
            let mut bytes = Vec::new();
            file.take(MAX_READ_BYTES + 1)
                .read_to_end(&mut bytes)
                .await
                .map_err(cannot_read)?;
            if bytes.len() as u64 > MAX_READ_BYTES {
                return Err(too_big(bytes.len() as u64));
            }
            Ok(String::from_utf8_lossy(&bytes).into_owned())
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
            let real = resolve(&self.root, path).await?;
            let cannot = |e: std::io::Error| format!("cannot list `{path}`: {e}");
            let mut entries = tokio::fs::read_dir(&real).await.map_err(cannot)?;
            let mut names = Vec::new();
            while let Some(entry) = entries.next_entry().await.map_err(cannot)? {
                let mut name = entry.file_name().to_string_lossy().into_owned();
                // A symlink is listed as what it points to.
                let is_dir = match entry.file_type().await {
                    Ok(kind) if kind.is_symlink() => tokio::fs::metadata(entry.path())
                        .await
                        .is_ok_and(|m| m.is_dir()),
                    Ok(kind) => kind.is_dir(),
                    Err(_) => false,
                };
                if is_dir {
                    name.push('/');
                }
                names.push(name);
            }
            names.sort();
            if names.is_empty() {
                return Ok("(empty directory)".to_string());
            }
            Ok(names.join("\n"))
        })
    }
}

#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::tools::test_support::TestDir;

    /// root/ with a.txt, sub/b.txt, a link out and a link in; a secret beside root/.
    fn tree() -> (TestDir, PathBuf) {
        let dir = TestDir::new("fs");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.txt"), "alpha").unwrap();
        std::fs::write(root.join("sub/b.txt"), "beta").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.path(), root.join("out")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("leak.txt")).unwrap();
        std::os::unix::fs::symlink(root.join("sub"), root.join("inner")).unwrap();
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
        assert_eq!(top.as_deref(), Ok("a.txt\ninner/\nleak.txt\nout/\nsub/"));
        let sub = call(&list, serde_json::json!({"path": "sub"})).await;
        assert_eq!(sub.as_deref(), Ok("b.txt"));
        let file = call(&list, serde_json::json!({"path": "a.txt"})).await;
        assert!(file.unwrap_err().contains("cannot list `a.txt`"));
    }
}
