//! `atomic_write` under `kill -9`: a child process replaces one file again and again with large,
//! distinct contents and is killed with SIGKILL at random moments; after every kill the file is
//! exactly one complete version, never empty, never partial, never a mix. What a kill leaves
//! besides it are temporary files named `.<file name>.<random>.tmp` only.
//!
//! The child is this test binary run again with `CONSIGN_UTIL_CRASH_CHILD` set (see
//! [`writer_child`]).

#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use consign_util::fs::atomic_write;
use rand::Rng as _;

/// The child's environment variable: the file to write.
const CHILD_PATH: &str = "CONSIGN_UTIL_CRASH_CHILD";
/// The child's environment variable: the first version it writes.
const CHILD_START: &str = "CONSIGN_UTIL_CRASH_START";
/// Bytes of each version: large enough that a write takes many system calls.
const VERSION_LEN: usize = 2 << 20;
/// How many times the writer is killed.
const KILLS: usize = 50;

/// Version `n`: a header naming it, then bytes that depend on `n` at every position, so two
/// versions differ everywhere and a mix of two is detected.
fn version(n: u64) -> Vec<u8> {
    let mut bytes = format!("version {n:020}\n").into_bytes();
    let mut state = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while bytes.len() < VERSION_LEN {
        // xorshift64: cheap, and different for every version.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(VERSION_LEN);
    bytes
}

/// Which complete version `bytes` is, or why it is none.
fn which_version(bytes: &[u8]) -> Result<u64, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    let header = bytes
        .get(8..28)
        .and_then(|digits| std::str::from_utf8(digits).ok())
        .ok_or_else(|| format!("no version header in {} bytes", bytes.len()))?;
    let n: u64 = header
        .parse()
        .map_err(|_| format!("bad version header {header:?}"))?;
    if bytes != version(n).as_slice() {
        return Err(format!(
            "the file has version {n}'s header but is not version {n} ({} bytes)",
            bytes.len()
        ));
    }
    Ok(n)
}

/// The child: replaces the file with version after version until it is killed. Does nothing
/// when run as an ordinary test.
#[test]
fn writer_child() {
    let (Some(path), Some(start)) = (std::env::var_os(CHILD_PATH), std::env::var_os(CHILD_START))
    else {
        return;
    };
    let path = PathBuf::from(path);
    let start: u64 = start
        .to_str()
        .and_then(|s| s.parse().ok())
        .expect("a start version");
    for n in start.. {
        atomic_write(&path, version(n)).expect("the write succeeds");
    }
}

fn stray_files(dir: &Path, name: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("the directory")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n != name)
        .collect()
}

#[test]
fn a_killed_writer_leaves_the_old_or_the_new_version_whole() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let name = "data.bin";
    let path = dir.path().join(name);
    atomic_write(&path, version(0)).expect("the first version");
    let exe = std::env::current_exe().expect("this test binary");
    let mut rng = rand::thread_rng();
    let mut last = 0;
    let mut changed = 0;
    let mut strays = 0;
    let started = Instant::now();
    for kill in 1..=KILLS {
        let start = kill as u64 * 1_000_000;
        let mut child = Command::new(&exe)
            .args(["writer_child", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_PATH, &path)
            .env(CHILD_START, start.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the writer starts");
        std::thread::sleep(Duration::from_millis(rng.gen_range(5..60)));
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("the writer is reaped");
        assert!(!status.success(), "the writer must die by the signal");

        let bytes = std::fs::read(&path).expect("the file still exists");
        let n = which_version(&bytes).unwrap_or_else(|why| panic!("after kill {kill}: {why}"));
        assert!(
            n == last || (start..start + 1_000_000).contains(&n),
            "after kill {kill}: version {n} is neither the previous ({last}) nor one this writer wrote"
        );
        if n != last {
            changed += 1;
        }
        last = n;

        // Whatever else the kill left is a temporary file of ours, never read, safe to delete.
        for stray in stray_files(dir.path(), name) {
            assert!(
                stray.starts_with(&format!(".{name}.")) && stray.ends_with(".tmp"),
                "after kill {kill}: unexpected file {stray}"
            );
            strays += 1;
            std::fs::remove_file(dir.path().join(&stray)).expect("the stray is removable");
        }
    }
    // The test means something only if writers were killed both before and after replacing
    // the file: some kills must have left a new version.
    assert!(
        changed >= 5,
        "only {changed} of {KILLS} writers replaced the file before being killed; in {:?}",
        started.elapsed()
    );
    eprintln!("{KILLS} kills: {changed} left a new version, {strays} left a temporary file");
}
