//! [`Layer`]: some of the settings, from one source (the TOML file, or the environment and
//! flags), and the parsers of durations and sizes they share.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use consign_client::Coin;
use serde::{Deserialize, Deserializer};

use super::ConfigError;

/// The settings one source gives; `None` leaves the setting to the sources below it. Its TOML
/// form is the config file: keys as [`Config`](super::Config)'s fields, unknown keys refused.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // Each field is documented on `Config`.
pub struct Layer {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    #[serde(default, deserialize_with = "urls")]
    pub node_url: Option<Vec<String>>,
    pub admin_token: Option<String>,
    #[serde(default, deserialize_with = "size")]
    pub quota_per_account: Option<u64>,
    #[serde(default, deserialize_with = "size")]
    pub max_blob_size: Option<u64>,
    pub allow_private_egress: Option<bool>,
    pub delivery_concurrency: Option<usize>,
    #[serde(default, deserialize_with = "duration")]
    pub retry_initial: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    pub retry_max: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    pub delivery_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    pub delivery_connect_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    pub delivery_response_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "size")]
    pub delivery_min_rate: Option<u64>,
    #[serde(default, deserialize_with = "duration")]
    pub delivery_rate_window: Option<Duration>,
    pub delivery_max_refusals: Option<u32>,
    #[serde(default, deserialize_with = "duration")]
    pub default_deadline: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    pub follower_wait: Option<Duration>,
    #[serde(default, deserialize_with = "listen_or_off")]
    pub metrics_listen: Option<Option<SocketAddr>>,
    #[serde(default, deserialize_with = "coin")]
    pub min_seller_balance: Option<Coin>,
    pub allow_seller: Option<Vec<String>>,
    #[serde(default, deserialize_with = "size")]
    pub capacity: Option<u64>,
    pub max_uploads: Option<usize>,
    pub max_uploads_per_account: Option<usize>,
    #[serde(default, deserialize_with = "duration")]
    pub unregistered_ttl: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    pub upload_idle_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "size")]
    pub upload_min_rate: Option<u64>,
}

impl Layer {
    /// Reads a TOML config file.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Read`] or [`ConfigError::Parse`] (with the line and the key).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_owned(),
        })
    }
}

/// A duration such as `1s`, `500ms`, `5m`, `7days`, `1h 30m`.
///
/// # Errors
///
/// A message saying what to write instead.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}`: {e}; write a duration such as 1s, 500ms, 5m or 7days"))
}

/// A size in bytes: a number of bytes, or a number with a unit (`10GiB`, `64 GiB`, `500MB`,
/// `1.5TiB`): `KB`, `MB`, `GB`, `TB` are powers of 1000, `KiB` … `TiB` of 1024 (the rule of
/// every Consign program, in `consign_util::size`).
pub use consign_util::size::parse_size;

/// A listening address, or none (`off`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListenOrOff(pub Option<SocketAddr>);

/// A listening address, or `off` for none.
///
/// # Errors
///
/// A message saying what to write instead.
pub fn parse_listen_or_off(text: &str) -> Result<ListenOrOff, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Ok(ListenOrOff(None));
    }
    text.parse()
        .map(|addr| ListenOrOff(Some(addr)))
        .map_err(|e| format!("`{text}`: {e}; write HOST:PORT, e.g. 127.0.0.1:9470, or `off`"))
}

/// An amount and a denomination, e.g. `1ucsn`.
///
/// # Errors
///
/// A message saying what to write instead.
pub fn parse_coin(text: &str) -> Result<Coin, String> {
    text.trim()
        .parse()
        .map_err(|e| format!("`{text}`: {e}; write an amount and a denomination, e.g. 1ucsn"))
}

fn listen_or_off<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<SocketAddr>>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_listen_or_off(&text)
        .map(|listen| Some(listen.0))
        .map_err(serde::de::Error::custom)
}

fn coin<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Coin>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_coin(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_duration(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

/// One URL, or a list of them.
fn urls<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Urls {
        One(String),
        Many(Vec<String>),
    }
    match Urls::deserialize(deserializer)? {
        Urls::One(url) => Ok(Some(vec![url])),
        Urls::Many(urls) if urls.is_empty() => Err(serde::de::Error::custom(
            "the list is empty; give at least one node URL",
        )),
        Urls::Many(urls) => Ok(Some(urls)),
    }
}

fn size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    match Size::deserialize(deserializer)? {
        Size::Bytes(bytes) => Ok(Some(bytes)),
        Size::Text(text) => parse_size(&text)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_parses_and_refuses_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("storage.toml");
        std::fs::write(
            &path,
            "data_dir = \"/srv/consign\"\nlisten = \"0.0.0.0:7070\"\nquota_per_account = \"1GiB\"\n\
             max_blob_size = 4096\nretry_max = \"10m\"\nallow_private_egress = true\n",
        )
        .unwrap();
        let layer = Layer::from_file(&path).unwrap();
        assert_eq!(layer.data_dir, Some(PathBuf::from("/srv/consign")));
        assert_eq!(layer.quota_per_account, Some(1 << 30));
        assert_eq!(layer.max_blob_size, Some(4096));
        assert_eq!(layer.retry_max, Some(Duration::from_secs(600)));
        assert_eq!(layer.allow_private_egress, Some(true));
        assert_eq!(layer.node_url, None);

        std::fs::write(&path, "quota = 5\n").unwrap();
        let err = Layer::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("unknown field `quota`"), "{err}");
        std::fs::write(&path, "retry_max = \"soon\"\n").unwrap();
        let err = Layer::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("retry_max") || err.contains("soon"), "{err}");
    }
}
