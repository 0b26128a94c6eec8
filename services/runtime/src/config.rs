//! Configuration: built-in defaults, then an optional TOML file, then
//! environment overrides.
//!
//! Environment variables named `AIRIS_<SECTION>__<KEY>` override the key
//! `<section>.<key>` (double underscore separates levels, since keys contain
//! single underscores): `AIRIS_KAFKA__BROKERS=10.0.0.1:9092` sets
//! `kafka.brokers`. Values are read as TOML scalars or arrays when they parse
//! as such (`42`, `true`, `["a","b"]`) and as strings otherwise.
//!
//! The environment is passed in as a map so that tests never mutate the
//! process environment.

use std::collections::BTreeMap;
use std::path::Path;

use serde::de::DeserializeOwned;

/// Prefix of environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "AIRIS_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("environment variable {name} conflicts with a non-table value at {key}")]
    EnvConflict { name: String, key: String },
    #[error("invalid configuration: {0}")]
    Invalid(toml::de::Error),
}

/// Loads `T` from an optional TOML file and environment overrides.
///
/// Every field of `T` must have a default (`#[serde(default)]`), so an empty
/// file and an empty environment give the local-development defaults.
pub fn load<T: DeserializeOwned>(
    file: Option<&Path>,
    env: &BTreeMap<String, String>,
) -> Result<T, ConfigError> {
    let mut root = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?;
            toml::from_str::<toml::Table>(&text).map_err(|source| ConfigError::Parse {
                path: path.display().to_string(),
                source,
            })?
        }
        None => toml::Table::new(),
    };
    apply_env(&mut root, env)?;
    toml::Value::Table(root)
        .try_into()
        .map_err(ConfigError::Invalid)
}

/// The process environment as a map, for `main`.
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

fn apply_env(root: &mut toml::Table, env: &BTreeMap<String, String>) -> Result<(), ConfigError> {
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        // Single-level variables such as AIRIS_CACHE belong to the scripts,
        // not to the service configuration.
        if !rest.contains("__") {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
        let (leaf, parents) = path.split_last().expect("split yields at least one item");
        let mut table = &mut *root;
        for key in parents {
            let entry = table
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = entry
                .as_table_mut()
                .ok_or_else(|| ConfigError::EnvConflict {
                    name: name.clone(),
                    key: key.clone(),
                })?;
        }
        table.insert(leaf.clone(), parse_env_value(raw));
    }
    Ok(())
}

fn parse_env_value(raw: &str) -> toml::Value {
    // Parse as the right-hand side of a TOML assignment; anything that is not
    // a valid TOML value (a bare host:port, a URL) is taken as a string.
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_owned())),
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Default, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Kafka {
        brokers: String,
        linger_ms: u32,
    }

    #[derive(Debug, Deserialize, Default, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Root {
        kafka: Kafka,
        topics: Vec<String>,
    }

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_overrides_file_and_parses_types() {
        let dir = std::env::temp_dir().join(format!("airis-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "[kafka]\nbrokers = \"a:1\"\nlinger_ms = 5\n").unwrap();
        let cfg: Root = load(
            Some(&file),
            &env(&[
                ("AIRIS_KAFKA__BROKERS", "b:2"),
                ("AIRIS_TOPICS", "ignored"),
                ("PATH", "/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.kafka.brokers, "b:2");
        assert_eq!(cfg.kafka.linger_ms, 5);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = load::<Root>(None, &env(&[("AIRIS_KAFKA__BROKRES", "x")])).unwrap_err();
        assert!(err.to_string().contains("brokres"), "{err}");
    }

    #[test]
    fn arrays_and_numbers_from_env() {
        let cfg: Root = load(None, &env(&[("AIRIS_KAFKA__LINGER_MS", "20")])).unwrap();
        assert_eq!(cfg.kafka.linger_ms, 20);
        assert_eq!(
            parse_env_value("[\"a\", \"b\"]").as_array().unwrap().len(),
            2
        );
        assert_eq!(
            parse_env_value("127.0.0.1:9092").as_str(),
            Some("127.0.0.1:9092")
        );
    }
}
