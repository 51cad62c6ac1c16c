//! The storage node's settings ([`Config`]) and where they come from.
//!
//! Each setting is documented once, on its field. They are read, each one overriding the last,
//! from: the defaults ([`Config::default`]), a TOML file (`--config FILE`, keys named as the
//! fields), environment variables `CONSIGN_STORAGE_<FIELD>` (e.g. `CONSIGN_STORAGE_ADMIN_TOKEN`),
//! and command-line flags (`--admin-token`). [`ConfigArgs`] is the flags (with their
//! environment variables) and [`Config::load`] does the merge.
//!
//! Durations are written as `1s`, `500ms`, `5m`, `7days`; sizes as bytes or with a unit:
//! `10GiB`, `64 GiB`, `500MB` (`KB`, `MB`, `GB`, `TB` are powers of 1000, `KiB` … `TiB` of 1024).

mod args;
mod layer;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use consign_client::Coin;

pub use args::ConfigArgs;
pub use layer::{parse_coin, parse_duration, parse_listen_or_off, parse_size, Layer, ListenOrOff};

/// Everything the storage node needs to know to run.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the node keeps everything: `storage.redb` (the database), `at-rest.key` (the age
    /// identity the blobs are encrypted to: back it up, without it the blobs are lost),
    /// `blobs/` (the encrypted blobs, `blobs/ab/cd/<sha256>.age`, and `blobs/tmp/` for uploads
    /// in progress) and `api.url` (the API's address once it listens). Default
    /// `$HOME/.consign-storage`.
    pub data_dir: PathBuf,
    /// Where the HTTP API listens (`HOST:PORT`; port 0 picks a free one, written to
    /// `<data_dir>/api.url`). Default `127.0.0.1:7070`.
    pub listen: SocketAddr,
    /// The chain nodes' API base URLs, e.g. `http://127.0.0.1:26657`: the node checks offers
    /// and purchases there and follows the delivery feed. Several full nodes of one chain may be
    /// given (a list in the file; the flag repeated): the storage node uses the first that
    /// answers, on the data directory's chain, and switches to the next when it fails (see
    /// [`consign_client::NodePool`]). The feed's sequence numbers are the same on every node,
    /// so a switch neither skips nor repeats an instruction. A single string is one node.
    pub node_url: Vec<String>,
    /// The operator's token for the admin routes (`/v1/admin/…`), sent as
    /// `Authorization: Bearer <token>`; at least 16 characters. Without one the admin routes
    /// are disabled (403). Prefer the environment or the config file to the flag, which other
    /// local users can see in the process list.
    pub admin_token: Option<String>,
    /// How many bytes each account may store in all. Default 10 GiB.
    pub quota_per_account: u64,
    /// The largest blob accepted. Default 64 GiB.
    pub max_blob_size: u64,
    /// Allow deliveries to private, loopback and link-local addresses. Off by default: buyers
    /// choose the endpoints, and without this rule a purchase could make the node send requests
    /// into the operator's own network or to a cloud metadata service. Turn it on only for
    /// local testing.
    pub allow_private_egress: bool,
    /// How many deliveries are sent at once. Default 4.
    pub delivery_concurrency: usize,
    /// The wait before a failed delivery's first retry; it doubles (with jitter) on each
    /// failure. Default 1s.
    pub retry_initial: Duration,
    /// The longest wait between retries. Default 5m.
    pub retry_max: Duration,
    /// The time limit of one delivery attempt, from connecting to the buyer's answer. Default
    /// 1h (large files take a while).
    pub delivery_timeout: Duration,
    /// How long a delivery waits for the TCP (and TLS) connection to the buyer's endpoint.
    /// Default 5s.
    pub delivery_connect_timeout: Duration,
    /// How long the buyer's endpoint has to answer a delivery's preflight (the `OPTIONS`
    /// request asking whether it will take the delivery, sent before any of the body), and to
    /// answer once it has taken the whole body (plus 1s per 100 MiB taken, to sync it to disk).
    /// An endpoint that accepts the connection and stays silent loses its slot after this.
    /// Default 10s.
    pub delivery_response_timeout: Duration,
    /// The slowest a buyer's endpoint may take a delivery's body, in bytes per second, measured
    /// over each `delivery_rate_window`; a slower one is cut and retried later, so an endpoint
    /// that reads at a trickle cannot hold a delivery slot. Default 128KiB (about 1 Mbit/s).
    pub delivery_min_rate: u64,
    /// The period `delivery_min_rate` is measured over (lengthened when needed so that a
    /// period at the minimum rate covers two of the 512 KiB pieces the body is sent in).
    /// Default 10s.
    pub delivery_rate_window: Duration,
    /// How many refusals that cannot become acceptances (`404`, `405` or `410`, or an endpoint
    /// that is not a Consign inbox) a delivery takes before it is given up; each is recorded
    /// with its reason. Default 3.
    pub delivery_max_refusals: u32,
    /// When an instruction carries no deadline, how long after its commit the node keeps trying
    /// before it gives up. Default 7 days.
    pub default_deadline: Duration,
    /// How long each request to the chain's delivery feed waits for news (a long poll; at most
    /// 60s). Default 25s.
    pub follower_wait: Duration,
    /// Where the operator's listener serves `/metrics` (Prometheus) and `/status` (the node's
    /// figures: blobs, bytes, registrations, deliveries by state). These figures move with what
    /// the node holds, so they are never on the public API: keep this address on loopback or
    /// an operator-only network. Port 0 picks a free port, written to `<data_dir>/metrics.url`;
    /// `off` disables the listener. Default `127.0.0.1:0`.
    pub metrics_listen: Option<SocketAddr>,
    /// What an upload grant's signer must hold on-chain to upload, e.g. `1ucsn`: an account
    /// that does not exist or holds less is refused, so fresh keys cannot use the node's disk.
    /// An amount of 0 switches the check off (closed deployments, tests). Default `1ucsn`.
    pub min_seller_balance: Coin,
    /// The only accounts that may upload, if any are given (`--allow-seller`, repeatable;
    /// comma-separated in the environment). Default: any account that passes the balance check.
    pub allow_seller: Vec<String>,
    /// How many bytes the node stores in all, counting uploads in progress; an upload that would
    /// go past it is refused (507) before its body is sent. Default 1 TiB.
    pub capacity: u64,
    /// How many uploads may be in progress at once, from everyone. Default 64.
    pub max_uploads: usize,
    /// How many uploads one account may have in progress at once. Default 4.
    pub max_uploads_per_account: usize,
    /// How long a blob may stay without a registration: after it, a sweep deletes it and gives
    /// the quota back. Registered blobs are never deleted. Default 24h.
    pub unregistered_ttl: Duration,
    /// An upload whose body sends nothing for this long is cut; the minimum rate is also
    /// measured over periods of this length. Default 30s.
    pub upload_idle_timeout: Duration,
    /// The slowest an upload body may arrive, in bytes per second (measured over each
    /// `upload_idle_timeout`); a slower one is cut, so trickling sockets cannot hold upload
    /// slots. Default 1KiB.
    pub upload_min_rate: u64,
}

