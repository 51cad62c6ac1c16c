//! The output directory: saved files, their names, and the durable records that make delivery
//! exactly-once at the buyer.
//!
//! ```text
//! <out>/<name>                                    a saved file (mode 0600)
//! <out>/.consign-inbox/<contract>-<purchase>.json the record of that save (SavedRecord)
//! <out>/.consign-inbox/*.part                     a delivery being received (removed on failure,
//!                                                 and all of them when the inbox starts)
//! <out>/.consign-inbox/custody/<contract>-<purchase>/
//!                                                 the checked pieces of a k-of-n purchase
//!                                                 (fragment-<i>, share-<i>.json), kept across
//!                                                 restarts, removed once it is saved
//! ```
//!
//! Each reception writes its own `.part` file (a unique name), so receptions of one purchase
//! can run side by side; the first to verify is saved. `.part` files left by a crash are removed
//! when the store is opened: one inbox per output directory.
//!
//! A saved file is written to a `.part` file in the state directory, synced, then renamed to its
//! name (never replacing an existing file); the record is written after it, the same way. A
//! crash between the two leaves the file without its record: the next delivery of the same
//! purchase finds the file under the name it would get, with the right SHA-256, and records it
//! instead of saving it twice.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use consign_util::fs::{hash_file, sync_dir, AtomicWrite};
use serde::{Deserialize, Serialize};
use tempfile::NamedTempFile;

use super::{Delivery, InboxError};

/// The state directory's name, inside the output directory.
pub const STATE_DIR: &str = ".consign-inbox";

/// The folder of the state directory holding the pieces of k-of-n purchases not saved yet.
const CUSTODY_DIR: &str = "custody";

/// The longest file name produced, in bytes (most file systems allow 255).
const MAX_NAME_LEN: usize = 200;

/// The record of a saved delivery, kept in `<out>/.consign-inbox/<contract>-<purchase>.json`.
/// While it exists, another delivery of the same purchase is answered `200` and not saved
/// again; delete it to receive the purchase once more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedRecord {
    /// The data-sale contract.
    pub contract: String,
    /// The purchase.
    pub purchase_id: u64,
    /// The offer bought.
    pub offer_id: u64,
    /// The saved file's name in the output directory.
    pub file: String,
    /// SHA-256 of the file, lowercase hex (the offer's).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was saved, Unix seconds.
    pub saved_at: u64,
}

/// How saved files are named: a template with placeholders, rendered for each delivery and made
/// safe as a single file name (no directories, no leading dot).
///
/// | placeholder | value |
/// |---|---|
/// | `{title}` | the offer's title, made safe (spaces and other characters become `_`), or `purchase` if empty |
/// | `{stem}`, `{ext}` | with an extension published in the offer (`csv`), the title without it and `.csv`; otherwise the title split before its own extension: `Weather 2026.csv` gives `Weather_2026` and `.csv` (`{ext}` is empty without one) |
/// | `{purchase}`, `{offer}` | the purchase and offer ids |
/// | `{sha256}` | the content's SHA-256 |
/// | `{contract}` | the contract's address |
///
/// The default is `{stem}-{purchase}{ext}`: `Weather_2026-7.csv` for purchase 7 of an offer
/// titled `Weather 2026.csv`, `purchase-7` for an untitled one. A name already taken by another
/// file gets `.1`, `.2`, … before its extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameTemplate(String);

/// The placeholders [`NameTemplate`] knows.
const PLACEHOLDERS: [&str; 7] = [
    "title", "stem", "ext", "purchase", "offer", "sha256", "contract",
];

impl Default for NameTemplate {
    fn default() -> Self {
        Self("{stem}-{purchase}{ext}".to_owned())
    }
}

