//! Opening a path beneath a directory so that the object checked is the object opened, and
//! listing a directory that is already open.
//!
//! A path is resolved from an open descriptor of the root, never as a string joined to the
//! root's path and opened again by name: on Linux by `openat2` with `RESOLVE_BENEATH`, where
//! the kernel refuses any step out of the root; elsewhere, and where openat2 is missing or
//! forbidden (old kernels, seccomp filters), by a walk that opens one component at a time with
//! `O_NOFOLLOW`, relative to the directory opened before it. Both keep the same rules: `..`
//! never climbs above the root, an absolute symlink is refused, and a relative one is followed
//! while it stays beneath the root. Swapping a directory for a symlink while a path is opened
//! can make the open fail, never lead outside.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path};

/// What the path must lead to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Want {
    /// Anything; the caller looks at what it got. Opened without blocking, so that a FIFO
    /// cannot hang the open.
    Any,
    Directory,
}

#[derive(Debug)]
pub(super) enum OpenError {
    /// The path leads out of the root.
    Escapes,
    Io(io::Error),
}

/// Most symlinks one path may go through, as the kernel counts them.
const MAX_LINKS: usize = 40;

/// openat2 asks for another try when a rename elsewhere raced with one of its `..` steps.
#[cfg(target_os = "linux")]
const RACE_RETRIES: usize = 8;

fn flags(want: Want) -> libc::c_int {
    let base = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY;
    match want {
        Want::Any => base | libc::O_NONBLOCK,
        Want::Directory => base | libc::O_DIRECTORY,
    }
}

/// Opens `path`, which must be relative, beneath the directory `root`.
pub(super) fn open(root: BorrowedFd<'_>, path: &Path, want: Want) -> Result<OwnedFd, OpenError> {
    #[cfg(target_os = "linux")]
    if let Some(opened) = kernel(root, path, want) {
        return opened;
    }
    walk(root, path, want)
}

/// `openat2(RESOLVE_BENEATH)`; `None` when this kernel cannot or may not do it.
#[cfg(target_os = "linux")]
fn kernel(root: BorrowedFd<'_>, path: &Path, want: Want) -> Option<Result<OwnedFd, OpenError>> {
    if path.is_absolute() {
        return Some(Err(OpenError::Escapes));
    }
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    let path = match c_string(path.as_os_str()) {
        Ok(path) => path,
        Err(error) => return Some(Err(error)),
    };
    // SAFETY: open_how is three integers, and zero means "nothing asked" for each.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags(want) as libc::__u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
    for _ in 0..RACE_RETRIES {
        // SAFETY: `path` is NUL-terminated and `how` outlives the call, which is told its size.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                path.as_ptr(),
                &raw const how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if let Ok(fd) = libc::c_int::try_from(fd)
            && fd >= 0
        {
            // SAFETY: a descriptor just opened, owned by nobody else.
            return Some(Ok(unsafe { OwnedFd::from_raw_fd(fd) }));
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            // No openat2 (before Linux 5.6), or a seccomp filter that forbids it.
            Some(libc::ENOSYS | libc::EPERM) => return None,
            Some(libc::EAGAIN | libc::EINTR) => {}
            Some(libc::EXDEV) => return Some(Err(OpenError::Escapes)),
            _ => return Some(Err(OpenError::Io(error))),
        }
    }
    Some(Err(OpenError::Io(io::Error::from_raw_os_error(
        libc::EAGAIN,
    ))))
}

/// One component at a time, each opened with `O_NOFOLLOW` relative to the one before; a
/// symlink met on the way is read and its target walked instead, from where it was found.
fn walk(root: BorrowedFd<'_>, path: &Path, want: Want) -> Result<OwnedFd, OpenError> {
    // The components still to take, the next one last.
    let mut todo = Vec::new();
    push_components(&mut todo, path)?;
    // The directories walked into, the current one last; none means the root itself. `..`
    // goes back to the one before, never to whatever the file system calls the parent now.
    let mut opened: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            opened.pop().ok_or(OpenError::Escapes)?;
            continue;
        }
        let here = opened.last().map_or(root, AsFd::as_fd);
        let last = todo.is_empty();
        let step = if last { want } else { Want::Directory };
        let name = c_string(&name)?;
        match openat(here, &name, flags(step) | libc::O_NOFOLLOW) {
            Ok(fd) if last => return Ok(fd),
            Ok(fd) => opened.push(fd),
            Err(error) => {
                let Some(target) = symlink_target(here, &name, &error) else {
                    return Err(OpenError::Io(error));
                };
                links += 1;
                if links > MAX_LINKS {
                    return Err(OpenError::Io(io::Error::from_raw_os_error(libc::ELOOP)));
                }
                push_components(&mut todo, Path::new(&target))?;
            }
        }
    }
    // The path ended on a directory already walked into (`.`, `sub/..`, or an empty path).
    let here = opened.last().map_or(root, AsFd::as_fd);
    openat(here, c".", flags(want)).map_err(OpenError::Io)
}

