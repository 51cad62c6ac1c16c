//! What operators and packagers meet, across real processes: the handshake between
//! `consign dev` and the commands (a second `consign dev` on the same home fails and leaves the
//! first one reachable; a command with no node to talk to says which home it looked in), the
//! storage node listening at once while its chain node is down and following it once it is up,
//! and logs fit for files and journald (`--log-format json`, no colour off a terminal or with
//! `NO_COLOR`), shell completions and man pages.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use consign_client::storage::{ChainState, OperatorStatus};
use consign_tests::{
    consign_bin, ok_json, ok_stdout, runtime, status_ok, workspace_bin, Daemon, DevNode,
    StorageNode, ADMIN_TOKEN,
};

/// How long a condition may take to come true.
const TIMEOUT: Duration = Duration::from_secs(90);

fn storage_bin() -> std::path::PathBuf {
    workspace_bin("consign-storage", "CONSIGN_STORAGE_BIN")
}

/// `consign ARGS` with no node from the environment, stdin closed.
fn consign(args: &[&str], home: &Path) -> Output {
    Command::new(consign_bin())
        .args(args)
        .arg("--home")
        .arg(home)
        .env_remove("CONSIGN_NODE")
        .env_remove("CONSIGN_HOME")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A loopback address nobody listens on (for now).
fn free_addr() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// Polls `check` until it returns `Some`, or panics after [`TIMEOUT`] with `what`.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn operator_status(storage: &StorageNode) -> OperatorStatus {
    runtime()
        .block_on(storage.client().operator_status(ADMIN_TOKEN))
        .unwrap()
}

#[test]
fn a_second_consign_dev_on_the_same_home_fails_and_the_first_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let node = DevNode::start(&home).unwrap();
    let url_file = home.join("api.url");
    let written = std::fs::read_to_string(&url_file).unwrap();

    let started = Instant::now();
    let second = Command::new(consign_bin())
        .args(["dev", "--api", "127.0.0.1:0", "--block-time", "0", "--home"])
        .arg(&home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the second node did not give up promptly"
    );
    assert!(!second.status.success(), "a second consign dev started");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!(
            "another `consign dev` is already running with home {}",
            home.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--home"), "{stderr}");

    // The running node's address is still there, and commands find the node through it.
    assert_eq!(std::fs::read_to_string(&url_file).unwrap(), written);
    let status = ok_json(&consign(&["status", "--output", "json"], &home));
    assert_eq!(status["chain_id"], "consign-dev", "{status}");
    assert!(node.is_running());
}

#[test]
fn a_command_without_a_node_names_the_home_it_looked_in() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("nobody-home");
    let out = consign(&["status"], &home);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let shown = home.display().to_string();
    assert!(
        stderr.contains(&format!("no node is running with home {shown}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("consign dev --home {shown}")),
        "{stderr}"
    );
    assert!(stderr.contains("--node URL"), "{stderr}");
    // It never guessed an address to talk to.
    assert!(!stderr.contains("127.0.0.1:26657"), "{stderr}");
}

#[test]
fn the_storage_node_listens_while_its_chain_is_down_and_follows_it_once_up() {
    let dir = tempfile::tempdir().unwrap();
    let chain_addr = free_addr();
    let chain_url = format!("http://{chain_addr}");
    // `start` returns once /status answers: with the chain down, that is at once.
    let started = Instant::now();
    let storage = StorageNode::start(
        &dir.path().join("storage"),
        &chain_url,
        &["--log-format", "json"],
    )
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the storage node waited for the chain before listening"
    );

    let status = wait_for("the chain reported unreachable", || {
        let status = operator_status(&storage);
        (status.chain.state == ChainState::Unreachable).then_some(status)
    });
    assert_eq!(status.chain_id, None);
    let error = status.chain.last_error.unwrap_or_default();
    assert!(error.contains(&chain_addr.to_string()), "{error}");
    // The operator's listener says the same.
    let metrics_url = std::fs::read_to_string(storage.dir().join("metrics.url")).unwrap();
    let operator: OperatorStatus = runtime().block_on(async {
        reqwest::get(format!("{}/status", metrics_url.trim()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(operator.chain.state, ChainState::Unreachable);
    // Nobody is told a chain id the node does not know.
    let info = runtime().block_on(storage.client().info());
    let refusal = info.unwrap_err().to_string();
    assert!(refusal.contains("not reached its chain node"), "{refusal}");
    let public = runtime().block_on(storage.client().status()).unwrap();
    assert_eq!(public.chain_id, None);

    // The chain comes up where the storage node looks for it.
    let home = dir.path().join("chain");
    std::fs::create_dir_all(&home).unwrap();
    let mut command = Command::new(consign_bin());
    command
        .args([
            "dev",
            "--block-time",
            "0",
            "--api",
            &chain_addr.to_string(),
            "--home",
        ])
        .arg(&home)
        .env("RUST_LOG", "info");
    let chain_node = Daemon::builder(
        "consign dev",
        command,
        home.join("dev.log"),
        home.join("api.url"),
    )
    .ready_when(status_ok)
    .spawn()
    .unwrap();
    let status = wait_for("the chain reported reachable", || {
        let status = operator_status(&storage);
        (status.chain.state == ChainState::Reachable && status.chain_id.is_some()).then_some(status)
    });
    assert_eq!(status.chain_id.as_deref(), Some("consign-dev"));
    assert_eq!(status.chain.last_error, None);
    let info = runtime().block_on(storage.client().info()).unwrap();
    assert_eq!(info.chain_id, "consign-dev");
    // Two tasks log these: the follower may start before the chain's task says it follows.
    wait_for("the follower to start and the chain to be followed", || {
        let log = storage.log();
        (log.contains("following the delivery feed") && log.contains("following the chain"))
            .then_some(())
    });

    // Every log line is one JSON object, with no escape codes.
    let log = storage.log();
    assert!(!log.contains('\u{1b}'), "escape codes in the log:\n{log}");
    let mut messages = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(event["level"].is_string(), "{line}");
        assert!(event["target"].is_string(), "{line}");
        messages.push(event["message"].as_str().unwrap_or_default().to_owned());
    }
    for expected in [
        "consign-storage listening",
        "the chain node is unreachable",
        "the chain node answers again",
        "following the chain",
    ] {
        assert!(
            messages.iter().any(|m| m.starts_with(expected)),
            "no {expected:?} in {messages:#?}"
        );
    }
    drop(chain_node);
}

#[test]
fn the_storage_node_refuses_a_data_dir_it_cannot_use_before_anything_else() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let serve = |data_dir: &Path| {
        Command::new(storage_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--node-url"])
            // Nobody listens there: the data directory is checked first all the same.
            .arg(format!("http://{}", free_addr()))
            .arg("--data-dir")
            .arg(data_dir)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = serve(&not_a_dir);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("the data directory {}", not_a_dir.display()))
            && stderr.contains("not a directory"),
        "{stderr}"
    );

    // A data directory in use by a running node is refused, naming it.
    let data = dir.path().join("data");
    let _running = StorageNode::start(&data, &format!("http://{}", free_addr()), &[]).unwrap();
    let out = serve(&data);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "the data directory {} is in use by another consign-storage",
            data.display()
        )),
        "{stderr}"
    );
}