impl NameTemplate {
    /// Parses a template, checking its placeholders.
    ///
    /// # Errors
    ///
    /// [`InboxError::Template`] for an unknown or unclosed placeholder, or a template that
    /// names a directory.
    pub fn parse(template: &str) -> Result<Self, InboxError> {
        let invalid = |reason: String| InboxError::Template {
            template: template.to_owned(),
            reason,
        };
        if template.trim().is_empty() {
            return Err(invalid("it is empty".into()));
        }
        if template.contains(['/', '\\']) {
            return Err(invalid(
                "it contains a path separator; it names a file inside --out".into(),
            ));
        }
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| invalid("a `{` is not closed".into()))?;
            let name = &after[..close];
            if !PLACEHOLDERS.contains(&name) {
                return Err(invalid(format!(
                    "unknown placeholder `{{{name}}}`; use {}",
                    PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                )));
            }
            rest = &after[close + 1..];
        }
        Ok(Self(template.to_owned()))
    }

    /// The template's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file name for `delivery`.
    pub fn render(&self, delivery: &Delivery) -> String {
        let title = sanitise(&delivery.title);
        let title = if title.is_empty() {
            "purchase".to_owned()
        } else {
            title
        };
        let published = delivery.extension.as_deref().map(|ext| format!(".{ext}"));
        let (stem, ext) = match &published {
            // `Weather.csv` with extension `csv` keeps one `.csv`, not `Weather.csv-7.csv`.
            Some(ext) => {
                let (stem, own) = split_extension(&title);
                let stem = if own.eq_ignore_ascii_case(ext) {
                    stem
                } else {
                    &title
                };
                (stem, ext.as_str())
            }
            None => split_extension(&title),
        };
        let name = self
            .0
            .replace("{title}", &title)
            .replace("{stem}", stem)
            .replace("{ext}", ext)
            .replace("{purchase}", &delivery.purchase_id.to_string())
            .replace("{offer}", &delivery.offer_id.to_string())
            .replace("{sha256}", &delivery.sha256)
            .replace("{contract}", &delivery.contract);
        let name = sanitise(&name);
        if name.is_empty() {
            format!("purchase-{}", delivery.purchase_id)
        } else {
            name
        }
    }
}

/// `text` as a safe file name: letters, digits, `-`, `_` and `.` kept, runs of anything else
/// turned into one `_`, no leading or trailing `.`/`_`, at most [`MAX_NAME_LEN`] bytes.
pub(super) fn sanitise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let keep = c.is_alphanumeric() || matches!(c, '-' | '_' | '.');
        if keep {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut name = out.trim_matches(|c| c == '.' || c == '_').to_owned();
    if name.len() > MAX_NAME_LEN {
        let mut cut = MAX_NAME_LEN;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    name
}

/// Splits `name` before a short extension (`.csv`, `.tar`, not `.v2-final-data`).
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(dot)
            if dot > 0
                && name.len() - dot <= 9
                && name[dot + 1..].chars().all(|c| c.is_ascii_alphanumeric())
                && name.len() > dot + 1 =>
        {
            name.split_at(dot)
        }
        _ => (name, ""),
    }
}

/// The `n`-th alternative of `name` when it is taken: `stem.n.ext`.
fn alternative(name: &str, n: u32) -> String {
    let (stem, ext) = split_extension(name);
    format!("{stem}.{n}{ext}")
}

/// The output directory and its state directory.
#[derive(Debug)]
pub(super) struct Store {
    pub(super) out: PathBuf,
    state: PathBuf,
}

impl Store {
    /// Creates the directories if needed, and removes the `.part` files a crash left behind.
    pub(super) fn open(out: &Path) -> Result<Self, InboxError> {
        let state = out.join(STATE_DIR);
        std::fs::create_dir_all(&state)
            .map_err(InboxError::storage("create the output directory", &state))?;
        let store = Self {
            out: out.to_owned(),
            state,
        };
        store.remove_parts()?;
        store.remove_piece_temps()?;
        Ok(store)
    }

