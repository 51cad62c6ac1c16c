//! [`ConfigArgs`]: the settings as command-line flags, each also read from its
//! `CONSIGN_STORAGE_<FIELD>` environment variable (a flag wins over its variable).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::Args;

use consign_client::Coin;

use super::layer::{
    parse_coin, parse_duration, parse_listen_or_off, parse_size, Layer, ListenOrOff,
};

/// The flags of `consign-storage serve` and `consign-storage config`.
// The field docs are the `--help` text, written for a terminal (`<data-dir>` is not HTML).
#[allow(rustdoc::invalid_html_tags)]
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// A TOML file with any of the settings below, keys written with `_`
    /// (`admin_token = "…"`, `quota_per_account = "10GiB"`). The environment and the flags
    /// override it.
    #[arg(long, value_name = "FILE", env = "CONSIGN_STORAGE_CONFIG")]
    pub config: Option<PathBuf>,

    /// Where the node keeps its database (storage.redb), its at-rest key (at-rest.key: back it
    /// up, the blobs cannot be read without it), the encrypted blobs (blobs/ab/cd/<sha256>.age,
    /// uploads in progress in blobs/tmp/) and api.url. [default: $HOME/.consign-storage]
    #[arg(long, value_name = "DIR", env = "CONSIGN_STORAGE_DATA_DIR")]
    pub data_dir: Option<PathBuf>,

    /// Where the HTTP API listens; port 0 picks a free port, written to <data-dir>/api.url.
    /// [default: 127.0.0.1:7070]
    #[arg(long, value_name = "ADDR", env = "CONSIGN_STORAGE_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// The chain node's API, to check offers and purchases and follow the delivery feed.
    /// Repeat the flag (comma-separated in the environment) to give several full nodes of the
    /// chain: the first that answers on the data directory's chain is used, and when it fails
    /// (unreachable, too slow, a server error, behind the chain) the next one is, without
    /// skipping or repeating an instruction; a node on another chain is refused.
    /// [default: http://127.0.0.1:26657]
    #[arg(
        long,
        value_name = "URL",
        value_delimiter = ',',
        env = "CONSIGN_STORAGE_NODE_URL"
    )]
    pub node_url: Vec<String>,

    /// The operator's token for the admin routes (/v1/admin/…), sent as `Authorization: Bearer
    /// TOKEN`; at least 16 characters (e.g. `openssl rand -hex 32`). Without it the admin routes
    /// answer 403. Prefer the environment variable or the config file: a flag shows in `ps`.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CONSIGN_STORAGE_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,

    /// Bytes each account may store in all, e.g. 10GiB. [default: 10GiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size, env = "CONSIGN_STORAGE_QUOTA_PER_ACCOUNT")]
    pub quota_per_account: Option<u64>,

    /// The largest blob accepted. [default: 64GiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size, env = "CONSIGN_STORAGE_MAX_BLOB_SIZE")]
    pub max_blob_size: Option<u64>,

    /// Allow deliveries to loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7),
    /// link-local and cloud metadata addresses. Off by default: buyers choose the endpoints, and
    /// a purchase must never make this node reach into the operator's own network. The rule
    /// applies to the addresses a name resolves to and to every redirect. Only for local tests.
    /// [default: false]
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new(),
        env = "CONSIGN_STORAGE_ALLOW_PRIVATE_EGRESS"
    )]
    pub allow_private_egress: Option<bool>,

    /// How many deliveries are sent at once. [default: 4]
    #[arg(long, value_name = "N", env = "CONSIGN_STORAGE_DELIVERY_CONCURRENCY")]
    pub delivery_concurrency: Option<usize>,

    /// The wait before a failed delivery's first retry; it doubles, with jitter, up to
    /// --retry-max. [default: 1s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "CONSIGN_STORAGE_RETRY_INITIAL")]
    pub retry_initial: Option<Duration>,

    /// The longest wait between two delivery attempts. [default: 5m]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "CONSIGN_STORAGE_RETRY_MAX")]
    pub retry_max: Option<Duration>,

    /// The time limit of one delivery attempt. [default: 1h]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "CONSIGN_STORAGE_DELIVERY_TIMEOUT")]
    pub delivery_timeout: Option<Duration>,

    /// How long a delivery waits to connect to the buyer's endpoint. [default: 5s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "CONSIGN_STORAGE_DELIVERY_CONNECT_TIMEOUT")]
    pub delivery_connect_timeout: Option<Duration>,

    /// How long the buyer's endpoint has to answer a delivery's preflight (asked before any of
    /// the body is sent), and to answer once it has the whole body (plus 1s per 100 MiB, to
    /// sync it). A silent endpoint loses its delivery slot after this. [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "CONSIGN_STORAGE_DELIVERY_RESPONSE_TIMEOUT")]
    pub delivery_response_timeout: Option<Duration>,

    /// The slowest a buyer's endpoint may take a delivery's body, per second, e.g. 128KiB;
    /// measured over --delivery-rate-window, a slower one is cut and retried later.
    /// [default: 128KiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size, env = "CONSIGN_STORAGE_DELIVERY_MIN_RATE")]
    pub delivery_min_rate: Option<u64>,

    /// The period --delivery-min-rate is measured over (lengthened to cover two 512 KiB pieces
    /// of the body at the minimum rate). [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "CONSIGN_STORAGE_DELIVERY_RATE_WINDOW")]
    pub delivery_rate_window: Option<Duration>,

    /// How many refusals that cannot become acceptances (404, 405, 410, or an endpoint that is
    /// not a Consign inbox) a delivery takes before it is given up. [default: 3]
    #[arg(long, value_name = "N", env = "CONSIGN_STORAGE_DELIVERY_MAX_REFUSALS")]
    pub delivery_max_refusals: Option<u32>,

    /// For an instruction without a deadline: how long after its commit to keep trying.
    /// [default: 7days]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "CONSIGN_STORAGE_DEFAULT_DEADLINE")]
    pub default_deadline: Option<Duration>,

    /// How long each long-poll of the chain's delivery feed waits (at most 60s). [default: 25s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "CONSIGN_STORAGE_FOLLOWER_WAIT")]
    pub follower_wait: Option<Duration>,

    /// Where the operator's listener serves /metrics and /status (figures that move with what
    /// the node holds, so never on the public API): keep it on loopback or an operator-only
    /// network. Port 0 picks a free port, written to <data-dir>/metrics.url; `off` disables it.
    /// [default: 127.0.0.1:0]
    #[arg(long, value_name = "ADDR|off", value_parser = parse_listen_or_off, env = "CONSIGN_STORAGE_METRICS_LISTEN")]
    pub metrics_listen: Option<ListenOrOff>,

    /// What an upload grant's signer must hold on-chain; accounts that do not exist or hold
    /// less are refused. 0 switches the check off. [default: 1ucsn]
    #[arg(long, value_name = "COIN", value_parser = parse_coin, env = "CONSIGN_STORAGE_MIN_SELLER_BALANCE")]
    pub min_seller_balance: Option<Coin>,

    /// Accept uploads only from this account (repeat the flag for more; comma-separated in the
    /// environment). [default: any account with --min-seller-balance]
    #[arg(
        long,
        value_name = "ADDRESS",
        value_delimiter = ',',
        env = "CONSIGN_STORAGE_ALLOW_SELLER"
    )]
    pub allow_seller: Vec<String>,

    /// Bytes the node stores in all, counting uploads in progress; uploads past it are refused
    /// before their body is sent. [default: 1TiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size, env = "CONSIGN_STORAGE_CAPACITY")]
    pub capacity: Option<u64>,

    /// Uploads in progress at once, from everyone. [default: 64]
    #[arg(long, value_name = "N", env = "CONSIGN_STORAGE_MAX_UPLOADS")]
    pub max_uploads: Option<usize>,

    /// Uploads in progress at once from one account. [default: 4]
    #[arg(
        long,
        value_name = "N",
        env = "CONSIGN_STORAGE_MAX_UPLOADS_PER_ACCOUNT"
    )]
    pub max_uploads_per_account: Option<usize>,

    /// How long a blob may stay unregistered before it is deleted and its quota given back;
    /// registered blobs are never deleted. [default: 24h]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "CONSIGN_STORAGE_UNREGISTERED_TTL")]
    pub unregistered_ttl: Option<Duration>,

    /// An upload body that sends nothing for this long is cut; the minimum rate is measured
    /// over periods of this length. [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, env = "CONSIGN_STORAGE_UPLOAD_IDLE_TIMEOUT")]
    pub upload_idle_timeout: Option<Duration>,

    /// The slowest an upload body may arrive, per second (e.g. 1KiB); slower ones are cut.
    /// [default: 1KiB]
    #[arg(long, value_name = "SIZE", value_parser = parse_size, env = "CONSIGN_STORAGE_UPLOAD_MIN_RATE")]
    pub upload_min_rate: Option<u64>,
}

