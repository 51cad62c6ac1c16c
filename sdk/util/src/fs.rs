//! Files written so that a crash leaves the old content or the new, never a mix; directories
//! synced so that a rename survives a power cut; files hashed without holding them in memory.
//!
//! [`atomic_write`] (and [`AtomicWrite`] for its options) writes a temporary file with a unique
//! name in the target's directory, fsyncs it, renames it over the target and fsyncs the
//! directory. A process killed before the rename leaves the target as it was and, at most, one
//! stray temporary file named `.<file name>.<random>.tmp` beside it: never read by anyone,
//! safe to delete, and not cleaned up automatically (another process may be writing it).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// Bytes read at a time by [`hash_file`].
const HASH_PIECE: usize = 1 << 20;

/// A file operation that failed: what was being done, to which path, and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}", path.display())]
pub struct FsError {
    action: &'static str,
    path: PathBuf,
    #[source]
    source: io::Error,
}

impl FsError {
    fn new<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| Self {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// The kind of the underlying I/O error ([`io::ErrorKind::AlreadyExists`] when
    /// [`AtomicWrite::create_new`] found the target, [`io::ErrorKind::NotFound`] for a missing
    /// file or directory).
    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    /// The path the operation was on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying I/O error.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// The underlying I/O error, for callers whose errors wrap [`io::Error`] with their own
    /// context.
    pub fn into_io_error(self) -> io::Error {
        self.source
    }
}

impl From<FsError> for io::Error {
    /// An [`io::Error`] of the same kind whose message names the path.
    fn from(error: FsError) -> Self {
        io::Error::new(error.kind(), error)
    }
}

/// How [`AtomicWrite::write`] creates the file. The default replaces the target, with the
/// permissions `std::fs::write` would give a new file (`0666` less the umask on Unix).
#[derive(Clone, Copy, Debug, Default)]
pub struct AtomicWrite {
    private: bool,
    create_new: bool,
}

impl AtomicWrite {
    /// Replace the target if it exists; permissions as a new file by `std::fs::write`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Readable and writable by the owner only (mode `0600` on Unix, from the moment the
    /// temporary file is created: the content is never readable by others, not even briefly).
    #[must_use]
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    /// Never replace an existing target: the write fails with
    /// [`io::ErrorKind::AlreadyExists`] instead (two processes racing to create a file cannot
    /// overwrite each other's).
    #[must_use]
    pub fn create_new(mut self) -> Self {
        self.create_new = true;
        self
    }

    /// Writes `bytes` to `path` atomically and durably.
    ///
    /// # Errors
    ///
    /// If the temporary file cannot be created, written or synced, the rename fails (or, with
    /// [`create_new`](Self::create_new), the target exists), or the directory cannot be
    /// synced. The target is unchanged unless the error is from syncing the directory (the
    /// rename then happened but may not survive a power cut).
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), FsError> {
        self.write_with(path, |file| file.write_all(bytes))
    }

    /// As [`write`](Self::write), with the content written by `fill` (for content produced
    /// in pieces, such as a header and a payload, or a serializer's output).
    ///
    /// # Errors
    ///
    /// As [`write`](Self::write); an error from `fill` is reported as a failure to write.
    pub fn write_with(
        &self,
        path: &Path,
        fill: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> Result<(), FsError> {
        let dir = parent(path);
        let name = path
            .file_name()
            .map_or_else(|| "file".into(), |n| n.to_string_lossy());
        let mut builder = tempfile::Builder::new();
        let prefix = format!(".{name}.");
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        let public = {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::Permissions::from_mode(0o666)
        };
        // tempfile creates files 0600 already; a public file gets what `File::create` gives.
        #[cfg(unix)]
        if !self.private {
            builder.permissions(public);
        }
        let mut temp = builder
            .tempfile_in(dir)
            .map_err(FsError::new("create a temporary file in", dir))?;
        fill(temp.as_file_mut()).map_err(FsError::new("write", temp.path()))?;
        temp.as_file()
            .sync_all()
            .map_err(FsError::new("sync", temp.path()))?;
        if self.create_new {
            temp.persist_noclobber(path)
                .map_err(|e| FsError::new("create", path)(e.error))?;
        } else {
            temp.persist(path)
                .map_err(|e| FsError::new("replace", path)(e.error))?;
        }
        sync_dir(dir)
    }
}

/// Writes `bytes` to `path` atomically and durably, replacing it if it exists: a reader (or a
/// restart after a crash) sees the old content or the whole new one. See [`AtomicWrite`] for an
/// owner-only file or one that must not exist yet.
///
/// # Errors
///
/// As [`AtomicWrite::write`].
pub fn atomic_write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), FsError> {
    AtomicWrite::new().write(path, bytes.as_ref())
}