    /// Removes the temporary files a crash left in the pieces folders (a fragment or share cut
    /// while it was written; the pieces kept whole stay).
    fn remove_piece_temps(&self) -> Result<(), InboxError> {
        let root = self.state.join(CUSTODY_DIR);
        let folders = match std::fs::read_dir(&root) {
            Ok(folders) => folders,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(InboxError::storage("list", root)(e)),
        };
        for folder in folders {
            let folder = folder.map_err(InboxError::storage("list", &root))?.path();
            let Ok(files) = std::fs::read_dir(&folder) else {
                continue;
            };
            for file in files.flatten() {
                let path = file.path();
                if path.extension().is_some_and(|ext| ext == "tmp") {
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(InboxError::storage("remove", path)(e)),
                    }
                }
            }
        }
        Ok(())
    }

    /// Removes every `.part` file of the state directory (receptions cut by a crash).
    fn remove_parts(&self) -> Result<(), InboxError> {
        let entries =
            std::fs::read_dir(&self.state).map_err(InboxError::storage("list", &self.state))?;
        let mut removed = 0u32;
        for entry in entries {
            let entry = entry.map_err(InboxError::storage("list", &self.state))?;
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == "part") {
                match std::fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(InboxError::storage("remove", path)(e)),
                }
            }
        }
        if removed > 0 {
            tracing::info!(
                target: "client::inbox",
                removed,
                dir = %self.state.display(),
                "removed the partial files of receptions cut short by a stop or a crash"
            );
        }
        Ok(())
    }

    /// The record's path; `contract` is a validated bech32 address, so it is a safe name.
    fn record_path(&self, contract: &str, purchase_id: u64) -> PathBuf {
        self.state.join(format!("{contract}-{purchase_id}.json"))
    }

    /// The folder collecting the pieces of a k-of-n purchase until it is saved; `contract` is a
    /// validated bech32 address, so it is a safe name.
    pub(super) fn custody_dir(&self, contract: &str, purchase_id: u64) -> PathBuf {
        self.state
            .join(CUSTODY_DIR)
            .join(format!("{contract}-{purchase_id}"))
    }

    /// The record of a saved purchase, if there is one.
    pub(super) fn record(
        &self,
        contract: &str,
        purchase_id: u64,
    ) -> Result<Option<SavedRecord>, InboxError> {
        let path = self.record_path(contract, purchase_id);
        match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| InboxError::Storage {
                        action: "read the inbox record",
                        path,
                        source: io::Error::new(io::ErrorKind::InvalidData, e),
                    })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(InboxError::storage("read the inbox record", path)(e)),
        }
    }

    /// Writes a record atomically (temporary file, sync, rename, sync the directory).
    pub(super) fn write_record(&self, record: &SavedRecord) -> Result<(), InboxError> {
        let path = self.record_path(&record.contract, record.purchase_id);
        let io = InboxError::storage("write the inbox record", &path);
        AtomicWrite::new()
            .private()
            .write_with(&path, |file| {
                serde_json::to_writer_pretty(&mut *file, record)?;
                file.write_all(b"\n")
            })
            .map_err(|e| io(e.into_io_error()))
    }

    /// A new temporary file for a delivery being received (readable by its owner only).
    pub(super) fn part_file(&self) -> Result<NamedTempFile, InboxError> {
        tempfile::Builder::new()
            .prefix("receiving-")
            .suffix(".part")
            .tempfile_in(&self.state)
            .map_err(InboxError::storage("create a file in", &self.state))
    }

    /// Whether `name` in the output directory already holds exactly the content `sha256`
    /// (a save whose record was lost in a crash). Reads the file on the blocking pool.
    pub(super) async fn holds(
        &self,
        name: &str,
        sha256: &str,
        size: u64,
    ) -> Result<bool, InboxError> {
        let path = self.out.join(name);
        let sha256 = sha256.to_owned();
        let task = tokio::task::spawn_blocking(move || holds(&path, &sha256, size));
        task.await.map_err(|e| InboxError::Storage {
            action: "read",
            path: self.out.join(name),
            source: io::Error::other(e.to_string()),
        })?
    }

    /// Moves a complete, synced `.part` file to `name` in the output directory, or to its first
    /// free alternative; never replaces a file. Returns the name used.
    pub(super) fn persist(
        &self,
        mut part: NamedTempFile,
        name: &str,
    ) -> Result<String, InboxError> {
        let mut candidate = name.to_owned();
        for n in 1..=10_000u32 {
            let path = self.out.join(&candidate);
            match part.persist_noclobber(&path) {
                Ok(_) => {
                    sync_dir(&self.out)
                        .map_err(|e| InboxError::storage("sync", &self.out)(e.into_io_error()))?;
                    return Ok(candidate);
                }
                Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                    part = e.file;
                    candidate = alternative(name, n);
                }
                Err(e) => return Err(InboxError::storage("save", path)(e.error)),
            }
        }
        Err(InboxError::Storage {
            action: "find a free name for",
            path: self.out.join(name),
            source: io::Error::from(io::ErrorKind::AlreadyExists),
        })
    }
}

