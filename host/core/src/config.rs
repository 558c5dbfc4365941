//! Plugin config keys: what each plugin says it reads (its `plugin-info`), and the
//! check of a stack's config values against them, made before any plugin's
//! `declare` runs.
//!
//! A key that no plugin lists is refused, naming the closest key a plugin does
//! list; so is a value of the wrong type or out of range, naming the plugin.
//! Plugins built against a contract before 0.3.0 list no keys: while one of them
//! is in the stack an unknown key may be its own, so it is passed on with a
//! warning instead.

use std::collections::BTreeMap;

use crate::Diagnostic;
use crate::diag::closest;
use crate::printable::short;

/// Config keys starting with this are facts the host reads from AWS, never
/// checked against plugins' keys.
pub const FACT_PREFIX: &str = "aws:";

/// One config key a plugin reads.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ConfigKey {
    /// The key.
    pub name: String,
    /// What it sets, in a sentence.
    pub description: String,
    /// What values it takes.
    #[serde(rename = "type")]
    pub ty: ConfigType,
    /// The value used when the stack does not set it.
    pub default: Option<String>,
}

/// What values a config key takes.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "kebab-case", tag = "name")]
pub enum ConfigType {
    /// Any text.
    Text,
    /// An integer in `min..=max`.
    Integer {
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// A decimal number in `min..=max`.
    Number {
        /// Smallest allowed.
        min: f64,
        /// Largest allowed.
        max: f64,
    },
    /// `true` or `false`.
    Boolean,
    /// One of these words.
    Choice {
        /// The words.
        choices: Vec<String>,
    },
    /// An IPv4 CIDR block.
    Cidr,
    /// Comma-separated items.
    TextList,
}

impl std::fmt::Display for ConfigType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigType::Text => f.write_str("text"),
            ConfigType::Integer { min, max } => write!(f, "integer {min} to {max}"),
            ConfigType::Number { min, max } => write!(f, "number {min} to {max}"),
            ConfigType::Boolean => f.write_str("true or false"),
            ConfigType::Choice { choices } => {
                let quoted: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
                write!(f, "one of {}", quoted.join(", "))
            }
            ConfigType::Cidr => f.write_str("IPv4 CIDR block"),
            ConfigType::TextList => f.write_str("comma-separated list"),
        }
    }
}

impl ConfigType {
    /// Checks `value`; the error says what was expected.
    pub fn check(&self, value: &str) -> Result<(), String> {
        let v = value.trim();
        match self {
            ConfigType::Text | ConfigType::TextList => Ok(()),
            ConfigType::Integer { min, max } => match v.parse::<i64>() {
                Ok(n) if (*min..=*max).contains(&n) => Ok(()),
                Ok(_) => Err(format!("must be {min} to {max}")),
                Err(_) => Err(format!("must be an integer ({min} to {max})")),
            },
            ConfigType::Number { min, max } => match v.parse::<f64>() {
                Ok(n) if n.is_finite() && (*min..=*max).contains(&n) => Ok(()),
                Ok(_) => Err(format!("must be {min} to {max}")),
                Err(_) => Err(format!("must be a number ({min} to {max})")),
            },
            ConfigType::Boolean => match v {
                "true" | "false" => Ok(()),
                _ => Err("must be `true` or `false`".into()),
            },
            ConfigType::Choice { choices } => {
                if choices.iter().any(|c| c == v) {
                    Ok(())
                } else {
                    Err(format!("must be {self}"))
                }
            }
            ConfigType::Cidr => check_cidr(v)
                .map_err(|e| format!("must be an IPv4 CIDR block such as `10.0.0.0/16`: {e}")),
        }
    }
}

fn check_cidr(v: &str) -> Result<(), String> {
    let (ip, bits) = v.split_once('/').ok_or("no `/prefix`")?;
    ip.parse::<std::net::Ipv4Addr>()
        .map_err(|_| format!("`{ip}` is not an IPv4 address"))?;
    match bits.parse::<u8>() {
        Ok(b) if b <= 32 => Ok(()),
        _ => Err(format!("`/{bits}` is not a prefix length (0 to 32)")),
    }
}

/// The keys one plugin of the stack lists.
#[derive(Clone, Debug, PartialEq)]
pub struct PluginKeys {
    /// The plugin's name.
    pub plugin: String,
    /// Its keys; `None` when its contract predates config keys (before 0.3.0).
    pub keys: Option<Vec<ConfigKey>>,
}