/// The directory `path` is in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Makes the renames and creations in `dir` durable (fsync of the directory). On systems where
/// a directory cannot be opened for syncing (Windows), it does nothing: the rename is as
/// durable as the system makes it.
///
/// # Errors
///
/// If the directory cannot be opened or synced.
pub fn sync_dir(dir: &Path) -> Result<(), FsError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|handle| handle.sync_all())
            .map_err(FsError::new("sync the directory", dir))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The SHA-256 (lowercase hex) and size in bytes of the file at `path`, read once in 1 MiB
/// pieces. For async callers: run it with `tokio::task::spawn_blocking`.
///
/// # Errors
///
/// If the file cannot be opened or read.
pub fn hash_file(path: &Path) -> Result<(String, u64), FsError> {
    hash_file_with(path, |_| {})
}

/// As [`hash_file`], calling `progress` with the number of bytes of each piece read (to move a
/// progress bar).
///
/// # Errors
///
/// If the file cannot be opened or read.
pub fn hash_file_with(
    path: &Path,
    mut progress: impl FnMut(u64),
) -> Result<(String, u64), FsError> {
    let mut file = File::open(path).map_err(FsError::new("open", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_PIECE];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FsError::new("read", path)(e)),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
        progress(n as u64);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temps(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn replaces_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.url");
        atomic_write(&path, "one").unwrap();
        atomic_write(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert!(temps(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn public_files_follow_the_umask_and_private_ones_are_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let public = dir.path().join("public");
        let private = dir.path().join("private");
        std::fs::write(dir.path().join("reference"), "x").unwrap();
        atomic_write(&public, "x").unwrap();
        AtomicWrite::new().private().write(&private, b"x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&public), mode(&dir.path().join("reference")));
        assert_eq!(mode(&private), 0o600);
    }

    #[test]
    fn create_new_refuses_an_existing_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        AtomicWrite::new().create_new().write(&path, b"a").unwrap();
        let err = AtomicWrite::new()
            .create_new()
            .write(&path, b"b")
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a");
        assert!(temps(dir.path()).is_empty());
    }

    #[test]
    fn a_failing_fill_leaves_the_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        atomic_write(&path, "old").unwrap();
        let err = AtomicWrite::new()
            .write_with(&path, |f| {
                f.write_all(b"half")?;
                Err(io::Error::other("serializer failed"))
            })
            .unwrap_err();
        assert!(err.to_string().starts_with("cannot write "), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert!(temps(dir.path()).is_empty());
    }

    #[test]
    fn errors_name_the_path() {
        let err = atomic_write(Path::new("/nonexistent/dir/file"), "x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("/nonexistent/dir"), "{err}");
        let io: io::Error = err.into();
        assert!(io.to_string().contains("/nonexistent/dir"), "{io}");
    }

    #[test]
    fn hashes_in_pieces_with_progress() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        let data: Vec<u8> = (0..(HASH_PIECE * 2 + 7)).map(|i| i as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut seen = 0;
        let (sha256, size) = hash_file_with(&path, |n| seen += n).unwrap();
        assert_eq!(size, data.len() as u64);
        assert_eq!(seen, size);
        assert_eq!(sha256, hex::encode(Sha256::digest(&data)));
        assert_eq!(hash_file(&path).unwrap(), (sha256, size));
        std::fs::write(&path, b"").unwrap();
        assert_eq!(
            hash_file(&path).unwrap().0,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let err = hash_file(&dir.path().join("missing")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
