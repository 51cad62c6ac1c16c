//! `consign completions SHELL`: the shell completion script, generated from the command line
//! itself (consign-util's `clidocs`), so it never lags behind `--help`.

use std::io::Write;

use clap::CommandFactory as _;
use consign_util::clidocs::{self, CompletionsArgs};

use super::{Cli, EXIT_OK};

/// Long help of `consign completions`.
pub(super) const LONG_ABOUT: &str = "\
Print the completion script of `consign` for a shell, generated from its command line, so it
always matches `--help`. Load it from the shell's start-up file or install it where the shell
looks for completions.";

/// Examples for `consign completions --help`.
pub(super) const EXAMPLES: &str = "\
Examples:
  Bash, for this session:
    source <(consign completions bash)
  Bash, for every session:
    consign completions bash > ~/.local/share/bash-completion/completions/consign
  Zsh (a directory on $fpath):
    consign completions zsh > ~/.zfunc/_consign
  Fish:
    consign completions fish > ~/.config/fish/completions/consign.fish";

/// Writes the script to `out`.
///
/// # Errors
///
/// If `out` cannot be written.
pub fn run(args: &CompletionsArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    clidocs::write_completions(Cli::command(), args.shell, out)?;
    Ok(EXIT_OK)
}
