//! Resource addresses: `plugin/name`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The address of a resource: the plugin that declares it and its name there.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    /// Plugin name.
    pub plugin: String,
    /// Resource name within the plugin.
    pub name: String,
}

/// Why a name or address is not valid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    /// Not `plugin/name`.
    #[error("`{0}` is not an address of the form `plugin/name`")]
    Shape(String),
    /// A part has characters other than lowercase letters, digits and `-`.
    #[error(
        "`{0}` is not a valid name: use lowercase letters, digits and `-`, starting with a letter (at most 63 characters)"
    )]
    Name(String),
}

/// Whether `s` is a valid plugin or resource name.
pub fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= 63
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `s` is a valid stack output name: ASCII letters, digits, `_` and `-`,
/// starting with a letter, at most 128 characters (`vpc_id`, `primary-endpoint`).
pub fn valid_output_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && s.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl Address {
    /// An address from its parts (not validated).
    pub fn new(plugin: impl Into<String>, name: impl Into<String>) -> Self {
        Address {
            plugin: plugin.into(),
            name: name.into(),
        }
    }

    /// Parses and validates `plugin/name`.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let (p, n) = s
            .split_once('/')
            .ok_or_else(|| AddressError::Shape(s.to_string()))?;
        for part in [p, n] {
            if !valid_name(part) {
                return Err(AddressError::Name(part.to_string()));
            }
        }
        Ok(Address::new(p, n))
    }

    /// Resolves a reference written inside plugin `plugin`: `name` means a resource of
    /// the same plugin, `other/name` one of another plugin.
    pub fn resolve(plugin: &str, s: &str) -> Result<Self, AddressError> {
        if s.contains('/') {
            Address::parse(s)
        } else if valid_name(s) {
            Ok(Address::new(plugin, s))
        } else {
            Err(AddressError::Name(s.to_string()))
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.plugin, self.name)
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Address::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_are_identifiers() {
        for ok in ["vpc_id", "primary-endpoint", "A1", &"a".repeat(128)] {
            assert!(valid_output_name(ok), "{ok}");
        }
        for bad in [
            "",
            "1a",
            "_a",
            "a b",
            "id\x1b[31m",
            "a/b",
            "$(x)",
            &"a".repeat(129),
        ] {
            assert!(!valid_output_name(bad), "{bad}");
        }
    }

    #[test]
    fn parses_and_resolves() {
        assert_eq!(
            Address::parse("vpc/main").unwrap(),
            Address::new("vpc", "main")
        );
        assert!(Address::parse("vpc").is_err());
        assert!(Address::parse("Vpc/main").is_err());
        assert!(Address::parse("vpc/ma.in").is_err());
        assert_eq!(
            Address::resolve("rds", "db").unwrap(),
            Address::new("rds", "db")
        );
        assert_eq!(
            Address::resolve("rds", "vpc/main").unwrap(),
            Address::new("vpc", "main")
        );
    }
}
