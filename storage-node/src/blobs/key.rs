//! The at-rest key: an age X25519 identity in `<data_dir>/at-rest.key`, in `age-keygen`'s
//! format (so `age -d -i at-rest.key blobs/ab/cd/….age` decrypts a blob by hand), readable only
//! by its owner (0600). Generated at the first start; the blobs cannot be read without it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret as _;
use anyhow::Context as _;
use consign_util::fs::AtomicWrite;

/// `<data_dir>/at-rest.key`.
pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join("at-rest.key")
}

/// Reads the identity in `path`, or generates one and writes it there (0600, synced) if the
/// file does not exist.
///
/// # Errors
///
/// If the file exists but holds no X25519 identity, or cannot be read or written.
pub fn load_or_generate(path: &Path) -> anyhow::Result<age::x25519::Identity> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text).with_context(|| format!("invalid at-rest key {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let identity = age::x25519::Identity::generate();
            write(path, &identity)?;
            tracing::info!(
                target: "storage::blobs",
                path = %path.display(),
                recipient = %identity.to_public(),
                "generated the at-rest key; back it up: the blobs cannot be read without it"
            );
            Ok(identity)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read the at-rest key {}", path.display())),
    }
}

/// The first identity of an `age-keygen` file: `#` comment lines and blank lines are skipped.
fn parse(text: &str) -> anyhow::Result<age::x25519::Identity> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .context("the file holds no identity (expected a line AGE-SECRET-KEY-1…)")?;
    line.parse::<age::x25519::Identity>()
        .map_err(|e| anyhow::anyhow!("not an age X25519 identity: {e}"))
}

/// Writes the identity to `path`, owner-only (0600 from the moment the file exists), synced,
/// and never over an existing file: two processes starting at once must not replace each
/// other's key.
fn write(path: &Path, identity: &age::x25519::Identity) -> anyhow::Result<()> {
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    AtomicWrite::new()
        .private()
        .create_new()
        .write_with(path, |file| {
            write!(
                file,
                "# created: {created}\n# public key: {}\n{}\n",
                identity.to_public(),
                identity.to_string().expose_secret()
            )
        })
        .with_context(|| format!("cannot write the at-rest key {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_read_back_in_age_keygen_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(dir.path());
        let first = load_or_generate(&path).unwrap();
        let second = load_or_generate(&path).unwrap();
        assert_eq!(
            first.to_public().to_string(),
            second.to_public().to_string()
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# created: "), "{text}");
        assert!(text.contains(&format!("# public key: {}", first.to_public())));
        assert!(text.contains("AGE-SECRET-KEY-1"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_file_without_an_identity_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(dir.path());
        std::fs::write(&path, "# nothing here\n").unwrap();
        let err = format!("{:#}", load_or_generate(&path).err().unwrap());
        assert!(err.contains("holds no identity"), "{err}");
        std::fs::write(&path, "AGE-SECRET-KEY-1NOPE\n").unwrap();
        assert!(load_or_generate(&path).is_err());
    }
}