/// Whether the file at `path` is exactly `size` bytes with SHA-256 `sha256`.
fn holds(path: &Path, sha256: &str, size: u64) -> Result<bool, InboxError> {
    let io = InboxError::storage("read", path);
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() == size => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(e)),
    }
    match hash_file(path) {
        Ok((digest, read)) => Ok(read == size && digest == sha256),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io(e.into_io_error())),
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    fn delivery(title: &str) -> Delivery {
        Delivery {
            contract: "consign1abc".into(),
            purchase_id: 7,
            offer_id: 3,
            title: title.into(),
            extension: None,
            buyer: "consign1buyer".into(),
            sha256: "ab".repeat(32),
            size: 1,
            sequence: None,
        }
    }

    #[test]
    fn default_names_keep_the_extension_and_add_the_purchase() {
        let t = NameTemplate::default();
        assert_eq!(
            t.render(&delivery("Weather 2026.csv")),
            "Weather_2026-7.csv"
        );
        assert_eq!(t.render(&delivery("")), "purchase-7");
        assert_eq!(t.render(&delivery("../../etc/passwd")), "etc_passwd-7");
        assert_eq!(t.render(&delivery(".hidden")), "hidden-7");
        assert_eq!(t.render(&delivery("a.v2-final")), "a.v2-final-7");
        assert_eq!(t.render(&delivery("données météo")), "données_météo-7");
        let long = "x".repeat(500);
        assert!(t.render(&delivery(&long)).len() <= MAX_NAME_LEN);
    }

    #[test]
    fn a_published_extension_names_the_file() {
        let t = NameTemplate::default();
        let with = |title: &str, ext: &str| Delivery {
            extension: Some(ext.into()),
            ..delivery(title)
        };
        assert_eq!(t.render(&with("Daily prices", "csv")), "Daily_prices-7.csv");
        assert_eq!(
            t.render(&with("Weather 2026.csv", "csv")),
            "Weather_2026-7.csv"
        );
        assert_eq!(t.render(&with("Backup v2", "tar.gz")), "Backup_v2-7.tar.gz");
        assert_eq!(t.render(&with("", "json")), "purchase-7.json");
    }

    #[test]
    fn templates_are_checked_and_rendered() {
        let t = NameTemplate::parse("{offer}-{purchase}-{title}").unwrap();
        assert_eq!(t.render(&delivery("T x")), "3-7-T_x");
        let t = NameTemplate::parse("{sha256}").unwrap();
        assert_eq!(t.render(&delivery("")), "ab".repeat(32));
        for bad in ["{nope}", "{title", "dir/{title}", "  "] {
            let err = NameTemplate::parse(bad).unwrap_err();
            assert!(matches!(err, InboxError::Template { .. }), "{bad}: {err}");
        }
        // A template that renders to nothing safe falls back.
        let t = NameTemplate::parse("..").unwrap();
        assert_eq!(t.render(&delivery("")), "purchase-7");
    }

    #[test]
    fn taken_names_get_alternatives_and_records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("data-1.csv"), b"someone else's").unwrap();
        let mut part = store.part_file().unwrap();
        part.write_all(b"ours").unwrap();
        let name = store.persist(part, "data-1.csv").unwrap();
        assert_eq!(name, "data-1.1.csv");
        assert_eq!(std::fs::read(dir.path().join(&name)).unwrap(), b"ours");
        assert_eq!(
            std::fs::read(dir.path().join("data-1.csv")).unwrap(),
            b"someone else's"
        );
        let sha = hex::encode(Sha256::digest(b"ours"));
        assert!(holds(&dir.path().join(&name), &sha, 4).unwrap());
        assert!(!holds(&dir.path().join(&name), &sha, 5).unwrap());
        assert!(!holds(&dir.path().join("data-1.csv"), &sha, 4).unwrap());
        assert!(!holds(&dir.path().join("missing"), &sha, 4).unwrap());

        assert_eq!(store.record("consign1abc", 7).unwrap(), None);
        let record = SavedRecord {
            contract: "consign1abc".into(),
            purchase_id: 7,
            offer_id: 3,
            file: name,
            sha256: sha,
            size: 4,
            saved_at: 1,
        };
        store.write_record(&record).unwrap();
        assert_eq!(store.record("consign1abc", 7).unwrap(), Some(record));
        assert!(dir
            .path()
            .join(STATE_DIR)
            .join("consign1abc-7.json")
            .exists());
    }

    #[test]
    fn pieces_cut_by_a_crash_go_and_kept_pieces_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let pieces = store.custody_dir("consign1abc", 7);
        std::fs::create_dir_all(&pieces).unwrap();
        std::fs::write(pieces.join("fragment-0"), b"kept").unwrap();
        std::fs::write(pieces.join(".fragment-1.x1y2.tmp"), b"cut").unwrap();
        drop(store);
        Store::open(dir.path()).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&pieces)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["fragment-0"]);
    }
}