/// The shortest admin token accepted.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

const GIB: u64 = 1024 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        let data_dir = std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".consign-storage"))
            .unwrap_or_else(|| PathBuf::from("consign-storage-data"));
        Self {
            data_dir,
            listen: SocketAddr::from(([127, 0, 0, 1], 7070)),
            node_url: vec!["http://127.0.0.1:26657".to_owned()],
            admin_token: None,
            quota_per_account: 10 * GIB,
            max_blob_size: 64 * GIB,
            allow_private_egress: false,
            delivery_concurrency: 4,
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(5 * 60),
            delivery_timeout: Duration::from_secs(60 * 60),
            delivery_connect_timeout: Duration::from_secs(5),
            delivery_response_timeout: Duration::from_secs(10),
            delivery_min_rate: 128 * 1024,
            delivery_rate_window: Duration::from_secs(10),
            delivery_max_refusals: 3,
            default_deadline: Duration::from_secs(7 * 24 * 60 * 60),
            follower_wait: Duration::from_secs(25),
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            min_seller_balance: Coin::new(1u128, consign_client::NATIVE_DENOM),
            allow_seller: Vec::new(),
            capacity: 1024 * GIB,
            max_uploads: 64,
            max_uploads_per_account: 4,
            unregistered_ttl: Duration::from_secs(24 * 60 * 60),
            upload_idle_timeout: Duration::from_secs(30),
            upload_min_rate: 1024,
        }
    }
}