/// Checks the stack's config `values` (host facts excluded) against the keys the
/// stack's plugins list: the plugins' own lists first (a bad default, or two
/// plugins disagreeing on a key's type), then every value. Errors refuse the
/// run; warnings (a key only an older plugin could read) do not.
pub fn check(plugins: &[PluginKeys], values: &BTreeMap<String, String>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // Each key's first declaration, by the first plugin that lists it.
    let mut known: BTreeMap<&str, (&str, &ConfigKey)> = BTreeMap::new();
    for p in plugins {
        for key in p.keys.iter().flatten() {
            if let Some(Err(e)) = key.default.as_deref().map(|d| key.ty.check(d)) {
                out.push(
                    Diagnostic::error(format!(
                        "config key `{}` has a default that its own type refuses: {e}",
                        short(&key.name, 64)
                    ))
                    .plugin(&p.plugin)
                    .hint("this is a bug in the plugin: tell its author"),
                );
            }
            match known.get(key.name.as_str()) {
                Some((first, k)) if k.ty != key.ty => out.push(
                    Diagnostic::error(format!(
                        "plugins `{first}` and `{}` disagree on config key `{}`",
                        p.plugin,
                        short(&key.name, 64)
                    ))
                    .plugin(&p.plugin)
                    .detail(format!(
                        "`{first}` reads it as {}, `{}` as {}: one value cannot suit both.",
                        k.ty, p.plugin, key.ty
                    ))
                    .hint("use plugin versions that agree, or ask their authors to rename one key"),
                ),
                Some(_) => {}
                None => {
                    known.insert(&key.name, (&p.plugin, key));
                }
            }
        }
    }
    let older: Vec<&str> = plugins
        .iter()
        .filter(|p| p.keys.is_none())
        .map(|p| p.plugin.as_str())
        .collect();
    for (name, value) in values {
        if name.starts_with(FACT_PREFIX) {
            continue;
        }
        if let Some((plugin, key)) = known.get(name.as_str()) {
            // Every plugin that lists it agrees on the type (checked above).
            if let Err(e) = key.ty.check(value) {
                out.push(
                    Diagnostic::error(format!(
                        "config `{}` = `{}`: {e}",
                        short(name, 64),
                        short(value, 64)
                    ))
                    .plugin(*plugin)
                    .field(name.clone())
                    .detail(describe(key))
                    .hint(format!("set it with `engine config set {name} VALUE`, or remove it to use the default")),
                );
            }
            continue;
        }
        let near = closest(name, known.keys().copied());
        if !older.is_empty() {
            let mut d = Diagnostic::warning(format!(
                "config key `{}` is listed by no plugin; passed on to {} unchecked",
                short(name, 64),
                older.join(", ")
            ))
            .detail(
                "Plugins built against a contract before 0.3.0 do not list the keys they read.",
            );
            if let Some(n) = near {
                d = d.hint(format!("did you mean `{n}` (plugin `{}`)?", known[n].0));
            }
            out.push(d);
            continue;
        }
        let mut d = Diagnostic::error(format!(
            "unknown config key `{}`: no plugin of the stack reads it",
            short(name, 64)
        ))
        .field(name.clone());
        d = match near {
            Some(n) => d
                .plugin(known[n].0)
                .hint(format!("did you mean `{n}` (plugin `{}`)?", known[n].0)),
            None if known.is_empty() => d.hint("the stack's plugins read no config keys"),
            None => d.hint("`engine config ls PLUGINS...` lists every key the plugins read"),
        };
        out.push(d);
    }
    out
}

