//! File handling that never blocks, never half-writes and never widens permissions.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

#[cfg(unix)]
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};

use crate::authfile::MAX_AUTH_FILE_BYTES;

/// Permissions of every auth.json this crate writes: owner read/write only, as Codex does.
pub const AUTH_FILE_MODE: u32 = 0o600;

/// What identifies one version of a file cheaply: a `stat`, no read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
    /// Modified so shortly before it was stamped that a second write within the same
    /// timestamp tick could go unseen ("racy", as git calls it): such a stamp is never
    /// trusted alone and the content is hashed instead.
    racy: bool,
}

impl FileStamp {
    fn of(meta: &fs::Metadata) -> Self {
        #[cfg(unix)]
        let inode = meta.ino();
        #[cfg(not(unix))]
        let inode = 0;
        let modified = meta.modified().ok();
        let racy = modified.is_none_or(|m| {
            SystemTime::now()
                .duration_since(m)
                .map_or(true, |age| age < Duration::from_secs(2))
        });
        Self {
            modified,
            len: meta.len(),
            inode,
            racy,
        }
    }

    /// The stamp of `path` now, or `None` when it cannot be stat'ed.
    pub fn current(path: &Path) -> Option<Self> {
        fs::metadata(path).ok().map(|m| Self::of(&m))
    }

    /// Whether `self` (taken earlier) proves the file unchanged now that `now` was
    /// taken: same size, time and inode, and not racy.
    pub fn proves_unchanged(&self, now: &Self) -> bool {
        !self.racy
            && self.modified == now.modified
            && self.len == now.len
            && self.inode == now.inode
    }
}

/// Why a file that exists could not be read as an auth.json.
#[derive(Debug, thiserror::Error)]
pub enum ReadProblem {
    /// A directory, FIFO, socket or device sits where the file should be.
    #[error("is {0}, not a regular file")]
    NotRegular(&'static str),
    /// A symbolic link whose target does not exist.
    #[error("is a symbolic link to a file that does not exist")]
    BrokenSymlink,
    /// Larger than any real auth.json.
    #[error("is larger than {MAX_AUTH_FILE_BYTES} bytes")]
    TooLarge,
    /// The operating system refused (permissions, symlink loop, I/O error, ...).
    #[error("cannot be read: {0}")]
    Io(io::Error),
}

/// Reads `path` if it exists. `Ok(None)` means "nothing there" (a normal state, not a
/// problem).
///
/// The file is opened with `O_NONBLOCK` and checked on the open handle before reading, so
/// a FIFO planted at the path cannot hang detection and there is no stat-then-open race.
pub fn read_regular(path: &Path) -> Result<Option<(Vec<u8>, FileStamp)>, ReadProblem> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    options.custom_flags(libc::O_NONBLOCK);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return match fs::symlink_metadata(path) {
                Ok(m) if m.file_type().is_symlink() => Err(ReadProblem::BrokenSymlink),
                _ => Ok(None),
            };
        }
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => return Ok(None),
        Err(e) => return Err(ReadProblem::Io(e)),
    };
    let meta = file.metadata().map_err(ReadProblem::Io)?;
    if !meta.is_file() {
        return Err(ReadProblem::NotRegular(describe_type(&meta)));
    }
    if meta.len() > MAX_AUTH_FILE_BYTES {
        return Err(ReadProblem::TooLarge);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_AUTH_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadProblem::Io)?;
    if bytes.len() as u64 > MAX_AUTH_FILE_BYTES {
        return Err(ReadProblem::TooLarge);
    }
    Ok(Some((bytes, FileStamp::of(&meta))))
}

fn describe_type(meta: &fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    "not a regular file"
}

/// A temporary file next to its destination, created before the content is known.
///
/// Creating it first doubles as the writability probe the refresher needs before it
/// spends a single-use refresh token: if we could not store the result, refreshing would
/// log the host out. Dropped uncommitted, it removes itself.
#[derive(Debug)]
pub struct PendingWrite {
    file: Option<File>,
    temp: PathBuf,
    target: PathBuf,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl PendingWrite {
    /// Creates the temporary file (mode 0600) beside `target`. With `follow_symlink`, a
    /// symlinked target is resolved so the user's link survives the rename (the host's
    /// auth.json); without it the rename replaces whatever sits at `target`, so a link
    /// planted in an agent's home can never redirect our write to another file.
    pub fn create(target: &Path, follow_symlink: bool) -> io::Result<Self> {
        let target = if follow_symlink {
            fs::canonicalize(target).unwrap_or_else(|_| target.to_path_buf())
        } else {
            target.to_path_buf()
        };
        let dir = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let name = target
            .file_name()
            .map_or_else(|| "auth.json".into(), |n| n.to_string_lossy().into_owned());
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(AUTH_FILE_MODE);
        let file = options.open(&temp)?;
        // Keep the owner of a file we replace: a server running as root must not leave
        // the user's own auth.json owned by root (and so unreadable to their Codex).
        #[cfg(unix)]
        if follow_symlink && let Ok(meta) = fs::metadata(&target) {
            let _ = std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()));
        }
        Ok(Self {
            file: Some(file),
            temp,
            target,
        })
    }

    /// Writes `bytes`, flushes them to disk and renames over the target, so readers see
    /// either the old file or the new one, never a torn one.
    pub fn commit(mut self, bytes: &[u8]) -> io::Result<()> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("temporary file already used"))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.temp, &self.target)?;
        if let Some(dir) = self.target.parent()
            && let Ok(d) = File::open(dir)
        {
            // Persist the rename itself; failure only weakens crash durability.
            let _ = d.sync_all();
        }
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Drop for PendingWrite {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` atomically with mode 0600, creating the parent directory and
/// never following a symlink at `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        fs::create_dir_all(dir)?;
    }
    PendingWrite::create(path, false)?.commit(bytes)
}

/// An advisory lock on a Codex home directory, held while one process refreshes.
///
/// Serialises refreshes across mcpd processes (and `mcpd auth` invocations) sharing one
/// host login. Codex itself takes no lock, so against the host's Codex this is no
/// guarantee; the re-read before refreshing covers that case.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

/// Takes the lock on `dir`, polling until `timeout`. `Ok(None)`: the filesystem does not
/// support locking, so we proceed as the only refresher rather than not at all.
pub async fn lock_dir(dir: &Path, timeout: Duration) -> io::Result<Option<DirLock>> {
    let Ok(file) = File::open(dir) else {
        return Ok(None);
    };
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Some(DirLock { _file: file })),
            Err(TryLockError::WouldBlock) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "another process has held the lock on {} for over {} s",
                        dir.display(),
                        timeout.as_secs()
                    ),
                ));
            }
            Err(TryLockError::Error(_)) => return Ok(None),
        }
    }
}
