//! [`ChainNode`]: what the helpers need of a chain node, whichever kind runs it: its API's URL
//! and a home whose keyring holds the dev keys (`alice`, `bob`, `carol`). A `consign dev`
//! ([`DevNode`](crate::DevNode)) is one; each node of a CometBFT network is another, so the
//! story's steps (deploy, sell, buy, receive) run unchanged against any node of either.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::{Context as _, Result};

use serde_json::Value;

use crate::{consign_at, consign_bin, ok_json};

/// A chain node the helpers can talk to.
pub trait ChainNode {
    /// The node API's base URL, e.g. `http://127.0.0.1:41234`.
    fn api_url(&self) -> &str;

    /// A home directory whose keyring (`test` backend) holds the dev keys.
    fn home(&self) -> &Path;

    /// Runs `consign ARGS --node URL --home HOME`.
    ///
    /// # Errors
    /// When the binary cannot be run.
    fn consign(&self, args: &[&str]) -> Result<Output> {
        consign_at(self.api_url(), self.home(), args)
    }

    /// The age recipient (`age1…`) of the identity `NAME` in the home, made on first use (see
    /// [`age_key_in`]).
    ///
    /// # Errors
    /// As [`age_key_in`].
    fn age_key(&self, name: &str) -> Result<String> {
        age_key_in(self.home(), name)
    }

    /// `consign ARGS --output json`, which must succeed, parsed.
    ///
    /// # Panics
    /// When the command cannot be run, fails, or does not print JSON.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["--output", "json"]);
        ok_json(&self.consign(&all).expect("consign runs"))
    }

    /// `consign tx ARGS --output json`: a transaction that must commit with code 0; its result.
    ///
    /// # Panics
    /// As [`ChainNode::json`], and when the transaction failed.
    fn tx_ok(&self, args: &[&str]) -> Value {
        let result = self.json(&[&["tx"], args].concat());
        assert_eq!(result["code"], 0, "consign tx {args:?}: {result}");
        result
    }

    /// Stores the contract `name` built by `scripts/build-contracts.sh` (see
    /// [`contract`](crate::contract)) from the dev key `alice`, with the default gas; its code id.
    ///
    /// # Panics
    /// As [`ChainNode::tx_ok`].
    fn store_contract(&self, name: &str) -> String {
        let wasm = crate::contract(name);
        let stored = self.tx_ok(&[
            "wasm",
            "store",
            wasm.to_str().expect("a UTF-8 path"),
            "--from",
            "alice",
        ]);
        stored["code_id"].as_u64().expect("code_id").to_string()
    }

    /// Instantiates `code` from the dev key `alice` with `msg` and no admin; the contract's
    /// address.
    ///
    /// # Panics
    /// As [`ChainNode::tx_ok`].
    fn instantiate(&self, code: &str, msg: &Value, label: &str) -> String {
        let made = self.tx_ok(&[
            "wasm",
            "instantiate",
            code,
            &msg.to_string(),
            "--label",
            label,
            "--no-admin",
            "--from",
            "alice",
        ]);
        made["contract_address"]
            .as_str()
            .expect("contract_address")
            .to_owned()
    }

    /// The answer of `contract` to the smart query `msg` (what wasmd prints under `data`).
    ///
    /// # Panics
    /// As [`ChainNode::json`].
    fn smart(&self, contract: &str, msg: &Value) -> Value {
        self.json(&[
            "query",
            "wasm",
            "contract-state",
            "smart",
            contract,
            &msg.to_string(),
        ])["data"]
            .clone()
    }

    /// The `ucsn` balance of `address` (0 when it has none).
    ///
    /// # Panics
    /// As [`ChainNode::json`].
    fn balance(&self, address: &str) -> u128 {
        let balances: consign_client::BalancesResponse =
            serde_json::from_value(self.json(&["query", "bank", "balances", address]))
                .expect("balances");
        balances.amount_of("ucsn")
    }
}

/// The address of the dev key `name` (`alice`, `bob`, `carol`, or any seed).
pub fn dev_address(name: &str) -> String {
    consign_client::SecretKey::from_seed(name).address()
}

/// The age recipient (`age1…`) of the buyer's identity `NAME` in `home`, made on first use;
/// `consign inbox --age-key NAME` decrypts with it. Read from `<home>/age/NAME.agekey` when it is
/// there; otherwise `consign keys age NAME --show` asks the command line (which knows where it
/// keeps identities), and if it has none, `consign keys age NAME` makes one.
///
/// # Errors
/// When the file cannot be read as an identity, or both commands fail.
pub fn age_key_in(home: &Path, name: &str) -> Result<String> {
    let file = home.join("age").join(format!("{name}.agekey"));
    if file.exists() {
        let identity = consign_client::AgeIdentity::load(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        return Ok(identity.recipient());
    }
    let keys_age = |extra: &[&str]| -> Result<Output> {
        Ok(Command::new(consign_bin())
            .args(["keys", "age", name])
            .args(extra)
            .arg("--home")
            .arg(home)
            .stdin(Stdio::null())
            .output()?)
    };
    let shown = keys_age(&["--show"])?;
    let out = if shown.status.success() {
        shown
    } else {
        let made = keys_age(&[])?;
        anyhow::ensure!(
            made.status.success(),
            "consign keys age {name} --show failed: {}and consign keys age {name} failed: {}",
            String::from_utf8_lossy(&shown.stderr),
            String::from_utf8_lossy(&made.stderr)
        );
        made
    };
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// A node of a `consign testnet` network: its home holds the dev keys.
impl ChainNode for crate::network::TestnetNode {
    fn api_url(&self) -> &str {
        &self.api
    }

    fn home(&self) -> &Path {
        &self.home
    }
}
