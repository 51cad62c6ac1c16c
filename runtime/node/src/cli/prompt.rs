//! Reading what a person types that must not be echoed, logged or put on a command line: the
//! `file` keyring's passphrase, an exported key's passphrase, a mnemonic; and yes/no questions.
//!
//! On a terminal each is asked on the terminal, without echo for secrets. Otherwise each is the
//! next line of standard input, in the order the command needs them (as wasmd reads them), so
//! a script can pipe them; passphrases can also come from an environment variable, which is
//! read first.

use std::io::{BufRead, IsTerminal, Write};

use consign_client::{ExposeSecret, PassphraseRequest, SecretString};

/// The environment variable a `file` keyring's passphrase is read from before asking.
pub const KEYRING_PASSPHRASE_ENV: &str = "CONSIGN_KEYRING_PASSPHRASE";

/// The environment variable the passphrase of an exported key (`consign keys export`, `consign
/// keys import`) is read from before asking.
pub const EXPORT_PASSPHRASE_ENV: &str = "CONSIGN_EXPORT_PASSPHRASE";

/// The `file` keyring's [`consign_client::PassphraseSource`]: `$CONSIGN_KEYRING_PASSPHRASE`,
/// else asked (twice for a new keyring) on the terminal, else the next line of standard input.
///
/// # Errors
///
/// Why there is no passphrase and how to give one.
pub fn keyring_passphrase(request: PassphraseRequest<'_>) -> Result<SecretString, String> {
    let (prompt, confirm) = match request {
        PassphraseRequest::New { dir } => (
            format!(
                "Choose a passphrase for the new file keyring at {}",
                dir.display()
            ),
            true,
        ),
        PassphraseRequest::Existing { dir } => (
            format!("Passphrase of the file keyring at {}", dir.display()),
            false,
        ),
        _ => ("Passphrase of the file keyring".to_owned(), false),
    };
    passphrase(&prompt, KEYRING_PASSPHRASE_ENV, confirm)
}

/// A passphrase: from the environment variable `env` if it is set, else asked on the terminal
/// without echo (twice when `confirm`, for a new one), else the next line of standard input.
///
/// # Errors
///
/// When the two entries differ, or standard input is neither a terminal nor has a line left;
/// the message names `env`.
pub fn passphrase(prompt: &str, env: &str, confirm: bool) -> Result<SecretString, String> {
    if let Some(value) = std::env::var_os(env) {
        return value
            .into_string()
            .map(SecretString::from)
            .map_err(|_| format!("{env} is not valid UTF-8"));
    }
    if std::io::stdin().is_terminal() {
        let first = read_hidden(&format!("{prompt}: "))?;
        if confirm {
            let again = read_hidden("Repeat it: ")?;
            if again.expose_secret() != first.expose_secret() {
                return Err("the two passphrases typed differ; nothing was changed".into());
            }
        }
        return Ok(first);
    }
    stdin_line().map_err(|e| {
        format!(
            "{e}; set {env}, pipe it as a line of standard input, or run in a terminal to be asked"
        )
    })
}

/// A secret that has no environment variable (a mnemonic): asked on the terminal without echo,
/// else the next line of standard input.
///
/// # Errors
///
/// When the terminal cannot be read, or standard input has no line left.
pub fn secret(prompt: &str) -> anyhow::Result<SecretString> {
    if std::io::stdin().is_terminal() {
        read_hidden(&format!("{prompt}: ")).map_err(anyhow::Error::msg)
    } else {
        stdin_line().map_err(|e| anyhow::anyhow!("{e}; pipe it as a line of standard input"))
    }
}

/// Asks a yes/no question on stderr and reads the answer from standard input (the terminal, or
/// a piped line); only `y` or `yes` (any case) is yes, and no answer is no.
///
/// # Errors
///
/// If standard input cannot be read.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line)? == 0 {
        eprintln!();
        return Ok(false);
    }
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn read_hidden(prompt: &str) -> Result<SecretString, String> {
    rpassword::prompt_password(prompt)
        .map(SecretString::from)
        .map_err(|e| format!("cannot read from the terminal: {e}"))
}

/// The next line of standard input, without its line ending.
fn stdin_line() -> Result<SecretString, String> {
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) => Err("standard input is not a terminal and has no line left".into()),
        Ok(_) => {
            let trimmed = line.trim_end_matches(['\n', '\r']).to_owned();
            line.clear();
            Ok(SecretString::from(trimmed))
        }
        Err(e) => Err(format!("cannot read standard input: {e}")),
    }
}
