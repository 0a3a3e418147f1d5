//! One process at a time appends to a session file (DESIGN.md "Sessions").
//!
//! The lock is an exclusive `flock(2)` on the open file, taken before anything is read, cut or
//! written, and held for as long as the file is open for appending: the kernel lets go of it
//! however the process ends, so a crash never leaves a stale lock behind (which a lock file
//! beside the session would). Who holds it is read from `/proc/locks` (Linux), to name the
//! other process in the refusal.

use std::fs::File;
use std::path::Path;

use super::SessionError;

/// Takes the exclusive lock on `file` (opened from `path`), or says who holds it.
pub(super) fn exclusive(file: &File, path: &Path) -> Result<(), SessionError> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        loop {
            // SAFETY: flock on a descriptor `file` owns; no pointers involved.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(());
            }
            let error = std::io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EWOULDBLOCK) => {
                    return Err(SessionError::Locked {
                        path: path.to_path_buf(),
                        holder: holder(file),
                    });
                }
                // A file system without flock (some network mounts): recording matters more
                // than the guard.
                _ => {
                    tracing::warn!("{}: cannot lock the session file: {error}", path.display());
                    return Ok(());
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (file, path);
        Ok(())
    }
}

/// `pid 1234: crewtui resume FILE`, for the process holding a `flock` on `file`.
#[cfg(target_os = "linux")]
fn holder(file: &File) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let metadata = file.metadata().ok()?;
    let device = format!(
        "{:02x}:{:02x}:{}",
        libc::major(metadata.dev()),
        libc::minor(metadata.dev()),
        metadata.ino()
    );
    let locks = read_proc(Path::new("/proc/locks"))?;
    let locks = String::from_utf8_lossy(&locks);
    let pid = holder_in(&locks, &device, metadata.ino())?;
    let command = read_proc(Path::new(&format!("/proc/{pid}/cmdline")))
        .map(|bytes| command_line(&bytes))
        .filter(|command| !command.is_empty());
    Some(match command {
        Some(command) => format!("pid {pid}: {command}"),
        None => format!("pid {pid}"),
    })
}

#[cfg(all(unix, not(target_os = "linux")))]
fn holder(_: &File) -> Option<String> {
    None
}

/// The pid holding a `FLOCK` on `device` (`maj:min:inode`, as `/proc/locks` writes it) in the
/// text of `/proc/locks`; on a device number that does not match (overlay file systems report
/// another one), the same inode will do.
#[cfg(any(target_os = "linux", test))]
fn holder_in(locks: &str, device: &str, inode: u64) -> Option<u32> {
    let inode = format!(":{inode}");
    let mut same_inode = None;
    for line in locks.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // `1: FLOCK  ADVISORY  WRITE 1234 fe:00:5359825 0 EOF`; waiters have `->` after the
        // number and hold nothing.
        let [_, "FLOCK", _, _, pid, file, ..] = fields.as_slice() else {
            continue;
        };
        let Ok(pid) = pid.parse() else { continue };
        if *file == device {
            return Some(pid);
        }
        if file.ends_with(&inode) {
            same_inode.get_or_insert(pid);
        }
    }
    same_inode
}

/// A small `/proc` file whole; such files have no size to check, so the read is bounded.
#[cfg(target_os = "linux")]
fn read_proc(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    File::open(path)
        .ok()?
        .take(1 << 20)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(bytes)
}

/// A `/proc/PID/cmdline` as one line: arguments joined by spaces, control characters made
/// visible, at most 200 characters.
#[cfg(any(target_os = "linux", test))]
fn command_line(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let args = text.trim_end_matches('\0').replace('\0', " ");
    let mut line: String = crate::text::visible_line(&args).chars().take(200).collect();
    if args.chars().count() > 200 {
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_found_by_device_and_inode() {
        let locks = "1: FLOCK  ADVISORY  WRITE 20853 fe:00:5359825 0 EOF\n\
                     2: -> FLOCK  ADVISORY  WRITE 999 fe:00:77 0 EOF\n\
                     3: POSIX  ADVISORY  WRITE 31 fe:00:77 0 EOF\n\
                     4: FLOCK  ADVISORY  WRITE 20633 fe:00:77 0 EOF\n";
        assert_eq!(holder_in(locks, "fe:00:77", 77), Some(20633));
        assert_eq!(holder_in(locks, "00:2a:5359825", 5359825), Some(20853));
        assert_eq!(holder_in(locks, "fe:00:78", 78), None);
        assert_eq!(
            command_line(b"crewtui\0resume\0a\x1b.jsonl\0"),
            "crewtui resume a␛.jsonl"
        );
    }
}
