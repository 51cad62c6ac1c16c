//! [`ChainNode`]: what the helpers need of a chain node, whichever kind runs it: its API's URL
//! and a home whose keyring holds the dev keys (`alice`, `bob`, `carol`). A `consign dev`
//! ([`DevNode`](crate::DevNode)) is one; each node of a CometBFT network is another, so the
//! story's steps (deploy, sell, buy, receive) run unchanged against any node of either.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use anyhow::{Context as _, Result};

use crate::{consign_at, consign_bin};

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
