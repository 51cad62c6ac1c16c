//! BIP-39 mnemonics and the Cosmos SDK's key derivation from them (BIP-32 along the BIP-44 path
//! `m/44'/118'/0'/0/0`), so a mnemonic written down from `wasmd keys add` or Keplr gives the
//! same account here: the same secp256k1 key, so the same 20 address bytes, written with the
//! `consign` prefix.
//!
//! The word list, checksum and seed are the `bip39` crate's; the derivation is the `bip32`
//! crate's, on the same `k256` the rest of Consign signs with.

use std::fmt;

use bip32::{DerivationPath, XPrv};
use rand_core::{OsRng, RngCore};

use crate::{KeyringError, SecretKey};

/// The Cosmos SDK's default HD path: BIP-44, coin type 118, account 0, address index 0 — what
/// `wasmd keys add`, the Cosmos SDK's keyring, cosmjs and Keplr derive a mnemonic's first
/// account on.
pub const COSMOS_HD_PATH: &str = "m/44'/118'/0'/0/0";

/// A BIP-39 mnemonic in English: 12, 15, 18, 21 or 24 words ending in a checksum.
///
/// Its `Debug` output never shows the words, and its memory is wiped when it is dropped.
#[derive(Clone)]
pub struct Mnemonic(bip39::Mnemonic);

impl Mnemonic {
    /// A new 24-word mnemonic (256 bits) from the operating system's random source, as
    /// `wasmd keys add` makes.
    pub fn generate() -> Self {
        let mut entropy = [0u8; 32];
        OsRng.fill_bytes(&mut entropy);
        let mnemonic = bip39::Mnemonic::from_entropy(&entropy)
            .expect("32 bytes is a valid BIP-39 entropy length");
        entropy.fill(0);
        Self(mnemonic)
    }

    /// Reads a mnemonic as people copy it: words separated by any whitespace, in any case.
    ///
    /// # Errors
    ///
    /// [`KeyringError::InvalidMnemonic`] for a wrong number of words, a word not in the BIP-39
    /// English list (named by its position, never echoed), or a wrong checksum (a word swapped
    /// or mistyped into another valid word).
    pub fn parse(phrase: &str) -> Result<Self, KeyringError> {
        let words: Vec<String> = phrase.split_whitespace().map(str::to_lowercase).collect();
        let invalid = |reason: String| KeyringError::InvalidMnemonic { reason };
        if words.is_empty() {
            return Err(invalid("no words were given".into()));
        }
        bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &words.join(" "))
            .map(Self)
            .map_err(|error| {
                invalid(match error {
                    bip39::Error::BadWordCount(n) => {
                        format!("it has {n} words; a BIP-39 mnemonic has 12, 15, 18, 21 or 24")
                    }
                    bip39::Error::UnknownWord(i) => format!(
                        "word {} is not in the BIP-39 English word list (check its spelling)",
                        i + 1
                    ),
                    bip39::Error::InvalidChecksum => "its checksum does not match: a word is \
                                                      mistyped or two words are swapped"
                        .into(),
                    other => other.to_string(),
                })
            })
    }

    /// The words, separated by single spaces: what to write down.
    pub fn phrase(&self) -> String {
        self.0.to_string()
    }

    /// How many words it has.
    pub fn word_count(&self) -> usize {
        self.0.word_count()
    }

    /// The secret key at `hd_path` (such as [`COSMOS_HD_PATH`]), with an empty BIP-39
    /// passphrase, as wasmd and Keplr derive it.
    ///
    /// # Errors
    ///
    /// [`KeyringError::InvalidHdPath`] if `hd_path` is not a BIP-32 path like
    /// `m/44'/118'/0'/0/0`, and [`KeyringError::DerivationFailed`] in the vanishingly rare case
    /// that the path leads to no valid key.
    pub fn derive(&self, hd_path: &str) -> Result<SecretKey, KeyringError> {
        let path: DerivationPath =
            hd_path
                .trim()
                .parse()
                .map_err(|_| KeyringError::InvalidHdPath {
                    path: hd_path.to_owned(),
                })?;
        let mut seed = self.0.to_seed_normalized("");
        let derived = XPrv::derive_from_path(seed, &path);
        seed.fill(0);
        let failed = || KeyringError::DerivationFailed {
            path: hd_path.to_owned(),
        };
        let xprv = derived.map_err(|_| failed())?;
        SecretKey::from_bytes(&xprv.to_bytes()).map_err(|_| failed())
    }

    /// The secret key of the first Cosmos account, at [`COSMOS_HD_PATH`].
    ///
    /// # Errors
    ///
    /// As [`Mnemonic::derive`] (only the rare invalid scalar).
    pub fn cosmos_key(&self) -> Result<SecretKey, KeyringError> {
        self.derive(COSMOS_HD_PATH)
    }
}

