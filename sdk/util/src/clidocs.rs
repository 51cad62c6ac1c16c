//! Shell completions and man pages, generated from a binary's clap command (`clap_complete`,
//! `clap_mangen`) so they always say what `--help` says. Both binaries expose them the same way,
//! through [`CompletionsArgs`] (`… completions bash`) and [`ManArgs`] (`… man --out-dir DIR`).
//!
//! ```
//! use clap::CommandFactory as _;
//!
//! #[derive(clap::Parser)]
//! #[command(name = "example")]
//! /// An example.
//! struct Cli {
//!     /// Say more.
//!     #[arg(long)]
//!     verbose: bool,
//! }
//!
//! let mut script = Vec::new();
//! consign_util::clidocs::write_completions(Cli::command(), consign_util::clidocs::Shell::Bash, &mut script)
//!     .expect("written to memory");
//! assert!(String::from_utf8(script).unwrap().contains("--verbose"));
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

pub use clap_complete::Shell;

/// The arguments of a `completions` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// The arguments of a `man` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct ManArgs {
    /// The directory to write the pages to (created if missing), e.g.
    /// /usr/local/share/man/man1.
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
}

/// Why the completions or man pages could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClidocsError {
    /// The output could not be written.
    #[error("cannot write the completions: {0}")]
    Write(#[source] std::io::Error),
    /// The output directory could not be created.
    #[error("cannot create the directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A page could not be written.
    #[error("cannot write the man page {}: {source}", path.display())]
    Page {
        /// The page's file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Writes the completion script of `command` for `shell` to `out`. The script is rendered in
/// memory first, so a closed pipe is an error, not a panic.
///
/// # Errors
///
/// [`ClidocsError::Write`] if `out` cannot be written.
pub fn write_completions(
    mut command: clap::Command,
    shell: Shell,
    out: &mut impl Write,
) -> Result<(), ClidocsError> {
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    out.write_all(&script)
        .and_then(|()| out.flush())
        .map_err(ClidocsError::Write)
}

/// Writes one man page (section 1) for `command` and one for each of its visible subcommands,
/// at every depth (`consign.1`, `consign-tx.1`, `consign-tx-wasm.1`, …), into `dir`; returns
/// the files written, the command's own page first.
///
/// # Errors
///
/// If `dir` cannot be created or a page cannot be written.
pub fn write_man_pages(command: clap::Command, dir: &Path) -> Result<Vec<PathBuf>, ClidocsError> {
    std::fs::create_dir_all(dir).map_err(|source| ClidocsError::CreateDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut command = command.disable_help_subcommand(true);
    // Building sets each subcommand's display name (`consign-tx-wasm`), the page's name.
    command.build();
    let mut written = Vec::new();
    write_pages(command, dir, &mut written)?;
    Ok(written)
}

fn write_pages(
    command: clap::Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), ClidocsError> {
    let page = clap_mangen::Man::new(command.clone());
    let path = dir.join(page.get_filename());
    page.generate_to(dir).map_err(|source| ClidocsError::Page {
        path: path.clone(),
        source,
    })?;
    written.push(path);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub.clone(), dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    /// A tool.
    #[derive(clap::Parser)]
    #[command(name = "tool")]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(clap::Subcommand)]
    enum Command {
        /// Serve things.
        Serve {
            /// Where to listen.
            #[arg(long)]
            listen: String,
        },
        /// Manage keys.
        Keys {
            #[command(subcommand)]
            command: Keys,
        },
    }

    #[derive(clap::Subcommand)]
    enum Keys {
        /// Add a key.
        Add,
    }

    #[test]
    fn completions_name_the_commands_and_flags_for_every_shell() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let mut out = Vec::new();
            write_completions(Cli::command(), shell, &mut out).unwrap();
            let script = String::from_utf8(out).unwrap();
            assert!(script.contains("serve"), "{shell}: {script}");
            assert!(script.contains("listen"), "{shell}: {script}");
        }
    }

    #[test]
    fn a_man_page_for_every_command() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_man_pages(Cli::command(), &dir.path().join("man1")).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["tool.1", "tool-serve.1", "tool-keys.1", "tool-keys-add.1"]
        );
        let page = std::fs::read_to_string(&written[1]).unwrap();
        assert!(page.starts_with(".ie"), "{page}");
        assert!(page.contains(".TH tool-serve 1"), "{page}");
        assert!(page.contains("Where to listen"), "{page}");
    }

    #[test]
    fn a_closed_output_is_an_error() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let error = write_completions(Cli::command(), Shell::Bash, &mut Closed).unwrap_err();
        assert!(matches!(error, ClidocsError::Write(_)), "{error}");
    }
}
