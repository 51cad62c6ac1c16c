//! `consign keys` as a person or a script uses it, across real processes: recovering a wasmd /
//! Keplr mnemonic, a new key's mnemonic, delete's confirmation, export and import, and the
//! encrypted `file` keyring signing a real transaction on `consign dev`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use consign_client::SecretKey;
use consign_tests::{consign_bin, ok_json, ok_stdout, DevNode};

/// cosmjs's `defaultMnemonic` (github.com/cosmos/cosmjs, packages/amino/src/secp256k1hdwallet.spec.ts),
/// whose account at m/44'/118'/0'/0/0 is `cosmos1jhg0e7s6gn44tfc5k37kr04sznyhedtc9rzys5` there.
const COSMJS_MNEMONIC: &str =
    "special sign fit simple patrol salute grocery chicken wheat radar tonight ceiling";
/// The same 20 address bytes with Consign's prefix.
const COSMJS_ADDRESS: &str = "consign1jhg0e7s6gn44tfc5k37kr04sznyhedtcsh8ps5";

/// The 24-word mnemonic of the same file, whose second account (m/44'/118'/0'/0/1) is
/// `wasm10dyr9899g6t0pelew4nvf4j5c3jcgv0r5d3a5l` in wasmd's `scripts/wasmd/generate_addresses.js`.
const WASMD_MNEMONIC: &str = "economy stock theory fatal elder harbor betray wasp final emotion \
    task crumble siren bottom lizard educate guess current outdoor pair theory focus wife stone";
/// That second account with Consign's prefix.
const WASMD_SECOND_ADDRESS: &str = "consign10dyr9899g6t0pelew4nvf4j5c3jcgv0rt99da5";

const PASSPHRASE_ENV: &str = "CONSIGN_KEYRING_PASSPHRASE";
const EXPORT_ENV: &str = "CONSIGN_EXPORT_PASSPHRASE";

/// Runs `consign ARGS --home HOME` with `stdin` as its standard input and only the given
/// Consign variables in its environment.
fn consign(home: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(consign_bin());
    command.args(args).arg("--home").arg(home);
    for (name, _) in std::env::vars() {
        if name.starts_with("CONSIGN_") && name != "CONSIGN_BIN" {
            command.env_remove(name);
        }
    }
    command
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("consign runs");
    let mut input = child.stdin.take().expect("a piped stdin");
    // The command may exit before reading it all (a refusal): a broken pipe is its answer.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().expect("consign finishes")
}

/// As [`consign`] in `node`'s home, against it (`--node URL`), with nothing on standard input.
fn on_node(node: &DevNode, args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<&str> = args.iter().copied().chain(["--node", &node.url]).collect();
    consign(node.home(), &args, "", env)
}

fn failed(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected a failure, got stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn address(output: &Output) -> String {
    ok_json(output)["address"]
        .as_str()
        .expect("an address")
        .to_owned()
}

#[test]
fn a_wasmd_or_keplr_mnemonic_recovers_the_same_account() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let recovered = consign(
        home,
        &["keys", "add", "keplr", "--recover", "--output", "json"],
        &format!("{COSMJS_MNEMONIC}\n"),
        &[],
    );
    let json = ok_json(&recovered);
    assert_eq!(json["address"], COSMJS_ADDRESS, "{json}");
    assert!(
        json.get("mnemonic").is_none(),
        "a recovered key prints no mnemonic: {json}"
    );
    // The mnemonic never reaches the output.
    let everything = format!(
        "{}{}",
        String::from_utf8_lossy(&recovered.stdout),
        String::from_utf8_lossy(&recovered.stderr)
    );
    assert!(!everything.contains("patrol"), "{everything}");

    // Another account of another mnemonic, along --hd-path.
    let second = consign(
        home,
        &[
            "keys",
            "add",
            "second",
            "--recover",
            "--hd-path",
            "m/44'/118'/0'/0/1",
            "--output",
            "json",
        ],
        &format!("{WASMD_MNEMONIC}\n"),
        &[],
    );
    assert_eq!(address(&second), WASMD_SECOND_ADDRESS);

    // A mistyped mnemonic says what is wrong, without echoing it, and stores nothing.
    let typo = COSMJS_MNEMONIC.replace("patrol", "patrl");
    let stderr = failed(&consign(
        home,
        &["keys", "add", "typo", "--recover"],
        &typo,
        &[],
    ));
    assert!(
        stderr.contains("word 5 is not in the BIP-39 English word list"),
        "{stderr}"
    );
    assert!(!stderr.contains("patrl"), "{stderr}");
    let stderr = failed(&consign(
        home,
        &["keys", "add", "none", "--recover"],
        "",
        &[],
    ));
    assert!(stderr.contains("cannot read the mnemonic"), "{stderr}");
    let list = ok_stdout(&consign(home, &["keys", "list"], "", &[]));
    assert!(!list.contains("typo") && !list.contains("none"), "{list}");
}

