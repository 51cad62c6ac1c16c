//! `consign --output json inbox` as a process under test: started on an address, its events
//! (stdout, one JSON object per line) and log (stderr) kept in files.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::{consign_bin, ChainNode};
use serde_json::Value;

/// Generous bound for anything that takes well under a second on loopback: how long the helpers
/// here wait for the inbox's URL or an event.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A running `consign --output json inbox`: its events (stdout) and log (stderr) in files.
pub struct Inbox {
    child: Option<Child>,
    /// Its base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub url: String,
    /// The directory it saves deliveries to (`--out`).
    pub out: PathBuf,
    events: PathBuf,
    log: PathBuf,
}

impl Inbox {
    /// Starts it on `listen`, saving to `<dir>/out`, checking purchases on `node` (more with
    /// `--node URL` in `extra`: it fails over between them), with `extra` flags; waits for its
    /// URL.
    pub fn start(node: &impl ChainNode, dir: &Path, listen: &str, extra: &[&str]) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let url_file = dir.join("inbox.url");
        let events = dir.join("events.jsonl");
        let log = dir.join("inbox.log");
        let out = dir.join("out");
        let child = Command::new(consign_bin())
            .args([
                "--output",
                "json",
                "inbox",
                "--node",
                node.api_url(),
                "--home",
            ])
            .arg(node.home())
            .args(["--listen", listen, "--url-file"])
            .arg(&url_file)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(File::create(&events).unwrap())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut inbox = Inbox {
            child: Some(child),
            url: String::new(),
            out,
            events,
            log,
        };
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Ok(url) = std::fs::read_to_string(&url_file) {
                if !url.trim().is_empty() {
                    inbox.url = url.trim().to_owned();
                    return inbox;
                }
            }
            if let Some(status) = inbox.child.as_mut().unwrap().try_wait().unwrap() {
                // With --exit-after it may be done (and its URL file removed) already.
                let listening = inbox
                    .events()
                    .into_iter()
                    .find(|e| e["event"] == "listening");
                match listening {
                    Some(event) if status.success() => {
                        let url = event["url"].as_str().unwrap().trim_end_matches('/');
                        inbox.url = url.to_owned();
                        inbox.child = None;
                        return inbox;
                    }
                    _ => panic!("consign inbox exited with {status}: {}", inbox.log()),
                }
            }
            assert!(Instant::now() < deadline, "no URL: {}", inbox.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    /// Its log (stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Every event printed so far.
    pub fn events(&self) -> Vec<Value> {
        self.follow().new_events()
    }

    /// Its events as they are printed: each [`EventFeed::new_events`] reads on from where the
    /// previous one stopped, for a caller that polls (instead of reading the file from its start
    /// each time).
    pub fn follow(&self) -> EventFeed {
        EventFeed::open(&self.events)
    }

    /// Waits for the first event of `kind`, whatever it is about, and returns it.
    pub fn wait_for_event(&self, kind: &str) -> Value {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(found) = self.events().into_iter().find(|e| e["event"] == kind) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no `{kind}` event; events: {:?}\nlog: {}",
                self.events(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for an event of `kind` for `purchase_id`, and returns the first.
    pub fn wait_for(&self, kind: &str, purchase_id: u64) -> Value {
        self.wait_for_count(kind, purchase_id, 1).remove(0)
    }

    /// Waits until `n` events of `kind` for `purchase_id` are printed; fails if more are.
    pub fn wait_for_count(&self, kind: &str, purchase_id: u64, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + TIMEOUT;
        let mut feed = self.follow();
        let mut found = Vec::new();
        loop {
            found.extend(
                feed.new_events()
                    .into_iter()
                    .filter(|e| e["event"] == kind && e["purchase_id"] == purchase_id),
            );
            assert!(found.len() <= n, "more than {n} `{kind}` events: {found:?}");
            if found.len() == n {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} `{kind}` events for purchase {purchase_id}; events: {:?}\nlog: {}",
                found.len(),
                self.events(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The files saved in the output directory (the state directory left out).
    pub fn saved_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".consign-inbox")
            .collect();
        names.sort();
        names
    }

    /// Waits for the process to exit by itself; `None` if it had already when it started.
    pub fn wait_exit(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return Some(status);
            }
            assert!(
                Instant::now() < deadline,
                "the inbox did not exit: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it with SIGTERM; it must exit 0.
    pub fn stop(&mut self) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.wait_exit().expect("the inbox runs");
        assert!(status.success(), "{status}: {}", self.log());
    }
}

/// An inbox's events file, read on as it grows (see [`Inbox::follow`]).
pub struct EventFeed {
    reader: BufReader<File>,
    /// A line read only in part so far: the inbox has not finished writing it.
    line: Vec<u8>,
}

impl EventFeed {
    fn open(path: &Path) -> Self {
        Self {
            reader: BufReader::new(File::open(path).unwrap()),
            line: Vec::new(),
        }
    }

    /// The events printed since the last call (since the start on the first): every complete
    /// line added to the file; a line still being written waits for the next call.
    ///
    /// # Panics
    /// If the file cannot be read or a complete line is not JSON.
    pub fn new_events(&mut self) -> Vec<Value> {
        let mut events = Vec::new();
        loop {
            let read = self.reader.read_until(b'\n', &mut self.line).unwrap();
            if read == 0 || self.line.last() != Some(&b'\n') {
                return events;
            }
            let line = String::from_utf8_lossy(&self.line);
            if !line.trim().is_empty() {
                events.push(serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}")));
            }
            self.line.clear();
        }
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use serde_json::json;

    use super::EventFeed;

    #[test]
    fn the_feed_reads_on_where_it_stopped_and_waits_for_a_line_s_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut file = std::fs::File::create(&path).unwrap();
        let mut feed = EventFeed::open(&path);
        assert!(feed.new_events().is_empty());

        file.write_all(b"{\"event\":\"listening\"}\n\n{\"event\":\"sa")
            .unwrap();
        assert_eq!(feed.new_events(), [json!({"event": "listening"})]);
        // The half-written line is not read as an event, nor lost.
        assert!(feed.new_events().is_empty());
        file.write_all(b"ved\",\"purchase_id\":1}\n{\"event\":\"saved\",\"purchase_id\":2}\n")
            .unwrap();
        assert_eq!(
            feed.new_events(),
            [
                json!({"event": "saved", "purchase_id": 1}),
                json!({"event": "saved", "purchase_id": 2})
            ]
        );
        assert!(feed.new_events().is_empty());
        // A second feed starts from the beginning.
        assert_eq!(EventFeed::open(&path).new_events().len(), 3);
    }
}
