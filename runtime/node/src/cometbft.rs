//! CometBFT beside the node: finding its binary, making its home (`cometbft init` and the
//! settings Consign needs), and reading its `genesis.json` into the chain's [`Genesis`].
//!
//! A node home (`consign init`) is CometBFT's home with Consign's files added:
//!
//! | path | what |
//! |---|---|
//! | `config/config.toml`, `config/genesis.json`, keys | CometBFT's, from `cometbft init`, rewritten by [`configure`] |
//! | `config/app.toml` | Consign's: the API address, the minimum gas price ([`AppToml`]) |
//! | `data/` | CometBFT's block store and state, and `abci.sock`, the ABCI socket |
//! | `consign/` | the chain's database and the VM's cache |
//! | `keys/` | the keyring, with the dev accounts |
//! | `api.url`, `cometbft.log` | where the API listens; CometBFT's output |

use std::path::{Path, PathBuf};
use std::process::Command;

use consign_chain::{Genesis, GenesisAccount, GenesisValidator, StakingGenesis};
use consign_client::Timestamp;
use serde::{Deserialize, Serialize};

/// The CometBFT version Consign is built and tested against.
pub const COMETBFT_VERSION: &str = "0.38.26";

/// How to install it, for messages.
pub const INSTALL_HINT: &str = "install CometBFT v0.38.26 with `bash scripts/install-cometbft.sh` \
     (or `go install github.com/cometbft/cometbft/cmd/cometbft@v0.38.26`), or point \
     CONSIGN_COMETBFT at its binary";

/// The longest path a Unix socket may have (`sun_path`, less its terminating zero).
pub const MAX_SOCKET_PATH: usize = 107;

/// Why CometBFT or its home cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CometError {
    /// No `cometbft` binary was found.
    #[error("no cometbft binary found (looked at $CONSIGN_COMETBFT, on PATH and in ~/go/bin): {INSTALL_HINT}")]
    NotInstalled,
    /// The binary is another version.
    #[error("{} is CometBFT {found}, but Consign needs {COMETBFT_VERSION}: {INSTALL_HINT}", path.display())]
    WrongVersion {
        /// The binary.
        path: PathBuf,
        /// What `cometbft version` printed.
        found: String,
    },
    /// Running `cometbft` failed.
    #[error("running {} {args} failed: {detail}", path.display())]
    Run {
        /// The binary.
        path: PathBuf,
        /// Its arguments.
        args: String,
        /// Its status and output.
        detail: String,
    },
    /// A file of the home cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The genesis or a configuration file is not what Consign needs.
    #[error("{}: {msg}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the field.
        msg: String,
    },
}