/// Runs `command` under a pseudo-terminal (util-linux `script`) until its output contains
/// `until`, then ends it; returns what it wrote to the terminal.
fn on_a_terminal(command: &str, env: &[(&str, &str)], until: &str) -> String {
    let mut child = Command::new("script")
        .args(["-qfec", command, "/dev/null"])
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("util-linux `script`");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + TIMEOUT;
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains(until) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(bytes) => seen.extend(bytes),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    String::from_utf8_lossy(&seen).into_owned()
}

#[test]
fn text_logs_are_coloured_only_on_a_terminal_without_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let command = |data: &str| {
        format!(
            "exec {} serve --listen 127.0.0.1:0 --metrics-listen off --node-url http://{} --data-dir {}",
            storage_bin().display(),
            free_addr(),
            dir.path().join(data).display()
        )
    };
    let coloured = on_a_terminal(&command("a"), &[], "consign-storage listening");
    assert!(coloured.contains("consign-storage listening"), "{coloured}");
    assert!(
        coloured.contains('\u{1b}'),
        "no colour on a terminal: {coloured}"
    );

    let plain = on_a_terminal(
        &command("b"),
        &[("NO_COLOR", "1")],
        "consign-storage listening",
    );
    assert!(plain.contains("consign-storage listening"), "{plain}");
    assert!(
        !plain.contains('\u{1b}'),
        "colour despite NO_COLOR: {plain}"
    );

    // Off a terminal (a log file): never.
    let storage = StorageNode::start(
        &dir.path().join("c"),
        &format!("http://{}", free_addr()),
        &[],
    )
    .unwrap();
    let log = storage.log();
    assert!(log.contains("consign-storage listening"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a log file:\n{log}"
    );
}

#[test]
fn consign_logs_json_lines_with_log_format_json() {
    let out = Command::new(consign_bin())
        .args(["--log-format", "json", "-vv", "status", "--node"])
        .arg(format!("http://{}", free_addr()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (logs, error) = stderr
        .split_once("error: ")
        .unwrap_or_else(|| panic!("no error line: {stderr}"));
    let events: Vec<serde_json::Value> = logs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e["target"] == "cli::node" && e["message"] == "node URL"),
        "{stderr}"
    );
    assert!(!error.is_empty());
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
}

#[test]
fn completions_and_man_pages_are_generated_for_both_binaries() {
    let dir = tempfile::tempdir().unwrap();
    for (bin, name, sub) in [
        (consign_bin(), "consign", "dev"),
        (storage_bin(), "consign-storage", "serve"),
    ] {
        for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
            let out = Command::new(&bin)
                .args(["completions", shell])
                .output()
                .unwrap();
            let script = ok_stdout(&out);
            assert!(script.contains(sub), "{name} {shell}: {script}");
            assert!(script.contains("log-format"), "{name} {shell}");
        }
        let man = dir.path().join(name);
        let out = Command::new(&bin)
            .args(["man", "--out-dir"])
            .arg(&man)
            .output()
            .unwrap();
        let listed = ok_stdout(&out);
        let page = man.join(format!("{name}-{sub}.1"));
        assert!(listed.contains(&page.display().to_string()), "{listed}");
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(text.contains(&format!(".TH {name}-{sub} 1")), "{text}");
        assert!(man.join(format!("{name}.1")).exists());
    }
}
