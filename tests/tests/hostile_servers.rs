//! Issue 11, finding 10, written as the attack: a client that opens a connection and trickles
//! its request headers a byte at a time (slowloris), or that sits idle on a kept-alive
//! connection, must lose it within seconds on every server Consign runs — the chain node's
//! API, the storage node's API and the buyer's inbox — so a few hundred such sockets cannot
//! exhaust a server's file descriptors. Before the fix each one kept them open indefinitely.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use consign_client::SecretKey;
use consign_tests::{consign_bin, Daemon, DevNode, StorageNode};

/// The servers' header read timeout is 10 s; this leaves room for a loaded machine.
const CUT_WITHIN: Duration = Duration::from_secs(25);

/// How long the attack goes on if nobody cuts it.
const GIVE_UP: Duration = Duration::from_secs(60);

/// `host:port` of an `http://host:port[/…]` URL.
fn authority(url: &str) -> &str {
    let rest = url.trim_start_matches("http://");
    rest.split('/').next().unwrap_or(rest)
}

/// Sends a request line and then one header byte every 200 ms, never ending the head; returns
/// how long the server kept the connection, or `None` if it still had it after [`GIVE_UP`].
fn slowloris(url: &str) -> Result<Option<Duration>> {
    let mut stream = TcpStream::connect(authority(url)).context("connecting")?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(b"GET /status HTTP/1.1\r\nhost: x\r\nx-slow: ")?;
    let started = Instant::now();
    while started.elapsed() < GIVE_UP {
        std::thread::sleep(Duration::from_millis(200));
        if stream.write_all(b"a").is_err() {
            return Ok(Some(started.elapsed()));
        }
    }
    Ok(None)
}

/// Makes one complete request on a kept-alive connection, then stays idle; returns how long
/// the server kept the connection, or `None` if it was still open after [`GIVE_UP`].
fn idle_keep_alive(url: &str) -> Result<Option<Duration>> {
    let mut stream = TcpStream::connect(authority(url)).context("connecting")?;
    stream.write_all(b"GET /status HTTP/1.1\r\nhost: x\r\n\r\n")?;
    stream.set_read_timeout(Some(GIVE_UP))?;
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    let mut answered = false;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(answered.then(|| started.elapsed())),
            Ok(_) => answered = true,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Ok(answered.then(|| started.elapsed()))
            }
            Err(_) => return Ok(None),
        }
    }
}

/// Starts `consign inbox` for a throw-away buyer, on a free loopback port.
fn start_inbox(node: &DevNode, dir: &Path) -> Result<Daemon> {
    std::fs::create_dir_all(dir)?;
    let made = Command::new(consign_bin())
        .args(["keys", "age", "bob", "--home"])
        .arg(node.home())
        .output()?;
    anyhow::ensure!(made.status.success(), "consign keys age: {made:?}");
    let buyer = SecretKey::from_seed("bob").address();
    let market = SecretKey::from_seed("market").address();
    let mut command = Command::new(consign_bin());
    command
        .args(["inbox", "--node", &node.url, "--home"])
        .arg(node.home())
        .args(["--listen", "127.0.0.1:0", "--age-key", "bob"])
        .args(["--buyer", &buyer, "--contract", &market, "--out"])
        .arg(dir.join("out"))
        .arg("--url-file")
        .arg(dir.join("inbox.url"));
    Ok(Daemon::builder(
        "consign inbox",
        command,
        dir.join("inbox.log"),
        dir.join("inbox.url"),
    )
    .spawn()?)
}

#[test]
fn no_server_keeps_a_slow_or_idle_connection() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let node = DevNode::start(&dir.path().join("chain"))?;
    let storage = StorageNode::start(&dir.path().join("storage"), &node.url, &[])?;
    let inbox = start_inbox(&node, &dir.path().join("inbox"))?;
    let servers = [
        ("consign dev", node.url.as_str()),
        ("consign-storage", storage.url.as_str()),
        ("consign inbox", inbox.url()),
    ];

    // Every attack at once: the servers face them together, as they would.
    let attacks: Vec<_> = servers
        .iter()
        .flat_map(|(name, url)| {
            let slow = {
                let url = (*url).to_owned();
                std::thread::spawn(move || slowloris(&url))
            };
            let idle = {
                let url = (*url).to_owned();
                std::thread::spawn(move || idle_keep_alive(&url))
            };
            [(*name, "slowloris", slow), (*name, "idle keep-alive", idle)]
        })
        .collect();
    for (name, attack, handle) in attacks {
        let kept = handle
            .join()
            .map_err(|_| anyhow::anyhow!("the {attack} thread panicked"))??;
        match kept {
            Some(kept) => assert!(
                kept < CUT_WITHIN,
                "{name} kept a {attack} connection for {kept:?}"
            ),
            None => panic!("{name} still held a {attack} connection after {GIVE_UP:?}"),
        }
    }
    // And they still serve everyone else.
    for (name, url) in &servers {
        let mut stream = TcpStream::connect(authority(url))?;
        stream.write_all(b"GET /status HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        assert!(answer.starts_with("HTTP/1.1 "), "{name}: {answer}");
    }
    Ok(())
}