impl ConfigArgs {
    /// The settings given by flags or environment variables.
    pub fn layer(&self) -> Layer {
        Layer {
            data_dir: self.data_dir.clone(),
            listen: self.listen,
            node_url: (!self.node_url.is_empty()).then(|| self.node_url.clone()),
            admin_token: self.admin_token.clone(),
            quota_per_account: self.quota_per_account,
            max_blob_size: self.max_blob_size,
            allow_private_egress: self.allow_private_egress,
            delivery_concurrency: self.delivery_concurrency,
            retry_initial: self.retry_initial,
            retry_max: self.retry_max,
            delivery_timeout: self.delivery_timeout,
            delivery_connect_timeout: self.delivery_connect_timeout,
            delivery_response_timeout: self.delivery_response_timeout,
            delivery_min_rate: self.delivery_min_rate,
            delivery_rate_window: self.delivery_rate_window,
            delivery_max_refusals: self.delivery_max_refusals,
            default_deadline: self.default_deadline,
            follower_wait: self.follower_wait,
            metrics_listen: self.metrics_listen.map(|listen| listen.0),
            min_seller_balance: self.min_seller_balance.clone(),
            allow_seller: (!self.allow_seller.is_empty()).then(|| self.allow_seller.clone()),
            capacity: self.capacity,
            max_uploads: self.max_uploads,
            max_uploads_per_account: self.max_uploads_per_account,
            unregistered_ttl: self.unregistered_ttl,
            upload_idle_timeout: self.upload_idle_timeout,
            upload_min_rate: self.upload_min_rate,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::Config;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ConfigArgs,
    }

    #[test]
    fn flags_override_the_file_which_overrides_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("storage.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nmax_blob_size = \"1GiB\"\nretry_max = \"10m\"\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "x",
            "--config",
            file.to_str().unwrap(),
            "--retry-max",
            "2m",
            "--allow-private-egress",
            "--quota-per-account",
            "5MiB",
        ])
        .unwrap();
        let config = Config::load(&cli.args).unwrap();
        assert_eq!(config.listen, "127.0.0.1:9000".parse().unwrap()); // file
        assert_eq!(config.max_blob_size, 1 << 30); // file
        assert_eq!(config.retry_max, Duration::from_secs(120)); // flag over file
        assert!(config.allow_private_egress); // flag
        assert_eq!(config.quota_per_account, 5 << 20); // flag
        assert_eq!(config.delivery_concurrency, 4); // default
    }

    #[test]
    fn bad_flags_say_what_to_write() {
        let err = Cli::try_parse_from(["x", "--retry-max", "soon"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("500ms"), "{err}");
        let err = Cli::try_parse_from(["x", "--max-blob-size", "big"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("10GiB"), "{err}");
        let cli = Cli::try_parse_from(["x", "--allow-private-egress", "no"]).unwrap();
        assert_eq!(cli.args.allow_private_egress, Some(false));
    }
}