/// One line about a key: its type, default and description.
pub fn describe(key: &ConfigKey) -> String {
    let default = match &key.default {
        Some(d) => format!("default `{d}`"),
        None => "no default".into(),
    };
    format!(
        "`{}`: {}, {default}. {}",
        key.name,
        key.ty,
        key.description.trim_end_matches('.')
    ) + "."
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, ty: ConfigType, default: Option<&str>) -> ConfigKey {
        ConfigKey {
            name: name.into(),
            description: format!("Sets {name}."),
            ty,
            default: default.map(String::from),
        }
    }

    fn plugins() -> Vec<PluginKeys> {
        vec![
            PluginKeys {
                plugin: "vpc".into(),
                keys: Some(vec![key("vpc-cidr", ConfigType::Cidr, Some("10.0.0.0/16"))]),
            },
            PluginKeys {
                plugin: "kinesis".into(),
                keys: Some(vec![
                    key(
                        "kinesis-shard-count",
                        ConfigType::Integer { min: 1, max: 500 },
                        Some("1"),
                    ),
                    key(
                        "kms-deletion-window-days",
                        ConfigType::Integer { min: 7, max: 30 },
                        Some("30"),
                    ),
                ]),
            },
        ]
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn test_a_misspelt_key_is_refused_naming_the_closest_key_and_its_plugin() {
        let d = check(&plugins(), &values(&[("vpc-cidrr", "10.1.0.0/16")]));
        assert_eq!(d.len(), 1);
        assert!(d[0].is_error());
        assert!(
            d[0].summary.contains("unknown config key `vpc-cidrr`"),
            "{d:?}"
        );
        assert_eq!(
            d[0].hint.as_deref(),
            Some("did you mean `vpc-cidr` (plugin `vpc`)?")
        );
        assert_eq!(d[0].plugin.as_deref(), Some("vpc"));
    }

    #[test]
    fn test_a_key_far_from_every_key_gets_no_suggestion() {
        let d = check(&plugins(), &values(&[("colour", "blue")]));
        assert!(d[0].is_error());
        assert!(d[0].hint.as_deref().unwrap().contains("engine config ls"));
    }

    #[test]
    fn test_values_are_checked_against_their_type_and_range() {
        let d = check(
            &plugins(),
            &values(&[
                ("kinesis-shard-count", "0"),
                ("vpc-cidr", "10.0.0.0/33"),
                ("kms-deletion-window-days", "30"),
            ]),
        );
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(
            d[0].summary,
            "config `kinesis-shard-count` = `0`: must be 1 to 500"
        );
        assert_eq!(d[0].plugin.as_deref(), Some("kinesis"));
        assert!(d[0].detail.contains("default `1`"));
        assert!(
            d[1].summary.contains("`/33` is not a prefix length"),
            "{d:?}"
        );
    }

    #[test]
    fn test_facts_pass_and_an_older_plugin_turns_unknown_keys_into_warnings() {
        assert!(check(&plugins(), &values(&[("aws:availability-zones", "a,b")])).is_empty());
        let mut ps = plugins();
        ps.push(PluginKeys {
            plugin: "legacy".into(),
            keys: None,
        });
        let d = check(
            &ps,
            &values(&[("legacy-size", "3"), ("kinesis-shard-count", "x")]),
        );
        assert_eq!(d.len(), 2);
        assert!(d[0].is_error(), "a listed key is still checked");
        assert!(!d[1].is_error());
        assert!(d[1].summary.contains("passed on to legacy unchecked"));
    }

    #[test]
    fn test_plugins_must_agree_on_a_shared_key_and_defaults_must_pass_their_type() {
        let mut ps = plugins();
        ps.push(PluginKeys {
            plugin: "secrets".into(),
            keys: Some(vec![
                key("kms-deletion-window-days", ConfigType::Text, None),
                key(
                    "db-port",
                    ConfigType::Integer { min: 1, max: 10 },
                    Some("5432"),
                ),
            ]),
        });
        let d = check(&ps, &BTreeMap::new());
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[1].summary
                .contains("`db-port` has a default that its own type refuses")
        );
        assert_eq!(
            d[0].summary,
            "plugins `kinesis` and `secrets` disagree on config key `kms-deletion-window-days`"
        );
    }

    #[test]
    fn test_types_check_values_as_the_sdk_parses_them() {
        let choice = ConfigType::Choice {
            choices: vec!["0".into(), "60".into()],
        };
        assert!(choice.check("60").is_ok());
        assert_eq!(choice.check("61").unwrap_err(), "must be one of `0`, `60`");
        assert!(ConfigType::Boolean.check("yes").is_err());
        assert!(
            ConfigType::Number {
                min: 0.0,
                max: 100.0
            }
            .check("80.5")
            .is_ok()
        );
        assert!(
            ConfigType::Number {
                min: 0.0,
                max: 100.0
            }
            .check("NaN")
            .is_err()
        );
        assert!(ConfigType::Cidr.check("10.0.0.0/16").is_ok());
        assert!(ConfigType::Cidr.check("10.0.0/16").is_err());
    }
}