fn write(path: &Path, text: String) -> Result<(), CometError> {
    consign_util::fs::atomic_write(path, text).map_err(|e| CometError::Invalid {
        path: path.to_path_buf(),
        msg: format!("cannot write it: {e}"),
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CometError + '_ {
    move |source| CometError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Finds the `cometbft` binary: `$CONSIGN_COMETBFT`, then `PATH`, then `~/go/bin` (where
/// `go install` puts it), and checks its version.
///
/// # Errors
///
/// [`CometError::NotInstalled`] or [`CometError::WrongVersion`].
pub fn find_binary() -> Result<PathBuf, CometError> {
    let mut candidates = Vec::new();
    if let Some(path) = std::env::var_os("CONSIGN_COMETBFT") {
        candidates.push(PathBuf::from(path));
    } else {
        if let Some(paths) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&paths).map(|dir| dir.join("cometbft")));
        }
        if let Some(home) = std::env::var_os("HOME") {
            candidates.push(PathBuf::from(home).join("go/bin/cometbft"));
        }
    }
    let path = candidates
        .into_iter()
        .find(|p| p.is_file())
        .ok_or(CometError::NotInstalled)?;
    let output = Command::new(&path)
        .arg("version")
        .output()
        .map_err(|e| CometError::Run {
            path: path.clone(),
            args: "version".into(),
            detail: e.to_string(),
        })?;
    let found = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if found != COMETBFT_VERSION {
        return Err(CometError::WrongVersion { path, found });
    }
    Ok(path)
}

/// Runs `cometbft <args>` to completion; returns its standard output.
///
/// # Errors
///
/// [`CometError::Run`] with its output when it fails.
pub fn run(binary: &Path, args: &[&str]) -> Result<String, CometError> {
    let output = Command::new(binary)
        .args(args)
        .output()
        .map_err(|e| CometError::Run {
            path: binary.to_path_buf(),
            args: args.join(" "),
            detail: e.to_string(),
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(CometError::Run {
            path: binary.to_path_buf(),
            args: args.join(" "),
            detail: format!(
                "{}: {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// The node's CometBFT peer id (`cometbft show-node-id`), as other nodes name it in their
/// `persistent_peers`.
///
/// # Errors
///
/// When `cometbft` fails or prints no id.
pub fn node_id(binary: &Path, home: &Path) -> Result<String, CometError> {
    let home_text = home.display().to_string();
    let args = ["show-node-id", "--home", &home_text];
    let id = run(binary, &args)?.trim().to_owned();
    if id.len() != 40 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CometError::Run {
            path: binary.to_path_buf(),
            args: args.join(" "),
            detail: format!("printed {id:?}, not a node id (40 hex digits)"),
        });
    }
    Ok(id)
}

/// The ABCI socket of a home: `<home>/data/abci.sock`.
///
/// # Errors
///
/// When the path is too long for a Unix socket.
pub fn socket_path(home: &Path) -> Result<PathBuf, CometError> {
    let path = home.join("data").join("abci.sock");
    if path.as_os_str().len() > MAX_SOCKET_PATH {
        return Err(CometError::Invalid {
            path: path.clone(),
            msg: format!(
                "the ABCI socket path is {} bytes, longer than the {MAX_SOCKET_PATH} a Unix socket allows; use a shorter --home",
                path.as_os_str().len()
            ),
        });
    }
    Ok(path)
}

/// Sets `key = value` in `[section]` of a TOML file's text (`""` is the top, before any
/// section), keeping everything else (comments included) as it is. `value` is TOML already
/// (`"\"x\""`, `true`). A key not in the section is added at its end.
pub fn set_toml(text: &str, section: &str, key: &str, value: &str) -> String {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut done = false;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && !trimmed.starts_with("[[") {
            if !done && current == section {
                out.push(format!("{key} = {value}"));
                done = true;
            }
            current = trimmed.trim_matches(|c| c == '[' || c == ']').to_owned();
        }
        let is_key = !done
            && current == section
            && trimmed
                .split_once('=')
                .is_some_and(|(k, _)| k.trim() == key && !trimmed.starts_with('#'));
        if is_key {
            out.push(format!("{key} = {value}"));
            done = true;
        } else {
            out.push((*line).to_owned());
        }
        if i + 1 == lines.len() && !done && current == section {
            out.push(format!("{key} = {value}"));
            done = true;
        }
    }
    if !done {
        if !section.is_empty() {
            out.push(format!("[{section}]"));
        }
        out.push(format!("{key} = {value}"));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// Reads `key` of `[section]` from a TOML file's text, as the raw TOML value.
pub fn get_toml(text: &str, section: &str, key: &str) -> Option<String> {
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            current = trimmed.trim_matches(|c| c == '[' || c == ']').to_owned();
            continue;
        }
        if current != section || trimmed.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = trimmed.split_once('=') {
            if k.trim() == key {
                return Some(v.trim().to_owned());
            }
        }
    }
    None
}

/// What `consign init` sets in CometBFT's `config.toml`.
#[derive(Debug, Clone)]
pub struct NodeSettings {
    /// The node's name.
    pub moniker: String,
    /// CometBFT's RPC, `HOST:PORT`.
    pub rpc: String,
    /// CometBFT's peer-to-peer address, `HOST:PORT`.
    pub p2p: String,
    /// `timeout_commit`: how long a validator waits after a commit before the next block.
    pub block_time: Option<String>,
    /// The other validators of a network on one machine, `ID@HOST:PORT,…`: with it, peers are
    /// only these (no peer exchange), several may share an IP, and the consensus timeouts are
    /// the short ones [`LOOPBACK_TIMEOUTS`] that fit a loopback network.
    pub persistent_peers: Option<String>,
}

/// CometBFT's consensus timeouts for a network on one machine (`consign testnet`), where a
/// message takes microseconds: a validator that is down delays a block by `timeout_propose`
/// on its turns, and not the 3 s of CometBFT's default.
pub const LOOPBACK_TIMEOUTS: [(&str, &str); 3] = [
    ("timeout_propose", "1s"),
    ("timeout_prevote", "200ms"),
    ("timeout_precommit", "200ms"),
];

/// Rewrites `<home>/config/config.toml` for Consign: the ABCI socket, the addresses, body and
/// transaction sizes that fit a contract upload, quicker gossip on loopback, and for a node of
/// a network its peers and timeouts ([`NodeSettings::persistent_peers`]).
///
/// # Errors
///
/// When the file cannot be read or written, or the socket path is too long.
pub fn configure(home: &Path, settings: &NodeSettings) -> Result<(), CometError> {
    let path = home.join("config").join("config.toml");
    let mut text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let socket = socket_path(home)?;
    let quoted = |v: &str| format!("{v:?}");
    for (section, key, value) in [
        ("", "moniker", quoted(&settings.moniker)),
        (
            "",
            "proxy_app",
            quoted(&format!("unix://{}", socket.display())),
        ),
        ("", "abci", quoted("socket")),
        ("rpc", "laddr", quoted(&format!("tcp://{}", settings.rpc))),
        // A 500 KB contract is about 750 KB of base64 in a JSON-RPC body.
        ("rpc", "max_body_bytes", "4000000".into()),
        ("p2p", "laddr", quoted(&format!("tcp://{}", settings.p2p))),
        ("p2p", "flush_throttle_timeout", quoted("10ms")),
        ("mempool", "max_tx_bytes", "2097152".into()),
        ("consensus", "peer_gossip_sleep_duration", quoted("10ms")),
    ] {
        text = set_toml(&text, section, key, &value);
    }
    if let Some(block_time) = &settings.block_time {
        text = set_toml(&text, "consensus", "timeout_commit", &quoted(block_time));
    }
    if let Some(peers) = &settings.persistent_peers {
        for (section, key, value) in [
            ("p2p", "persistent_peers", quoted(peers)),
            ("p2p", "pex", "false".into()),
            ("p2p", "addr_book_strict", "false".into()),
            ("p2p", "allow_duplicate_ip", "true".into()),
        ] {
            text = set_toml(&text, section, key, &value);
        }
        for (key, value) in LOOPBACK_TIMEOUTS {
            text = set_toml(&text, "consensus", key, &quoted(value));
        }
    }
    write(&path, text)
}

/// CometBFT's RPC address from `<home>/config/config.toml`, as an `http://` URL.
///
/// # Errors
///
/// When the file cannot be read or has no `[rpc] laddr` on TCP.
pub fn rpc_url(home: &Path) -> Result<String, CometError> {
    let path = home.join("config").join("config.toml");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let laddr = get_toml(&text, "rpc", "laddr")
        .map(|v| v.trim_matches('"').to_owned())
        .ok_or_else(|| CometError::Invalid {
            path: path.clone(),
            msg: "[rpc] laddr is missing".into(),
        })?;
    let addr = laddr
        .strip_prefix("tcp://")
        .ok_or_else(|| CometError::Invalid {
            path: path.clone(),
            msg: format!("[rpc] laddr {laddr:?} is not tcp://HOST:PORT"),
        })?;
    let addr = addr.replace("0.0.0.0", "127.0.0.1");
    Ok(format!("http://{addr}"))
}

/// Consign's part of CometBFT's `genesis.json`: `app_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppState {
    /// Accounts funded at genesis.
    pub accounts: Vec<GenesisAccount>,
    /// The staking module's validators and parameters (the defaults, with no validator, when
    /// absent).
    #[serde(default)]
    pub staking: StakingGenesis,
}

/// The validators of CometBFT's `genesis.json` as the staking module's genesis validators: each
/// operator address is `consignvaloper1…` over the validator's 20-byte consensus address, its
/// moniker CometBFT's `name` (or `validator<i>`).
///
/// # Errors
///
/// [`CometError::Invalid`] when the file has no `validators` list or an address is not hex.
pub fn consensus_validators(home: &Path) -> Result<Vec<GenesisValidator>, CometError> {
    let path = genesis_path(home);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let invalid = |msg: String| CometError::Invalid {
        path: path.clone(),
        msg,
    };
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let list = doc
        .get("validators")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| invalid("validators is missing".into()))?;
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let address = v
                .get("address")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            let bytes = hex::decode(address)
                .ok()
                .filter(|b| b.len() == 20)
                .ok_or_else(|| {
                    invalid(format!(
                        "validators[{i}].address {address:?} is not a 20-byte hex address"
                    ))
                })?;
            let name = v
                .get("name")
                .and_then(serde_json::Value::as_str)
                .filter(|n| !n.is_empty())
                .map_or_else(|| format!("validator{i}"), str::to_owned);
            Ok(GenesisValidator {
                address: consign_client::validator_address(&bytes),
                moniker: name,
            })
        })
        .collect()
}

