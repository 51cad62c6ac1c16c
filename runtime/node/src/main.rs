//! The `consign` binary: parses the command line, starts logging, and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use consign::cli::Cli;
use consign_util::telemetry::init_tracing;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // warp reports every client that goes away mid-stream (an SSE reader closing) as an error
    // of its own; the API logs what matters under `runtime::api`. tower-abci (`consign start`)
    // logs every ABCI request whole at debug, transactions included; `runtime::abci` logs what
    // matters.
    if let Err(error) = init_tracing(
        "warn",
        cli.verbose,
        "warp::server=off,tower_abci=warn",
        cli.log.log_format,
    ) {
        eprintln!("warning: {error}");
    }
    match consign::cli::run(cli) {
        Ok(code) => code,
        // `consign … | head`: the reader went away; nothing more to say.
        Err(error) if is_broken_pipe(&error) => ExitCode::from(consign::cli::EXIT_USAGE),
        Err(error) => {
            eprintln!("error: {}", consign::cli::output::error_message(&error));
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
