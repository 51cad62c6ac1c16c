//! The `consign` binary: parses the command line, starts logging, and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use consign::cli::Cli;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    match consign::cli::run(cli) {
        Ok(code) => code,
        // `consign … | head`: the reader went away; nothing more to say.
        Err(error) if is_broken_pipe(&error) => ExitCode::from(consign::cli::EXIT_USAGE),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(consign::cli::EXIT_USAGE)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    let broken = Some(std::io::ErrorKind::BrokenPipe);
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .map(std::io::Error::kind)
            == broken
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(serde_json::Error::io_error_kind)
                == broken
    })
}

/// Logs to stderr, filtered by `RUST_LOG` if set, else by the number of `-v` flags.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    // warp reports every client that goes away mid-stream (an SSE reader closing) as an error
    // of its own; the API logs what matters under `runtime::api`.
    let default = format!("{default},warp::server=off");
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