/// `<home>/config/genesis.json`.
pub fn genesis_path(home: &Path) -> PathBuf {
    home.join("config").join("genesis.json")
}

/// Reads CometBFT's genesis as the chain's: `chain_id`, `genesis_time`,
/// `consensus_params.block.max_gas` (which must be set: a block gas limit is required) and
/// `app_state`.
///
/// # Errors
///
/// [`CometError::Invalid`] naming the field that is missing or wrong.
pub fn read_genesis(home: &Path) -> Result<Genesis, CometError> {
    let path = genesis_path(home);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let invalid = |msg: String| CometError::Invalid {
        path: path.clone(),
        msg,
    };
    let doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let chain_id = doc
        .get("chain_id")
        .and_then(serde_json::Value::as_str)
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| invalid("chain_id is missing or empty".into()))?
        .to_owned();
    let time_text = doc
        .get("genesis_time")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| invalid("genesis_time is missing".into()))?;
    let time: jiff::Timestamp = time_text.parse().map_err(|e| {
        invalid(format!(
            "genesis_time {time_text:?} is not an RFC 3339 time: {e}"
        ))
    })?;
    let nanos = u64::try_from(time.as_nanosecond())
        .map_err(|_| invalid(format!("genesis_time {time_text:?} is before 1970")))?;
    let max_gas = doc
        .pointer("/consensus_params/block/max_gas")
        .and_then(|v| match v {
            serde_json::Value::String(s) => s.parse::<i64>().ok(),
            other => other.as_i64(),
        })
        .ok_or_else(|| invalid("consensus_params.block.max_gas is missing".into()))?;
    let max_block_gas = u64::try_from(max_gas)
        .ok()
        .filter(|gas| *gas > 0)
        .ok_or_else(|| {
            invalid(format!(
                "consensus_params.block.max_gas is {max_gas}: a block gas limit is required; set it to a positive number such as \"10000000000\""
            ))
        })?;
    let app_state = doc
        .get("app_state")
        .ok_or_else(|| invalid("app_state is missing: it must hold Consign's accounts".into()))?;
    let app_state: AppState = serde_json::from_value(app_state.clone())
        .map_err(|e| invalid(format!("app_state is not Consign's: {e}")))?;
    Ok(Genesis {
        chain_id,
        genesis_time: Timestamp::from_nanos(nanos),
        accounts: app_state.accounts,
        max_block_gas: Some(max_block_gas),
        staking: app_state.staking,
    })
}