#[test]
fn a_new_key_prints_a_mnemonic_that_recovers_it() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let added = consign(home, &["keys", "add", "fresh", "--output", "json"], "", &[]);
    let json = ok_json(&added);
    let mnemonic = json["mnemonic"].as_str().expect("a mnemonic").to_owned();
    assert_eq!(mnemonic.split(' ').count(), 24, "{mnemonic}");
    let again = consign(
        home,
        &["keys", "add", "again", "--recover", "--output", "json"],
        &format!("{mnemonic}\n"),
        &[],
    );
    assert_eq!(address(&again), json["address"].as_str().unwrap());

    // In text mode the mnemonic goes to stderr, not to whatever captures stdout.
    let text = consign(home, &["keys", "add", "texty"], "", &[]);
    let stdout = ok_stdout(&text);
    let stderr = String::from_utf8_lossy(&text.stderr);
    assert!(stdout.contains("address: consign1"), "{stdout}");
    assert!(stderr.contains("write this mnemonic phrase"), "{stderr}");
    let words = stderr
        .lines()
        .find(|l| l.split(' ').count() == 24)
        .expect("the words");
    assert!(!stdout.contains(words));
    let quiet = consign(home, &["keys", "add", "quiet", "--no-backup"], "", &[]);
    ok_stdout(&quiet);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("mnemonic"));
}

#[test]
fn delete_asks_first_and_yes_skips_the_question() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    ok_stdout(&consign(
        home,
        &["keys", "add", "doomed", "--no-backup"],
        "",
        &[],
    ));
    let file = home.join("keys/doomed.json");
    assert!(file.exists());

    for answer in ["", "n\n", "yes please\n"] {
        let stderr = failed(&consign(home, &["keys", "delete", "doomed"], answer, &[]));
        assert!(stderr.contains("[y/N]"), "{stderr}");
        assert!(
            stderr.contains("was not deleted") && stderr.contains("--yes"),
            "{stderr}"
        );
        assert!(file.exists(), "deleted on {answer:?}");
    }
    let deleted = ok_stdout(&consign(home, &["keys", "delete", "doomed"], "y\n", &[]));
    assert!(deleted.contains("deleted key doomed"), "{deleted}");
    assert!(!file.exists());

    ok_stdout(&consign(
        home,
        &["keys", "add", "doomed", "--no-backup"],
        "",
        &[],
    ));
    ok_stdout(&consign(home, &["keys", "delete", "doomed", "-y"], "", &[]));
    assert!(!file.exists());
    let stderr = failed(&consign(home, &["keys", "show", "doomed"], "", &[]));
    assert!(stderr.contains("no key named"), "{stderr}");
    let stderr = failed(&consign(
        home,
        &["keys", "delete", "doomed", "--yes"],
        "",
        &[],
    ));
    assert!(stderr.contains("no key named"), "{stderr}");
}

