//! Diagnostics: errors and warnings for people, naming the plugin, resource and field.
//!
//! Style (after OpenTofu's diagnostics guide): a one-line summary, a detail in full
//! sentences, where it happened, and a `hint:` when a fix is known.
//!
//! Diagnostics carry what plugins said (names, messages, panic text), so their
//! `Display` escapes control characters ([`crate::printable`]): the summary, the
//! location and the hint on one line each, the detail keeping its line breaks.

use std::fmt;

use serde::Serialize;

use crate::printable::{line, lines};

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Stops the command.
    Error,
    /// Shown; the command goes on.
    Warning,
}

/// One diagnostic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Severity.
    pub severity: Severity,
    /// One line.
    pub summary: String,
    /// Full sentences.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The plugin involved (its name, or its file when the name is not known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// The resource address involved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The property involved (dotted path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// How to fix it, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error with a summary.
    pub fn error(summary: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: String::new(),
            plugin: None,
            address: None,
            field: None,
            hint: None,
        }
    }

    /// A warning with a summary.
    pub fn warning(summary: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(summary)
        }
    }

    /// Adds the detail.
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = d.into();
        self
    }

    /// Names the plugin.
    pub fn plugin(mut self, p: impl Into<String>) -> Self {
        self.plugin = Some(p.into());
        self
    }

    /// Names the resource.
    pub fn address(mut self, a: impl ToString) -> Self {
        self.address = Some(a.to_string());
        self
    }

    /// Names the property.
    pub fn field(mut self, f: impl Into<String>) -> Self {
        self.field = Some(f.into());
        self
    }

    /// Adds a hint.
    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }

    /// Whether this stops the command.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{label}: {}", line(&self.summary))?;
        let mut at = Vec::new();
        if let Some(p) = &self.plugin {
            at.push(format!("plugin `{}`", line(p)));
        }
        if let Some(a) = &self.address {
            at.push(format!("resource `{}`", line(a)));
        }
        if let Some(fl) = &self.field {
            at.push(format!("field `{}`", line(fl)));
        }
        if !at.is_empty() {
            write!(f, "\n  --> {}", at.join(", "))?;
        }
        if !self.detail.is_empty() {
            for l in lines(&self.detail).lines() {
                write!(f, "\n  {l}")?;
            }
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {}", line(h))?;
        }
        Ok(())
    }
}

/// The candidate closest to `name` by edit distance, when close enough to be a
/// typo: at most a third of its length, and at most 3 (for "did you mean").
pub fn closest<'a>(name: &str, keys: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 3);
    keys.map(|k| (distance(name, k), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    #[test]
    fn test_closest_allows_small_typos_only() {
        use super::{closest, distance};
        let keys = ["vpc-cidr", "redis-num-nodes", "db-name"];
        assert_eq!(closest("redis-nodes", keys.into_iter()), None);
        assert_eq!(
            closest("redis-num-node", keys.into_iter()),
            Some("redis-num-nodes")
        );
        assert_eq!(closest("db-nmae", keys.into_iter()), Some("db-name"));
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
