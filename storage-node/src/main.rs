//! The `consign-storage` binary: parses the command line, starts logging, and hands over to
//! the library ([`consign_storage::server::run`]).

use std::process::ExitCode;

use clap::{ArgAction, CommandFactory as _, Parser, Subcommand};
use consign_storage::config::ConfigArgs;
use consign_storage::Config;
use consign_util::clidocs::{self, CompletionsArgs, ManArgs};
use consign_util::telemetry::{self, LogArgs};

const ABOUT: &str = "The Consign storage node: holds sellers' data and delivers it to buyers";

const LONG_ABOUT: &str = "\
The Consign storage node: holds sellers' data, encrypted at rest, and delivers it, encrypted to
the buyer, when a purchase commits on the chain, while the seller is offline.

A seller uploads a blob (PUT /v1/blobs/{sha256}, signed with its chain account key: no
passwords), then registers it for an offer (POST /v1/registrations, checked on-chain: the signer
must be the offer's seller and the digests must match). The node follows the chain's delivery
feed, and for each purchase of a registered offer encrypts the blob to the buyer's age key and
POSTs it to the endpoint the buyer wrote in the contract, retrying until it is accepted.

An offer under k-of-n custody is held by n nodes, one piece each: the blob is a fragment of the
encrypted data and the registration carries the node's key share, sealed to the node's
custody_recipient (GET /v1/info). The node checks both against the offer's commitments, keeps
the share sealed, keeps at most one piece of an offer, and on a purchase sends its fragment and
its share, each encrypted to the buyer. No node alone can read the data.";

const SERVE_ABOUT: &str = "\
Run the storage node: the HTTP API, the follower of the chain's delivery feed and the
deliveries, until SIGINT (Ctrl-C) or SIGTERM.

Settings come from the defaults, then --config FILE (TOML, keys as the flags with `_`), then
CONSIGN_STORAGE_<SETTING> environment variables, then the flags: each overrides the one before.

The data directory (--data-dir) holds:
  storage.redb     the database: blobs held, uploaders and quotas, registrations, the
                   follower's cursor, every delivery's state (ACID: a kill -9 loses nothing
                   acknowledged)
  at-rest.key      the age identity every blob is encrypted to on disk, and custody key
                   shares are sealed to (0600, age-keygen format). Back it up: without it
                   the blobs and shares cannot be read
  blobs/ab/cd/<sha256>.age   the blobs; blobs/tmp/ holds uploads in progress, emptied at start
  api.url          http://ADDR of the API once it listens
  metrics.url      http://ADDR of the operator's listener (--metrics-listen) once it listens

Chain nodes: --node-url may be given several times (a list in the config file), full nodes of
one chain network. The node uses the first that answers on the data directory's chain and stays
with it; when it fails (unreachable, slower than its time limit, a server error, or behind the
delivery already read) the next one is used, and the switch is logged. The follower's cursor is
the feed's sequence number, the same on every node, so a switch neither skips nor repeats an
instruction. A node that reports another chain is refused and never asked again.

Egress policy: buyers choose the endpoints deliveries are sent to. Unless
--allow-private-egress is given, the node refuses to send to loopback, private (10/8,
172.16/12, 192.168/16, 100.64/10, fc00::/7), link-local (169.254/16 with the cloud metadata
address, fe80::/10), multicast and other non-public addresses, after DNS resolution and on
every redirect, so a purchase cannot turn the node against the operator's own network.

Admin token: the /v1/admin/ routes (deliveries with their state and last error, registrations,
account usage) need `Authorization: Bearer <token>` with --admin-token (at least 16
characters). Without a token they are disabled (403). Give it through the environment or the
config file rather than the flag, which other local users can see.

What is public: /v1/info and /status say only what is constant for the node (id, chain,
version, limits). The figures that move with uploads, registrations and deliveries are the
operator's: GET /v1/admin/status (admin token), and /metrics and /status on the operator's
listener (--metrics-listen, loopback by default), so no one polling storage nodes can tell
which one holds an offer.

Uploads: the signer of an upload grant must hold --min-seller-balance on-chain (and be on the
--allow-seller list, if given); uploads in progress count against the quota and --capacity;
a body slower than --upload-min-rate is cut; blobs not registered within
--unregistered-ttl are deleted and their quota returned.";

const SERVE_EXAMPLES: &str = "\
Examples:
  Serve next to a local `consign dev`:
    CONSIGN_STORAGE_ADMIN_TOKEN=$(openssl rand -hex 32) consign-storage serve
  A throw-away node on a free port, delivering to local test servers:
    consign-storage -v serve --data-dir /tmp/storage --listen 127.0.0.1:0 \\
      --node-url \"$(cat ~/.consign/api.url)\" --allow-private-egress
  Follow a network through any of three full nodes, failing over between them:
    consign-storage serve --node-url http://10.0.0.1:26602 --node-url http://10.0.0.2:26602 \
      --node-url http://10.0.0.3:26602
  Where it listens, and what it is doing (the operator's listener):
    curl \"$(cat /tmp/storage/metrics.url)/status\"
  Check the settings a config file and the environment give:
    consign-storage config --config /etc/consign-storage.toml";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  Bash, for every session:
    consign-storage completions bash > ~/.local/share/bash-completion/completions/consign-storage
  Zsh (a directory on $fpath):
    consign-storage completions zsh > ~/.zfunc/_consign-storage";

const MAN_EXAMPLES: &str = "\
Examples:
  For a package, beside the systemd unit in packaging/:
    consign-storage man --out-dir pkg/usr/share/man/man1";

/// The `consign-storage` command line.
#[derive(Debug, Parser)]
#[command(name = "consign-storage", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    /// More log output on stderr: -v debug, -vv trace (serve logs at info by default).
    /// `RUST_LOG` overrides it, e.g. RUST_LOG=storage::api=debug.
    #[arg(long, short, global = true, action = ArgAction::Count)]
    verbose: u8,

    #[command(flatten)]
    log: LogArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the storage node until SIGINT or SIGTERM.
    #[command(long_about = SERVE_ABOUT, after_help = SERVE_EXAMPLES)]
    Serve(ConfigArgs),
    /// Print the settings that `serve` would use with the same flags, as TOML (the admin token
    /// redacted), and exit.
    Config(ConfigArgs),
    /// Print the shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Write man pages for consign-storage and each of its commands into a directory, and list
    /// them.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // warp reports every client that goes away mid-request as an error of its own; the API
    // logs what matters under `storage::api`.
    let _ = telemetry::init_tracing(
        "info",
        cli.verbose,
        "warp::server=off,hyper=warn,reqwest=warn",
        cli.log.log_format,
    );
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Config(args) => {
            print!("{}", Config::load(&args)?.to_toml());
            Ok(())
        }
        Command::Completions(args) => {
            clidocs::write_completions(Cli::command(), args.shell, &mut std::io::stdout().lock())?;
            Ok(())
        }
        Command::Man(args) => {
            for page in clidocs::write_man_pages(Cli::command(), &args.out_dir)? {
                println!("{}", page.display());
            }
            Ok(())
        }
        Command::Serve(args) => {
            let config = Config::load(&args)?;
            tracing::debug!(target: "storage::node", ?config, "configuration");
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(consign_storage::server::run(config))
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// The systemd unit shipped for packagers.
    const UNIT: &str = include_str!("../../packaging/consign-storage.service");
    /// Its environment file.
    const ENV_FILE: &str = include_str!("../../packaging/consign-storage.env");

    #[test]
    fn the_systemd_unit_runs_a_command_line_that_parses() {
        let exec = UNIT
            .lines()
            .find_map(|line| line.strip_prefix("ExecStart="))
            .expect("an ExecStart line");
        let args: Vec<&str> = exec.split_whitespace().collect();
        assert!(args[0].ends_with("/consign-storage"), "{exec}");
        let cli = Cli::try_parse_from(&args).unwrap();
        let Command::Serve(serve) = cli.command else {
            panic!("the unit does not run `serve`: {exec}");
        };
        // The config it names is in its ConfigurationDirectory, and its data in its
        // StateDirectory (the sample config's data_dir).
        let config = serve.config.expect("--config");
        assert!(config.starts_with("/etc/consign-storage"), "{exec}");
        assert!(UNIT.contains("ConfigurationDirectory=consign-storage\n"));
        assert!(UNIT.contains("StateDirectory=consign-storage\n"));
        assert!(include_str!("../../packaging/consign-storage.toml")
            .contains("\ndata_dir = \"/var/lib/consign-storage\"\n"));
        for setting in [
            "DynamicUser=yes",
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "Restart=on-failure",
            "EnvironmentFile=-/etc/consign-storage/env",
        ] {
            assert!(UNIT.contains(setting), "the unit lacks {setting}");
        }
    }

    #[test]
    fn the_unit_and_its_environment_file_set_only_known_variables() {
        let command = Cli::command();
        let mut known: Vec<String> = command
            .get_arguments()
            .chain(
                command
                    .get_subcommands()
                    .filter(|sub| sub.get_name() == "serve")
                    .flat_map(|sub| sub.get_arguments()),
            )
            .filter_map(|arg| arg.get_env())
            .map(|env| env.to_string_lossy().into_owned())
            .collect();
        known.sort();
        let set = UNIT
            .lines()
            .filter_map(|line| line.strip_prefix("Environment="))
            .chain(ENV_FILE.lines().filter(|line| !line.starts_with('#')))
            .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim()))
            .filter(|name| !name.is_empty());
        for name in set {
            assert!(
                known.binary_search(&name.to_owned()).is_ok(),
                "{name} is not a consign-storage variable ({known:?})"
            );
        }
    }
}