/// Sets the chain id, the block gas limit and the app state in `<home>/config/genesis.json`.
///
/// # Errors
///
/// When the file cannot be read, parsed or written.
pub fn write_genesis(
    home: &Path,
    chain_id: &str,
    max_block_gas: u64,
    app_state: &AppState,
) -> Result<(), CometError> {
    let path = genesis_path(home);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let invalid = |msg: String| CometError::Invalid {
        path: path.clone(),
        msg,
    };
    let mut doc: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| invalid(format!("not JSON: {e}")))?;
    let object = doc
        .as_object_mut()
        .ok_or_else(|| invalid("not a JSON object".into()))?;
    object.insert("chain_id".into(), chain_id.into());
    object.insert(
        "app_state".into(),
        serde_json::to_value(app_state).map_err(|e| invalid(e.to_string()))?,
    );
    let block = doc
        .pointer_mut("/consensus_params/block")
        .and_then(serde_json::Value::as_object_mut)
        .ok_or_else(|| invalid("consensus_params.block is missing".into()))?;
    block.insert("max_gas".into(), max_block_gas.to_string().into());
    let text = serde_json::to_string_pretty(&doc).map_err(|e| invalid(e.to_string()))?;
    write(&path, text)
}

/// Consign's own settings in a node home, `<home>/config/app.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppToml {
    /// Where the node API listens, `HOST:PORT` (port 0: any free port, written to
    /// `<home>/api.url`).
    pub api: String,
    /// The lowest gas price this node's CheckTx accepts, e.g. `0ucsn`.
    pub min_gas_price: String,
}