/// The admin token never appears in logs.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("node_url", &self.node_url)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("quota_per_account", &self.quota_per_account)
            .field("max_blob_size", &self.max_blob_size)
            .field("allow_private_egress", &self.allow_private_egress)
            .field("delivery_concurrency", &self.delivery_concurrency)
            .field("retry_initial", &self.retry_initial)
            .field("retry_max", &self.retry_max)
            .field("delivery_timeout", &self.delivery_timeout)
            .field("delivery_connect_timeout", &self.delivery_connect_timeout)
            .field("delivery_response_timeout", &self.delivery_response_timeout)
            .field("delivery_min_rate", &self.delivery_min_rate)
            .field("delivery_rate_window", &self.delivery_rate_window)
            .field("delivery_max_refusals", &self.delivery_max_refusals)
            .field("default_deadline", &self.default_deadline)
            .field("follower_wait", &self.follower_wait)
            .field("metrics_listen", &self.metrics_listen)
            .field("min_seller_balance", &self.min_seller_balance)
            .field("allow_seller", &self.allow_seller)
            .field("capacity", &self.capacity)
            .field("max_uploads", &self.max_uploads)
            .field("max_uploads_per_account", &self.max_uploads_per_account)
            .field("unregistered_ttl", &self.unregistered_ttl)
            .field("upload_idle_timeout", &self.upload_idle_timeout)
            .field("upload_min_rate", &self.upload_min_rate)
            .finish()
    }
}

/// A configuration that could not be read or makes no sense.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The `--config` file could not be read.
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The `--config` file is not valid TOML for these settings.
    #[error("invalid config file {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
    /// A setting has a value that cannot work.
    #[error("invalid setting `{field}`: {reason}")]
    Invalid {
        /// The setting (the field's name).
        field: &'static str,
        /// What is wrong and what to do.
        reason: String,
    },
}

impl ConfigError {
    fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl Config {
    /// The configuration from the defaults, then `args.config` (a TOML file) if given, then the
    /// environment and the flags (both already in `args`), checked with [`Config::validate`].
    ///
    /// # Errors
    ///
    /// If the file cannot be read or parsed, or the result is invalid.
    pub fn load(args: &ConfigArgs) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        if let Some(path) = &args.config {
            config.apply(Layer::from_file(path)?);
        }
        config.apply(args.layer());
        config.validate()?;
        Ok(config)
    }