/// Puts the components of `path` on `todo` so that its first is taken next; an absolute path
/// leads out of the root by definition.
fn push_components(todo: &mut Vec<OsString>, path: &Path) -> Result<(), OpenError> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => parts.push(name.to_os_string()),
            Component::ParentDir => parts.push(OsString::from("..")),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return Err(OpenError::Escapes),
        }
    }
    todo.extend(parts.into_iter().rev());
    Ok(())
}

fn c_string(text: &OsStr) -> Result<CString, OpenError> {
    CString::new(text.as_bytes()).map_err(|_| {
        let error = io::Error::new(io::ErrorKind::InvalidInput, "the path holds a NUL byte");
        OpenError::Io(error)
    })
}

fn openat(dir: BorrowedFd<'_>, name: &CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    loop {
        // SAFETY: `name` is NUL-terminated; no mode is needed without O_CREAT.
        let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags) };
        if fd >= 0 {
            // SAFETY: a descriptor just opened, owned by nobody else.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// The target of `name` in `dir` when `error` came from opening a symlink with `O_NOFOLLOW`
/// (ELOOP on Linux and macOS, EMLINK on FreeBSD; ENOTDIR where a directory was wanted).
fn symlink_target(dir: BorrowedFd<'_>, name: &CStr, error: &io::Error) -> Option<OsString> {
    let from_a_link = matches!(
        error.raw_os_error(),
        Some(libc::ELOOP | libc::EMLINK | libc::ENOTDIR)
    );
    if !from_a_link {
        return None;
    }
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: `buf` is writable for the length given; readlinkat writes no NUL.
    let len = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    // -1: not a link (after all, or any more); a full buffer: a target too long to follow.
    let len = usize::try_from(len).ok().filter(|&len| len < buf.len())?;
    buf.truncate(len);
    Some(OsString::from_vec(buf))
}

/// What a directory entry is, not following a symlink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Directory,
    Symlink,
    Other,
}

/// A directory stream, closed (with its descriptor) on drop.
struct DirStream(*mut libc::DIR);

impl Drop for DirStream {
    fn drop(&mut self) {
        // SAFETY: the stream came from fdopendir and is closed once, here.
        unsafe { libc::closedir(self.0) };
    }
}

/// The entries of the open directory `dir`, without `.` and `..`, in no particular order.
pub(super) fn list(dir: OwnedFd) -> io::Result<Vec<(OsString, Kind)>> {
    let raw = dir.into_raw_fd();
    // SAFETY: `raw` is an open descriptor; on success the stream owns it.
    let stream = unsafe { libc::fdopendir(raw) };
    if stream.is_null() {
        let error = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so the descriptor is still ours to close.
        unsafe { libc::close(raw) };
        return Err(error);
    }
    let stream = DirStream(stream);
    let mut entries = Vec::new();
    loop {
        // readdir tells the end of the directory from an error only by errno.
        clear_errno();
        // SAFETY: the stream is open; the entry stays valid until the next readdir.
        let entry = unsafe { libc::readdir(stream.0) };
        if entry.is_null() {
            let error = io::Error::last_os_error();
            return match error.raw_os_error() {
                Some(0) => Ok(entries),
                _ => Err(error),
            };
        }
        // SAFETY: as above; d_name is NUL-terminated.
        let (name, d_type) = unsafe { (CStr::from_ptr((*entry).d_name.as_ptr()), (*entry).d_type) };
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let kind = match d_type {
            libc::DT_DIR => Kind::Directory,
            libc::DT_LNK => Kind::Symlink,
            // Some file systems do not say; ask them.
            libc::DT_UNKNOWN => kind_at(&stream, name),
            _ => Kind::Other,
        };
        entries.push((OsStr::from_bytes(name.to_bytes()).to_os_string(), kind));
    }
}