#[test]
fn export_and_import_round_trip_between_homes_and_backends() {
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (one, two) = (one.path(), two.path());
    let original = address(&consign(
        one,
        &["keys", "add", "mine", "--no-backup", "--output", "json"],
        "",
        &[],
    ));

    let exported = consign(
        one,
        &["keys", "export", "mine"],
        "",
        &[(EXPORT_ENV, "carry me")],
    );
    let armored = ok_stdout(&exported);
    assert!(
        armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{armored}"
    );
    let file = one.join("mine.age");
    std::fs::write(&file, &armored).unwrap();
    let file = file.to_str().unwrap();

    let imported = consign(
        two,
        &["keys", "import", "theirs", file, "--output", "json"],
        "",
        &[(EXPORT_ENV, "carry me")],
    );
    assert_eq!(address(&imported), original);
    let stderr = failed(&consign(
        two,
        &["keys", "import", "wrong", file],
        "",
        &[(EXPORT_ENV, "not it")],
    ));
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    // The passphrase can also be a piped line.
    let piped = consign(
        two,
        &["keys", "import", "piped", file, "--output", "json"],
        "carry me\n",
        &[],
    );
    assert_eq!(address(&piped), original);

    // Hex needs both flags, and warns.
    let stderr = failed(&consign(
        one,
        &["keys", "export", "mine", "--unarmored-hex"],
        "",
        &[],
    ));
    assert!(stderr.contains("add --unsafe"), "{stderr}");
    let hex = consign(
        one,
        &["keys", "export", "mine", "--unarmored-hex", "--unsafe"],
        "",
        &[],
    );
    let secret = ok_stdout(&hex).trim().to_owned();
    assert_eq!(SecretKey::from_hex(&secret).unwrap().address(), original);
    assert!(String::from_utf8_lossy(&hex.stderr).contains("unencrypted secret key"));
    assert!(!armored.contains(&secret));

    // Hex, and a test keyring's key file, import too, into the file keyring as well.
    let hex_file = two.join("mine.hex");
    std::fs::write(&hex_file, format!("{secret}\n")).unwrap();
    let from_hex = consign(
        two,
        &[
            "keys",
            "import",
            "hexed",
            hex_file.to_str().unwrap(),
            "--output",
            "json",
        ],
        "",
        &[],
    );
    assert_eq!(address(&from_hex), original);
    let key_file = one.join("keys/mine.json");
    let into_file = consign(
        two,
        &[
            "keys",
            "import",
            "vault",
            key_file.to_str().unwrap(),
            "--keyring-backend",
            "file",
            "--output",
            "json",
        ],
        "",
        &[(PASSPHRASE_ENV, "vault passphrase")],
    );
    assert_eq!(address(&into_file), original);
    let not_a_key = one.join("junk.txt");
    std::fs::write(&not_a_key, "hello").unwrap();
    let stderr = failed(&consign(
        two,
        &["keys", "import", "junk", not_a_key.to_str().unwrap()],
        "",
        &[],
    ));
    assert!(stderr.contains("holds no key"), "{stderr}");
}

/// Every file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            found.push((path, bytes));
        }
    }
    found
}

