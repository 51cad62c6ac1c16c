//! The demo's last proof: what a storage node's data directory gives to the keys in it. Each
//! node's at-rest key opens its blob, and what comes out is a fragment: Reed–Solomon shards of
//! age ciphertext to a key no node holds, which that node's key cannot open either. The buyer's
//! rebuilt key, which only `k` shares make, opens the ciphertext rebuilt from two nodes'
//! fragments. Everything here reads files the way anyone with the directory could.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use consign_custody::{CiphertextReader, Commitments, FragmentHeader, HEADER_LEN};
use sha2::{Digest as _, Sha256};

/// What one node's directory yielded.
pub(super) struct NodeFindings {
    /// The fragment its key opened, written to the scratch directory.
    pub fragment: PathBuf,
    /// Its header.
    pub header: FragmentHeader,
    /// Why `age -d` with the node's own key failed on the ciphertext in it.
    pub refusal: String,
}

/// Opens every blob under `<dir>/blobs` with the node's `at-rest.key` into `scratch`; the one
/// that is a fragment of `commitments`' set is tried, as age ciphertext, with that same key.
///
/// # Errors
///
/// If the key or the blobs cannot be read, no blob is a fragment of the set, or the node's key
/// *does* open the ciphertext (the property the demo shows would be broken).
pub(super) fn open_node(
    dir: &Path,
    commitments: &Commitments,
    scratch: &Path,
) -> anyhow::Result<NodeFindings> {
    let identity = load_identity(&dir.join("at-rest.key"))?;
    let mut blobs = Vec::new();
    collect(&dir.join("blobs"), &mut blobs)?;
    for blob in blobs
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "age"))
    {
        let out = scratch.join(format!(
            "{}-{}",
            dir.file_name().and_then(|n| n.to_str()).unwrap_or("node"),
            blob.file_stem().and_then(|n| n.to_str()).unwrap_or("blob")
        ));
        decrypt(File::open(blob)?, &identity, File::create(&out)?)
            .with_context(|| format!("the node's own key did not open {}", blob.display()))?;
        let mut head = [0u8; HEADER_LEN];
        File::open(&out)?.read_exact(&mut head)?;
        let Ok(header) = FragmentHeader::decode(&head) else {
            continue;
        };
        if header.set_id != commitments.set_id() {
            continue;
        }
        let mut body = File::open(&out)?;
        io::copy(&mut (&mut body).take(HEADER_LEN as u64), &mut io::sink())?;
        let refusal = match decrypt(body, &identity, io::sink()) {
            Ok(()) => bail!(
                "{}'s own key opened the ciphertext it holds: the custody is broken",
                dir.display()
            ),
            Err(e) => e.to_string(),
        };
        return Ok(NodeFindings {
            fragment: out,
            header,
            refusal,
        });
    }
    bail!("no blob in {} is a fragment of this offer", dir.display())
}

/// Rebuilds the ciphertext from `fragments` and decrypts it with `key`; returns the
/// plaintext's SHA-256 (hex).
///
/// # Errors
///
/// If the fragments do not rebuild or the key does not open the result.
pub(super) fn open_with_key(
    commitments: &Commitments,
    fragments: &[PathBuf],
    key: &age::x25519::Identity,
) -> anyhow::Result<String> {
    let files = fragments
        .iter()
        .map(|p| File::open(p).map(|f| BufReader::with_capacity(256 * 1024, f)))
        .collect::<io::Result<Vec<_>>>()?;
    let ciphertext = CiphertextReader::new(commitments, files)?;
    let mut hasher = Sha256::new();
    decrypt(ciphertext, key, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// The identity in an `age-keygen` file (its `AGE-SECRET-KEY-` line).
///
/// # Errors
///
/// If the file cannot be read or holds no X25519 identity.
pub(super) fn load_identity(path: &Path) -> anyhow::Result<age::x25519::Identity> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .find(|line| line.starts_with("AGE-SECRET-KEY-"))
        .with_context(|| format!("no AGE-SECRET-KEY line in {}", path.display()))?
        .parse()
        .map_err(|e: &str| anyhow::anyhow!("{}: {e}", path.display()))
}

fn decrypt(
    ciphertext: impl Read,
    identity: &age::x25519::Identity,
    out: impl Write,
) -> anyhow::Result<()> {
    let decryptor = age::Decryptor::new_buffered(BufReader::new(ciphertext))?;
    let mut reader = decryptor.decrypt(std::iter::once(identity as &dyn age::Identity))?;
    io::copy(&mut reader, &mut BufWriter::new(out))?;
    Ok(())
}

fn collect(dir: &Path, into: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, into)?;
        } else {
            into.push(path);
        }
    }
    Ok(())
}