impl fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mnemonic")
            .field("words", &self.word_count())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes the 20 address bytes of `address` (any prefix) with the `consign` prefix: what
    /// the same key's address is on Consign.
    fn as_consign(address: &str) -> String {
        let (_, bytes) = bech32::decode(address).unwrap();
        bech32::encode::<bech32::Bech32>(bech32::Hrp::parse("consign").unwrap(), &bytes).unwrap()
    }

    // The vectors below are cosmjs's (github.com/cosmos/cosmjs,
    // packages/amino/src/secp256k1hdwallet.spec.ts): `defaultMnemonic` with its pubkey and
    // address at m/44'/118'/0'/0/0; the mnemonic checked there to give "the same address as
    // Go implementation" (the Cosmos SDK's keyring, which wasmd uses); and the 24-word
    // mnemonic whose `wasm1…` addresses "are taken from the generate_addresses.js script in
    // the scripts/wasmd directory". The `consign1…` literals are the same 20 bytes with our
    // prefix (computed independently, and checked against `as_consign`).

    #[test]
    fn cosmjs_default_mnemonic_gives_its_key_and_address() {
        let mnemonic = Mnemonic::parse(
            "special sign fit simple patrol salute grocery chicken wheat radar tonight ceiling",
        )
        .unwrap();
        let key = mnemonic.cosmos_key().unwrap();
        assert_eq!(
            hex::encode(key.public_key().to_bytes()),
            "02baa4ef93f2ce84592a49b1d729c074eab640112522a7a89f7d03ebab21ded7b6"
        );
        let cosmos = "cosmos1jhg0e7s6gn44tfc5k37kr04sznyhedtc9rzys5";
        assert_eq!(key.public_key().address("cosmos"), cosmos);
        assert_eq!(
            key.address(),
            "consign1jhg0e7s6gn44tfc5k37kr04sznyhedtcsh8ps5"
        );
        assert_eq!(key.address(), as_consign(cosmos));
    }

    #[test]
    fn cosmjs_go_compatibility_mnemonic_gives_the_cosmos_sdk_address() {
        let key = Mnemonic::parse(
            "oyster design unusual machine spread century engine gravity focus cave carry slot",
        )
        .unwrap()
        .cosmos_key()
        .unwrap();
        assert_eq!(
            key.public_key().address("cosmos"),
            "cosmos1cjsxept9rkggzxztslae9ndgpdyt2408lk850u"
        );
        assert_eq!(
            key.address(),
            "consign1cjsxept9rkggzxztslae9ndgpdyt24082zz30u"
        );
    }

    #[test]
    fn wasmd_24_word_mnemonic_gives_its_accounts_along_the_path() {
        let mnemonic = Mnemonic::parse(
            "economy stock theory fatal elder harbor betray wasp final emotion task crumble \
             siren bottom lizard educate guess current outdoor pair theory focus wife stone",
        )
        .unwrap();
        assert_eq!(mnemonic.word_count(), 24);
        let first = mnemonic.cosmos_key().unwrap();
        assert_eq!(
            first.public_key().to_base64(),
            "A08EGB7ro1ORuFhjOnZcSgwYlpe0DSFjVNUIkNNQxwKQ"
        );
        assert_eq!(
            first.public_key().address("wasm"),
            "wasm1pkptre7fdkl6gfrzlesjjvhxhlc3r4gm32kke3"
        );
        assert_eq!(
            first.address(),
            "consign1pkptre7fdkl6gfrzlesjjvhxhlc3r4gmwzzxs6"
        );
        let second = mnemonic.derive("m/44'/118'/0'/0/1").unwrap();
        assert_eq!(
            second.public_key().address("wasm"),
            "wasm10dyr9899g6t0pelew4nvf4j5c3jcgv0r5d3a5l"
        );
        assert_eq!(
            second.address(),
            as_consign("wasm10dyr9899g6t0pelew4nvf4j5c3jcgv0r5d3a5l")
        );
    }

    #[test]
    fn copied_mnemonics_are_read_as_people_paste_them() {
        let tidy = Mnemonic::parse(
            "special sign fit simple patrol salute grocery chicken wheat radar tonight ceiling",
        )
        .unwrap();
        let messy = Mnemonic::parse(
            "  Special sign fit simple\npatrol salute\tgrocery chicken wheat radar tonight CEILING\n",
        )
        .unwrap();
        assert_eq!(messy.phrase(), tidy.phrase());
        assert!(!format!("{messy:?}").contains("special"));
    }

    #[test]
    fn bad_mnemonics_say_what_is_wrong_without_echoing_words() {
        let cases = [
            ("", "no words"),
            ("special sign fit", "has 3 words"),
            (
                "special sign fit simple patrol salute grocery chicken wheat radar tonight ceilingz",
                "word 12 is not in the BIP-39 English word list",
            ),
            (
                "sign special fit simple patrol salute grocery chicken wheat radar tonight ceiling",
                "checksum does not match",
            ),
        ];
        for (phrase, expected) in cases {
            let error = Mnemonic::parse(phrase).unwrap_err().to_string();
            assert!(error.contains(expected), "{phrase:?}: {error}");
            assert!(!error.contains("ceilingz"), "{error}");
        }
        let mnemonic = Mnemonic::generate();
        for bad in ["", "44'/118'", "m/44'/x", "m/44'/118'/0'/0/0/"] {
            assert!(
                matches!(
                    mnemonic.derive(bad),
                    Err(KeyringError::InvalidHdPath { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn generated_mnemonics_have_24_words_and_parse_back() {
        let mnemonic = Mnemonic::generate();
        assert_eq!(mnemonic.word_count(), 24);
        let again = Mnemonic::parse(&mnemonic.phrase()).unwrap();
        assert_eq!(
            again.cosmos_key().unwrap().address(),
            mnemonic.cosmos_key().unwrap().address()
        );
        assert_ne!(Mnemonic::generate().phrase(), mnemonic.phrase());
    }
}
