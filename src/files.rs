//! Opening the files a user names — crews, themes, session files — and creating the private
//! files crewtui keeps for itself (sessions, the log).
//!
//! A name can lead anywhere: a FIFO blocks `open(2)` until a writer comes, `/dev/zero` never
//! ends, a device may do anything. So only regular files are opened for reading, the type is
//! checked before the open and again on the opened descriptor (the name may have been swapped
//! in between), the open itself cannot block (`O_NONBLOCK`, cleared once the file is known to
//! be regular), and reads are bounded.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Opens `path` for reading if it is a regular file (a symlink to one is fine).
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    open_regular_with(path, options)
}

/// Opens `path` with `options` if it is a regular file; never blocks in `open(2)`.
pub fn open_regular_with(path: &Path, mut options: OpenOptions) -> io::Result<File> {
    regular(&std::fs::metadata(path)?)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    regular(&file.metadata()?)?;
    #[cfg(unix)]
    blocking(&file)?;
    Ok(file)
}

/// The whole of a regular file, refused beyond `limit` bytes: a file that grows while it is
/// read is refused too, never cut short.
pub fn read_bounded(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let too_large = || {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than {}, the most crewtui reads", size(limit)),
        )
    };
    if file.metadata()?.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Creates `dir` and any missing parents, readable by the user only (mode 0700 on Unix).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Options that create a file readable by the user only (mode 0600 on Unix).
pub fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Refuses anything but a regular file, naming what it is instead.
fn regular(metadata: &std::fs::Metadata) -> io::Result<()> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_dir() {
        "a directory"
    } else {
        special_kind(&kind)
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{what}, not a regular file"),
    ))
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO (named pipe)"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

/// Clears the `O_NONBLOCK` the file was opened with: reads of a regular file never wait
/// anyway, and whoever gets the descriptor expects ordinary semantics.
#[cfg(unix)]
fn blocking(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function's caller owns, with no pointers involved.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `16 MiB`, `1 KiB`, `512 bytes`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("crewtui-files-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn special_files_are_refused_without_blocking_and_named() {
        let dir = scratch("special");
        let fifo = dir.join("crew.yaml");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        // A FIFO with no writer would block open(2) forever.
        let error = open_regular(&fifo).unwrap_err();
        assert_eq!(error.to_string(), "a FIFO (named pipe), not a regular file");
        let error = read_bounded(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(error.to_string(), "a character device, not a regular file");
        let error = open_regular(&dir).unwrap_err();
        assert_eq!(error.to_string(), "a directory, not a regular file");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn reads_are_bounded_and_never_cut_short() {
        let dir = scratch("bounded");
        let path = dir.join("theme.yaml");
        std::fs::write(&path, vec![b'x'; 2048]).unwrap();
        assert_eq!(read_bounded(&path, 2048).unwrap().len(), 2048);
        let error = read_bounded(&path, 2047).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            error.to_string(),
            "larger than 2047 bytes, the most crewtui reads"
        );
        assert_eq!(size(1 << 20), "1 MiB");
        assert_eq!(size(16 << 10), "16 KiB");
        let _ = std::fs::remove_dir_all(dir);
    }
}