/// `<home>/config/app.toml`.
pub fn app_toml_path(home: &Path) -> PathBuf {
    home.join("config").join("app.toml")
}

/// Writes `<home>/config/app.toml`, with a comment for each setting.
///
/// # Errors
///
/// When it cannot be written.
pub fn write_app_toml(home: &Path, settings: &AppToml) -> Result<(), CometError> {
    write(
        &app_toml_path(home),
        format!(
            "# Consign's settings for this node (`consign start`).\n\
             # Where the node API listens (port 0: any free port, written to <home>/api.url).\n\
             api = {:?}\n\
             # The lowest gas price this node's CheckTx accepts.\n\
             min_gas_price = {:?}\n",
            settings.api, settings.min_gas_price
        ),
    )
}

/// Reads `<home>/config/app.toml`.
///
/// # Errors
///
/// When it cannot be read or is not an [`AppToml`].
pub fn read_app_toml(home: &Path) -> Result<AppToml, CometError> {
    let path = app_toml_path(home);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    toml::from_str(&text).map_err(|e| CometError::Invalid {
        path: path.clone(),
        msg: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
# top comment
proxy_app = \"tcp://127.0.0.1:26658\"
moniker = \"x\"

[rpc]
# the address
laddr = \"tcp://127.0.0.1:26657\"

[p2p]
laddr = \"tcp://0.0.0.0:26656\"
";

    #[test]
    fn genesis_validators_become_staking_validators_and_bad_addresses_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("config")).unwrap();
        let write = |validators: serde_json::Value| {
            std::fs::write(
                genesis_path(dir.path()),
                serde_json::json!({ "validators": validators }).to_string(),
            )
            .unwrap();
        };
        write(serde_json::json!([
            {"address": "43878089223BD56E81EFF4491420EF592842A305", "name": "node0"},
            {"address": "0000000000000000000000000000000000000001", "name": ""},
        ]));
        let validators = consensus_validators(dir.path()).unwrap();
        assert_eq!(validators.len(), 2);
        assert_eq!(
            validators[0].address,
            "consignvaloper1gwrcpzfz802kaq0073y3gg80ty5y9gc950g8ah"
        );
        assert_eq!(validators[0].moniker, "node0");
        assert_eq!(validators[1].moniker, "validator1");
        write(serde_json::json!([{"address": "not hex"}]));
        let error = consensus_validators(dir.path()).unwrap_err().to_string();
        assert!(error.contains("validators[0].address"), "{error}");
    }

    #[test]
    fn set_toml_replaces_within_the_section_only() {
        let text = set_toml(CONFIG, "p2p", "laddr", "\"tcp://127.0.0.1:1\"");
        assert_eq!(
            get_toml(&text, "p2p", "laddr").as_deref(),
            Some("\"tcp://127.0.0.1:1\"")
        );
        assert_eq!(
            get_toml(&text, "rpc", "laddr").as_deref(),
            Some("\"tcp://127.0.0.1:26657\"")
        );
        assert!(text.contains("# the address"));
        let text = set_toml(&text, "", "proxy_app", "\"unix:///h/data/abci.sock\"");
        assert_eq!(
            get_toml(&text, "", "proxy_app").as_deref(),
            Some("\"unix:///h/data/abci.sock\"")
        );
        // A key the section lacks is added to it, not elsewhere.
        let text = set_toml(&text, "rpc", "max_body_bytes", "4000000");
        assert_eq!(
            get_toml(&text, "rpc", "max_body_bytes").as_deref(),
            Some("4000000")
        );
        assert_eq!(get_toml(&text, "p2p", "max_body_bytes"), None);
        let text = set_toml(&text, "mempool", "size", "5");
        assert_eq!(get_toml(&text, "mempool", "size").as_deref(), Some("5"));
    }

    #[test]
    fn a_long_home_is_refused_for_its_socket() {
        let home = PathBuf::from(format!("/{}", "h".repeat(120)));
        let err = socket_path(&home).unwrap_err();
        assert!(err.to_string().contains("shorter --home"), "{err}");
    }
}