    /// Overrides every setting `layer` has.
    pub fn apply(&mut self, layer: Layer) {
        let Layer {
            data_dir,
            listen,
            node_url,
            admin_token,
            quota_per_account,
            max_blob_size,
            allow_private_egress,
            delivery_concurrency,
            retry_initial,
            retry_max,
            delivery_timeout,
            delivery_connect_timeout,
            delivery_response_timeout,
            delivery_min_rate,
            delivery_rate_window,
            delivery_max_refusals,
            default_deadline,
            follower_wait,
            metrics_listen,
            min_seller_balance,
            allow_seller,
            capacity,
            max_uploads,
            max_uploads_per_account,
            unregistered_ttl,
            upload_idle_timeout,
            upload_min_rate,
        } = layer;
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(value) = $field { self.$field = value; } )* };
        }
        set!(
            data_dir,
            listen,
            node_url,
            quota_per_account,
            max_blob_size,
            allow_private_egress,
            delivery_concurrency,
            retry_initial,
            retry_max,
            delivery_timeout,
            delivery_connect_timeout,
            delivery_response_timeout,
            delivery_min_rate,
            delivery_rate_window,
            delivery_max_refusals,
            default_deadline,
            follower_wait,
            metrics_listen,
            min_seller_balance,
            allow_seller,
            capacity,
            max_uploads,
            max_uploads_per_account,
            unregistered_ttl,
            upload_idle_timeout,
            upload_min_rate
        );
        if let Some(token) = admin_token {
            // An empty value (e.g. `CONSIGN_STORAGE_ADMIN_TOKEN=`) switches the admin API off.
            self.admin_token = Some(token).filter(|t| !t.is_empty());
        }
    }

    /// Checks that the settings can work together.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the first setting that cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(token) = &self.admin_token {
            if token.chars().count() < MIN_ADMIN_TOKEN_LEN {
                return Err(ConfigError::invalid(
                    "admin_token",
                    format!(
                        "it is shorter than {MIN_ADMIN_TOKEN_LEN} characters; generate one with \
                         `openssl rand -hex 32`"
                    ),
                ));
            }
            if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ConfigError::invalid(
                    "admin_token",
                    "it contains spaces or control characters, which cannot travel in an \
                     Authorization header",
                ));
            }
        }
        consign_client::NodePool::new(&self.node_url)
            .map_err(|e| ConfigError::invalid("node_url", e.to_string()))?;
        if self.quota_per_account == 0 {
            return Err(ConfigError::invalid(
                "quota_per_account",
                "it is 0, so nothing could be uploaded",
            ));
        }
        if self.max_blob_size == 0 {
            return Err(ConfigError::invalid(
                "max_blob_size",
                "it is 0, so nothing could be uploaded",
            ));
        }
        if !(1..=1024).contains(&self.delivery_concurrency) {
            return Err(ConfigError::invalid(
                "delivery_concurrency",
                format!("{} is not between 1 and 1024", self.delivery_concurrency),
            ));
        }
        if self.retry_initial.is_zero() {
            return Err(ConfigError::invalid(
                "retry_initial",
                "it must be longer than 0",
            ));
        }
        if self.retry_max < self.retry_initial {
            return Err(ConfigError::invalid(
                "retry_max",
                format!(
                    "{} is shorter than retry_initial ({})",
                    humantime::format_duration(self.retry_max),
                    humantime::format_duration(self.retry_initial)
                ),
            ));
        }
        if self.delivery_timeout.is_zero() {
            return Err(ConfigError::invalid(
                "delivery_timeout",
                "it must be longer than 0",
            ));
        }
        for (field, value) in [
            ("delivery_connect_timeout", self.delivery_connect_timeout),
            ("delivery_response_timeout", self.delivery_response_timeout),
            ("delivery_rate_window", self.delivery_rate_window),
        ] {
            if value.is_zero() {
                return Err(ConfigError::invalid(field, "it must be longer than 0"));
            }
        }
        if self.delivery_min_rate == 0 {
            return Err(ConfigError::invalid(
                "delivery_min_rate",
                "it is 0, so a stalled endpoint would hold its delivery slot; give at least 1 \
                 byte per second",
            ));
        }
        if self.delivery_max_refusals == 0 {
            return Err(ConfigError::invalid(
                "delivery_max_refusals",
                "it is 0; give at least 1",
            ));
        }
        if self.default_deadline.is_zero() {
            return Err(ConfigError::invalid(
                "default_deadline",
                "it must be longer than 0",
            ));
        }
        if self.follower_wait > Duration::from_secs(60) {
            return Err(ConfigError::invalid(
                "follower_wait",
                "the chain node holds a request at most 60s; give 60s or less",
            ));
        }
        self.validate_uploads()
    }

    /// The upload limits' part of [`Config::validate`].
    fn validate_uploads(&self) -> Result<(), ConfigError> {
        for (field, value) in [
            ("max_uploads", self.max_uploads),
            ("max_uploads_per_account", self.max_uploads_per_account),
        ] {
            if value == 0 {
                return Err(ConfigError::invalid(
                    field,
                    "it is 0, so nothing could be uploaded",
                ));
            }
        }
        if self.capacity == 0 {
            return Err(ConfigError::invalid(
                "capacity",
                "it is 0, so nothing could be uploaded",
            ));
        }
        for (field, value) in [
            ("unregistered_ttl", self.unregistered_ttl),
            ("upload_idle_timeout", self.upload_idle_timeout),
        ] {
            if value.is_zero() {
                return Err(ConfigError::invalid(field, "it must be longer than 0"));
            }
        }
        for seller in &self.allow_seller {
            consign_client::validate_address(seller).map_err(|e| {
                ConfigError::invalid(
                    "allow_seller",
                    format!("`{seller}` is not an account address: {e}"),
                )
            })?;
        }
        Ok(())
    }

    /// The settings as a TOML config file (the admin token replaced by `<redacted>`): what
    /// `consign-storage config` prints.
    pub fn to_toml(&self) -> String {
        let duration = |d: Duration| format!("\"{}\"", humantime::format_duration(d));
        let token = match &self.admin_token {
            Some(_) => "admin_token = \"<redacted>\"\n".to_owned(),
            None => "# admin_token is not set: the admin API is disabled\n".to_owned(),
        };
        format!(
            "data_dir = {data_dir}\nlisten = \"{listen}\"\nnode_url = {node_url}\n{token}\
             quota_per_account = {quota}\nmax_blob_size = {max}\n\
             allow_private_egress = {private}\ndelivery_concurrency = {concurrency}\n\
             retry_initial = {retry_initial}\nretry_max = {retry_max}\n\
             delivery_timeout = {timeout}\n\
             delivery_connect_timeout = {connect}\ndelivery_response_timeout = {response}\n\
             delivery_min_rate = {delivery_min_rate}\ndelivery_rate_window = {rate_window}\n\
             delivery_max_refusals = {refusals}\ndefault_deadline = {deadline}\n\
             follower_wait = {wait}\n{metrics_listen}\n\
             min_seller_balance = \"{min_balance}\"\nallow_seller = {allow}\n\
             capacity = {capacity}\nmax_uploads = {max_uploads}\n\
             max_uploads_per_account = {per_account}\nunregistered_ttl = {ttl}\n\
             upload_idle_timeout = {idle}\nupload_min_rate = {min_rate}\n",
            data_dir = toml_string(&self.data_dir.to_string_lossy()),
            listen = self.listen,
            node_url = match self.node_url.as_slice() {
                [one] => toml_string(one),
                many => toml::Value::Array(
                    many.iter()
                        .map(|url| toml::Value::String(url.clone()))
                        .collect()
                )
                .to_string(),
            },
            quota = self.quota_per_account,
            max = self.max_blob_size,
            private = self.allow_private_egress,
            concurrency = self.delivery_concurrency,
            retry_initial = duration(self.retry_initial),
            retry_max = duration(self.retry_max),
            timeout = duration(self.delivery_timeout),
            connect = duration(self.delivery_connect_timeout),
            response = duration(self.delivery_response_timeout),
            delivery_min_rate = self.delivery_min_rate,
            rate_window = duration(self.delivery_rate_window),
            refusals = self.delivery_max_refusals,
            deadline = duration(self.default_deadline),
            wait = duration(self.follower_wait),
            metrics_listen = match self.metrics_listen {
                Some(addr) => format!("metrics_listen = \"{addr}\""),
                None => "metrics_listen = \"off\"".to_owned(),
            },
            min_balance = self.min_seller_balance,
            allow = toml::Value::Array(
                self.allow_seller
                    .iter()
                    .map(|s| toml::Value::String(s.clone()))
                    .collect()
            ),
            capacity = self.capacity,
            max_uploads = self.max_uploads,
            per_account = self.max_uploads_per_account,
            ttl = duration(self.unregistered_ttl),
            idle = duration(self.upload_idle_timeout),
            min_rate = self.upload_min_rate,
        )
    }

    /// `<data_dir>/storage.redb`.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("storage.redb")
    }

    /// `<data_dir>/api.url`.
    pub fn api_url_path(&self) -> PathBuf {
        api_url_path(&self.data_dir)
    }

    /// `<data_dir>/metrics.url`: `http://ADDR` of the operator's listener once it listens.
    pub fn metrics_url_path(&self) -> PathBuf {
        self.data_dir.join("metrics.url")
    }
}