#[test]
fn the_file_keyring_keeps_no_plaintext_secret_and_signs_on_a_dev_chain() {
    let home = tempfile::tempdir().unwrap();
    let node = DevNode::start(home.path()).unwrap();
    let home = node.home();
    let right = [(PASSPHRASE_ENV, "a long vault passphrase")];

    // The cosmjs key, recovered into the encrypted keyring (mnemonic piped, passphrase from the
    // environment).
    let vault = consign(
        home,
        &[
            "keys",
            "add",
            "vault",
            "--recover",
            "--keyring-backend",
            "file",
            "--output",
            "json",
        ],
        &format!("{COSMJS_MNEMONIC}\n"),
        &right,
    );
    assert_eq!(address(&vault), COSMJS_ADDRESS);
    // Names and addresses need no passphrase.
    let listed = ok_stdout(&consign(
        home,
        &["keys", "list", "--keyring-backend", "file"],
        "",
        &[],
    ));
    assert!(
        listed.contains("vault") && listed.contains(COSMJS_ADDRESS),
        "{listed}"
    );
    // Nor does naming it where only its address is needed: an instantiation's admin, in a
    // transaction from another account that nothing signs here.
    let unsigned = ok_stdout(&consign(
        home,
        &[
            "tx",
            "wasm",
            "instantiate",
            "1",
            "{}",
            "--label",
            "l",
            "--admin",
            "vault",
            "--from",
            &SecretKey::from_seed("alice").address(),
            "--generate-only",
            "--chain-id",
            "consign-dev",
            "--sequence",
            "0",
            "--gas",
            "200000",
            "--fees",
            "1ucsn",
            "--keyring-backend",
            "file",
        ],
        "",
        &[],
    ));
    assert!(unsigned.contains(COSMJS_ADDRESS), "{unsigned}");
    // Nor an unsigned transaction from it, which someone signs later.
    let from_vault = ok_stdout(&consign(
        home,
        &[
            "tx",
            "bank",
            "send",
            "vault",
            &SecretKey::from_seed("bob").address(),
            "5ucsn",
            "--generate-only",
            "--chain-id",
            "consign-dev",
            "--sequence",
            "0",
            "--gas",
            "200000",
            "--fees",
            "1ucsn",
            "--keyring-backend",
            "file",
        ],
        "",
        &[],
    ));
    let unsigned: serde_json::Value = serde_json::from_str(&from_vault).expect("JSON");
    assert_eq!(unsigned["body"]["sender"], COSMJS_ADDRESS, "{from_vault}");
    // The test keyring does not see it, and says where to look.
    let stderr = failed(&consign(home, &["keys", "show", "vault"], "", &[]));
    assert!(stderr.contains("test keyring"), "{stderr}");

    // No plaintext secret on disk, in any encoding a grep would find.
    let secret = ok_stdout(&consign(
        home,
        &[
            "keys",
            "export",
            "vault",
            "--unarmored-hex",
            "--unsafe",
            "--keyring-backend",
            "file",
        ],
        "",
        &right,
    ))
    .trim()
    .to_owned();
    assert_eq!(
        SecretKey::from_hex(&secret).unwrap().address(),
        COSMJS_ADDRESS
    );
    let raw = hex::decode(&secret).unwrap();
    let files = files_under(&home.join("keyring-file"));
    assert_eq!(files.len(), 1, "{files:?}");
    for (path, bytes) in &files {
        let text = String::from_utf8_lossy(bytes).to_lowercase();
        assert!(
            !text.contains(&secret),
            "{} holds the secret key",
            path.display()
        );
        assert!(!bytes.windows(raw.len()).any(|w| w == raw.as_slice()));
        assert!(
            !text.contains("patrol"),
            "{} holds the mnemonic",
            path.display()
        );
        assert!(text.contains("-----begin age encrypted file-----"));
    }

    // Fund it from the dev key alice, then let it sign with the passphrase from the environment.
    let alice = SecretKey::from_seed("alice").address();
    let fund = [
        "tx",
        "bank",
        "send",
        "alice",
        COSMJS_ADDRESS,
        "1000000ucsn",
        "--output",
        "json",
    ];
    ok_json(&on_node(&node, &fund, &[]));
    // A send from the vault: the file keyring, its passphrase (if any) from `env`.
    let send_from_vault = |amount: &str, env: &[(&str, &str)]| {
        let args = [
            "tx",
            "bank",
            "send",
            "vault",
            &alice,
            amount,
            "--keyring-backend",
            "file",
            "--output",
            "json",
        ];
        on_node(&node, &args, env)
    };
    let sent = ok_json(&send_from_vault("1234ucsn", &right));
    assert_eq!(sent["code"], 0, "{sent}");

    // A wrong passphrase is a clear error, and nothing is broadcast.
    let balance = || {
        let args = [
            "query",
            "bank",
            "balances",
            COSMJS_ADDRESS,
            "--output",
            "json",
        ];
        ok_json(&on_node(&node, &args, &[]))["balances"].to_string()
    };
    let before = balance();
    let stderr = failed(&send_from_vault(
        "1ucsn",
        &[(PASSPHRASE_ENV, "not the passphrase")],
    ));
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    assert!(stderr.contains("keyring-file"), "{stderr}");
    // No passphrase at all says how to give one.
    let stderr = failed(&send_from_vault("1ucsn", &[]));
    assert!(stderr.contains(PASSPHRASE_ENV), "{stderr}");
    assert_eq!(balance(), before);

    // A second key must use the same passphrase.
    let stderr = failed(&consign(
        home,
        &["keys", "add", "other", "--keyring-backend", "file"],
        "",
        &[(PASSPHRASE_ENV, "a different one")],
    ));
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    assert!(!home.join("keyring-file/other.json").exists());
}

#[test]
fn the_test_helper_s_age_key_is_made_once_then_found_again() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path()).unwrap();
    // First use: no identity yet, so `--show` fails and the helper makes one.
    let recipient = node.age_key("buyer").unwrap();
    assert!(recipient.starts_with("age1"), "{recipient}");
    let shown = ok_stdout(&consign(
        node.home(),
        &["keys", "age", "buyer", "--show"],
        "",
        &[],
    ));
    assert_eq!(shown.trim(), recipient);
    // Again: the same recipient (read from its file), not `keys age`'s refusal to replace it.
    assert_eq!(node.age_key("buyer").unwrap(), recipient);
    // An identity made by the command line is found too.
    let made = ok_stdout(&consign(node.home(), &["keys", "age", "seller"], "", &[]));
    assert_eq!(node.age_key("seller").unwrap(), made.trim());
}