fn kind_at(stream: &DirStream, name: &CStr) -> Kind {
    // SAFETY: stat is plain data; fstatat fills it in.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: the stream's descriptor is open, `name` is NUL-terminated, `stat` is writable.
    let found = unsafe {
        libc::fstatat(
            libc::dirfd(stream.0),
            name.as_ptr(),
            &raw mut stat,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    match stat.st_mode & libc::S_IFMT {
        libc::S_IFDIR if found == 0 => Kind::Directory,
        libc::S_IFLNK if found == 0 => Kind::Symlink,
        _ => Kind::Other,
    }
}

fn clear_errno() {
    // SAFETY: each returns this thread's errno, valid to write for the thread's life.
    unsafe {
        #[cfg(any(target_os = "linux", target_os = "dragonfly"))]
        let errno = libc::__errno_location();
        #[cfg(any(target_os = "android", target_os = "netbsd", target_os = "openbsd"))]
        let errno = libc::__errno();
        #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
        let errno = libc::__error();
        *errno = 0;
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;
    #[cfg(target_os = "linux")]
    use crate::tools::test_support::RaceTree;
    use crate::tools::test_support::TestDir;

    type Opener = fn(BorrowedFd<'_>, &Path, Want) -> Result<OwnedFd, OpenError>;

    /// The openers to check: the walk everywhere, and openat2 where this kernel has it.
    fn openers() -> Vec<(&'static str, Opener)> {
        let mut openers: Vec<(&'static str, Opener)> = vec![("walk", walk)];
        #[cfg(target_os = "linux")]
        {
            fn kernel_only(
                root: BorrowedFd<'_>,
                path: &Path,
                want: Want,
            ) -> Result<OwnedFd, OpenError> {
                kernel(root, path, want).expect("openat2 is available on this kernel")
            }
            let probe = std::fs::File::open("/").unwrap();
            if kernel(probe.as_fd(), Path::new("."), Want::Directory).is_some() {
                openers.push(("openat2", kernel_only));
            } else {
                eprintln!("openat2 is not available here: only the walk is checked");
            }
        }
        openers
    }

    /// root/ with a.txt, sub/b.txt and links in and out of it; secret.txt beside root/.
    fn tree() -> (TestDir, std::fs::File) {
        let dir = TestDir::new("beneath");
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::write(root.join("a.txt"), "alpha").unwrap();
        std::fs::write(root.join("sub/b.txt"), "beta").unwrap();
        std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        symlink("sub", root.join("inner")).unwrap();
        symlink("../a.txt", root.join("sub/up.txt")).unwrap();
        symlink("deeper/../../a.txt", root.join("sub/round.txt")).unwrap();
        symlink("../secret.txt", root.join("rel-out.txt")).unwrap();
        symlink(dir.path().join("secret.txt"), root.join("abs-out.txt")).unwrap();
        symlink(root.join("a.txt"), root.join("abs-in.txt")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        let root = std::fs::File::open(&root).unwrap();
        (dir, root)
    }

    fn read(opener: Opener, root: &std::fs::File, path: &str) -> Result<String, String> {
        match opener(root.as_fd(), Path::new(path), Want::Any) {
            Ok(fd) => {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::fs::File::from(fd), &mut text)
                    .map_err(|e| e.to_string())?;
                Ok(text)
            }
            Err(OpenError::Escapes) => Err("escapes".to_string()),
            Err(OpenError::Io(error)) => Err(error.to_string()),
        }
    }

    #[test]
    fn both_openers_follow_the_same_rules() {
        let (_dir, root) = tree();
        for (label, opener) in openers() {
            let read = |path: &str| read(opener, &root, path);
            for (path, expected) in [
                ("a.txt", "alpha"),
                ("sub/b.txt", "beta"),
                ("./sub/../sub/b.txt", "beta"),
                ("inner/b.txt", "beta"),
                ("sub/up.txt", "alpha"),
                ("sub/round.txt", "alpha"),
                ("inner/../a.txt", "alpha"),
            ] {
                assert_eq!(read(path).as_deref(), Ok(expected), "{label}: {path}");
            }
            for path in [
                "../secret.txt",
                "sub/../../secret.txt",
                "rel-out.txt",
                "abs-out.txt",
                "abs-in.txt",
                "/etc/passwd",
            ] {
                assert_eq!(read(path), Err("escapes".to_string()), "{label}: {path}");
            }
            let missing = read("sub/nope.txt").unwrap_err();
            assert!(missing.contains("No such file"), "{label}: {missing}");
            let looped = read("loop").unwrap_err();
            assert!(looped.contains("symbolic links"), "{label}: {looped}");
            let nul = read("a\0b").unwrap_err();
            assert!(nul.contains("NUL"), "{label}: {nul}");
            for (path, want, opens) in [
                ("", Want::Directory, true),
                ("sub/..", Want::Directory, true),
                ("inner", Want::Directory, true),
                ("a.txt", Want::Directory, false),
                ("sub", Want::Any, true),
            ] {
                let got = opener(root.as_fd(), Path::new(path), want);
                assert_eq!(got.is_ok(), opens, "{label}: {path} as {want:?}: {got:?}");
            }
        }
    }

    #[test]
    fn listing_an_open_directory_names_every_entry_and_its_kind() {
        let (_dir, root) = tree();
        let sub = walk(root.as_fd(), Path::new("sub"), Want::Directory).unwrap();
        let mut entries = list(sub).unwrap();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let expected = [
            ("b.txt", Kind::Other),
            ("deeper", Kind::Directory),
            ("round.txt", Kind::Symlink),
            ("up.txt", Kind::Symlink),
        ]
        .map(|(name, kind)| (OsString::from(name), kind));
        assert_eq!(entries, expected);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn swapping_a_directory_for_a_link_out_never_leads_outside() {
        let tree = RaceTree::new("beneath-race");
        let root = std::fs::File::open(&tree.root).unwrap();
        for (label, opener) in openers() {
            let swapper = tree.swap();
            let mut inside = 0;
            let started = std::time::Instant::now();
            let mut round = 0;
            while swapper.racing(round, 2000, inside, started) {
                round += 1;
                match read(opener, &root, "d/f.txt").as_deref() {
                    Ok("inside") => inside += 1,
                    Ok(other) => panic!("{label}: read {other:?} from outside the root"),
                    Err(_) => {}
                }
            }
            let swaps = swapper.stop();
            assert!(
                swaps > 0 && inside > 0,
                "{label}: {swaps} swaps, {inside} reads inside"
            );
        }
    }
}