/// `<data_dir>/api.url`: `http://ADDR` of the API once it listens.
pub fn api_url_path(data_dir: &Path) -> PathBuf {
    data_dir.join("api.url")
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn printed_config_reads_back_the_same() {
        let mut config = Config {
            data_dir: PathBuf::from("/var/lib/consign \"storage\""),
            allow_private_egress: true,
            retry_initial: Duration::from_millis(1500),
            metrics_listen: None,
            allow_seller: vec![consign_client::SecretKey::from_seed("seller").address()],
            min_seller_balance: Coin::new(7u128, "ufoo"),
            ..Config::default()
        };
        let text = config.to_toml();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, &text).unwrap();
        let mut back = Config::default();
        back.apply(Layer::from_file(&path).unwrap());
        assert_eq!(back, config, "{text}");

        config.admin_token = Some("0123456789abcdef0123".into());
        let text = config.to_toml();
        assert!(!text.contains("0123456789abcdef"), "{text}");
        assert!(!format!("{config:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn invalid_settings_are_named() {
        let short = Config {
            admin_token: Some("short".into()),
            ..Config::default()
        };
        let err = short.validate().unwrap_err().to_string();
        assert!(err.contains("admin_token") && err.contains("16"), "{err}");

        let url = Config {
            node_url: vec!["127.0.0.1:26657".into()],
            ..Config::default()
        };
        assert!(url.validate().unwrap_err().to_string().contains("node_url"));

        let retry = Config {
            retry_max: Duration::from_millis(10),
            ..Config::default()
        };
        let err = retry.validate().unwrap_err().to_string();
        assert!(err.contains("retry_max"), "{err}");

        let wait = Config {
            follower_wait: Duration::from_secs(61),
            ..Config::default()
        };
        assert!(wait.validate().is_err());
    }

    /// The sample configuration shipped for packagers.
    const SAMPLE: &str = include_str!("../../packaging/consign-storage.toml");

    /// A `# key = value` line of the sample, uncommented.
    fn uncommented_setting(line: &str) -> Option<&str> {
        let rest = line.strip_prefix("# ")?;
        let (key, _) = rest.split_once(" = ")?;
        (!key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .then_some(rest)
    }

    #[test]
    fn the_sample_config_loads_and_documents_every_setting_with_its_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("consign-storage.toml");
        std::fs::write(&path, SAMPLE).unwrap();
        let shipped = Config::load(&ConfigArgs {
            config: Some(path.clone()),
            ..ConfigArgs::default()
        })
        .unwrap();
        let packaged = Config {
            data_dir: PathBuf::from("/var/lib/consign-storage"),
            ..Config::default()
        };
        assert_eq!(shipped, packaged);

        // Every commented-out setting, uncommented, is a known key showing the default.
        let all: String = SAMPLE
            .lines()
            .map(|line| uncommented_setting(line).unwrap_or(line))
            .flat_map(|line| [line, "\n"])
            .collect();
        std::fs::write(&path, &all).unwrap();
        let mut every = Config::default();
        every.apply(Layer::from_file(&path).unwrap());
        assert_eq!(every, packaged, "a commented value is not the default");

        // And every setting is there: the file's keys are the flags' (bar --config).
        let keys: std::collections::BTreeSet<String> = toml::from_str::<toml::Table>(&all)
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let settings: std::collections::BTreeSet<String> =
            <ConfigArgs as clap::Args>::augment_args(clap::Command::new("x"))
                .get_arguments()
                .map(|arg| arg.get_id().to_string())
                .filter(|id| id != "config")
                .collect();
        assert_eq!(
            keys, settings,
            "packaging/consign-storage.toml lacks or has extra keys"
        );
    }

    #[test]
    fn an_empty_admin_token_switches_the_admin_api_off() {
        let mut config = Config {
            admin_token: Some("0123456789abcdef".into()),
            ..Config::default()
        };
        config.apply(Layer {
            admin_token: Some(String::new()),
            ..Layer::default()
        });
        assert_eq!(config.admin_token, None);
    }
}
