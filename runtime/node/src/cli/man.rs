//! `consign man --out-dir DIR`: man pages for `consign` and each of its commands, generated from
//! the command line itself (consign-util's `clidocs`).

use std::io::Write;

use clap::CommandFactory as _;
use consign_util::clidocs::{self, ManArgs};
use serde::Serialize;

use super::{Cli, OutputFormat, Session, EXIT_OK};

/// Long help of `consign man`.
pub(super) const LONG_ABOUT: &str = "\
Write man pages (section 1) for `consign` and each of its commands (consign.1, consign-dev.1,
consign-tx-wasm-store.1, …) into a directory, generated from the command line, so they always
match `--help`. Prints the files written.";

/// Examples for `consign man --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  Install them for this user and read one:
    consign man --out-dir ~/.local/share/man/man1 && man consign-dev
  For a package:
    consign man --out-dir pkg/usr/share/man/man1";

/// What `consign man` prints.
#[derive(Debug, Serialize)]
struct Written {
    pages: Vec<std::path::PathBuf>,
}

/// Writes the pages and lists them on `out`.
///
/// # Errors
///
/// If the directory cannot be created or a page written.
pub fn run(args: &ManArgs, session: &Session, out: &mut impl Write) -> anyhow::Result<u8> {
    let pages = clidocs::write_man_pages(Cli::command(), &args.out_dir)?;
    match session.output {
        OutputFormat::Json => {
            serde_json::to_writer(&mut *out, &Written { pages })?;
            writeln!(out)?;
        }
        OutputFormat::Text => {
            for page in &pages {
                writeln!(out, "{}", page.display())?;
            }
        }
    }
    Ok(EXIT_OK)
}
