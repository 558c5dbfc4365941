//! The state model: what the engine knows it has created, as of the last apply.
//!
//! A [`State`] maps each resource address to a [`ResourceState`]: its kind, the
//! properties as applied (references resolved to literals), the attributes AWS
//! returned (ids, ARNs, endpoints, ports), and the resources it depended on, so that
//! a resource removed from the plugins can still be deleted in the right order.
//!
//! The state is stored as normalised JSON (every object's keys sorted, two-space
//! indentation, a final newline), so the same state always has the same bytes and a
//! `diff` of two states shows only what changed. Backends (the `engine-state` crate)
//! store it; this module only defines it, with no I/O.
//!
//! Versioning: [`State::VERSION`] is the format this engine writes. A state with a
//! newer version was written by a newer engine and is refused
//! ([`StateFormatError::NewerVersion`]) rather than misread and overwritten.
//! Unknown fields are refused too: an engine must never drop what it does not
//! understand when it writes the state back.
//!
//! Secrets: the model has no place for a secret value. A secret's password lives only
//! in Secrets Manager; a DB instance's master password is a
//! [`SecretValueRef`](crate::model::SecretValueRef) (the secret's ARN and a key).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::Address;
use crate::model::Kind;

/// The state of a stack: every resource the engine manages, and the stack outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Format version ([`State::VERSION`] when written by this engine).
    pub version: u32,
    /// Incremented by the backend on every write; a saved plan records the serial
    /// it was made against, and is refused when the state has moved on.
    pub serial: u64,
    /// A random id given to the state when it is first written, kept for its whole
    /// life. Empty until then. Tells two different stacks' states apart even when
    /// their serials agree.
    pub lineage: String,
    /// Every managed resource by address.
    pub resources: BTreeMap<Address, ResourceState>,
    /// Resources replaced create-before-delete whose old copy has not been deleted
    /// yet (the apply that created the new copy was interrupted): the next plan
    /// deletes them. Keyed by the address they used to have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deposed: BTreeMap<Address, ResourceState>,
    /// Stack outputs as of the last apply (numbers as numbers).
    pub outputs: BTreeMap<String, Value>,
    /// The environment (resource name suffix) the resources were applied with: a
    /// plan for another environment against this state is refused, since it would
    /// replace every resource. Absent in states written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// What the engine knows about one resource it manages.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceState {
    /// The resource kind.
    pub kind: Kind,
    /// The sha256 (hex) of the plugin that declared it, when it was last applied.
    pub plugin_sha256: String,
    /// The properties as applied (the JSON of [`Spec::properties`](crate::Spec::properties)),
    /// with every reference resolved to the literal value used.
    pub inputs: Value,
    /// What AWS returned: the attributes other resources may reference (`id`,
    /// `arn`, `endpoint`, `port`, ...). Strings, except ports (numbers).
    pub attributes: BTreeMap<String, Value>,
    /// The resources it depended on (references and `depends-on`), sorted. Used to
    /// delete it in the right order once no plugin declares it.
    pub dependencies: Vec<Address>,
    /// Whether the resource is known to exist as described.
    #[serde(default, skip_serializing_if = "ResourceStatus::is_ready")]
    pub status: ResourceStatus,
    /// The address its ownership tags in AWS name, when `engine state mv` moved it
    /// to another address without touching AWS: ownership is judged against it
    /// until the next update sets the tags again (which clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagged_as: Option<Address>,
}

/// Whether a resource in the state is known to exist as described.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceStatus {
    /// Created (or updated) and confirmed.
    #[default]
    Ready,
    /// A create was started and not confirmed (the apply was interrupted): the
    /// resource may or may not exist. Recorded before calling AWS, so that the next
    /// apply looks for it by its ownership tags and adopts it instead of leaking it.
    /// The planner plans a [`Create`](crate::plan::Action::Create).
    Pending,
    /// The resource exists but a create or replace failed part way (for example a
    /// DB instance that never became available): the planner replaces it.
    Tainted,
}

impl ResourceStatus {
    /// Whether this is [`ResourceStatus::Ready`].
    pub fn is_ready(&self) -> bool {
        *self == ResourceStatus::Ready
    }
}

/// Why a state file cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateFormatError {
    /// Written by a newer engine.
    #[error(
        "the state has format version {found}, but this engine reads version {supported} at most; \
         it was written by a newer engine, so use that engine (or a newer one)"
    )]
    NewerVersion {
        /// The version in the file.
        found: u64,
        /// [`State::VERSION`].
        supported: u32,
    },
    /// A version this engine never wrote (0, or not a number).
    #[error("the state has format version {found}, which no engine writes")]
    UnsupportedVersion {
        /// The version in the file, as written.
        found: String,
    },
    /// Not JSON, or not the shape of a state.
    #[error("the state is not valid: {0}")]
    Invalid(String),
}

impl State {
    /// The format version this engine reads and writes.
    pub const VERSION: u32 = 1;

    /// Moves the resource at `old` to `new` (`engine state mv`): its record, the
    /// dependencies of others on it, and the address its tags name, kept in
    /// [`ResourceState::tagged_as`]. Nothing is changed when it is refused: no
    /// resource at `old`, one at `new` already, or an apply left `old` pending or
    /// an old copy of it to delete (apply first).
    pub fn rename(&mut self, old: &Address, new: &Address) -> Result<(), String> {
        let Some(r) = self.resources.get(old) else {
            return Err(format!("no resource `{old}` in the state"));
        };
        if old == new {
            return Err(format!("`{old}` is already at that address"));
        }
        if self.resources.contains_key(new) || self.deposed.contains_key(new) {
            return Err(format!("the state already holds a resource at `{new}`"));
        }
        if r.status == ResourceStatus::Pending || self.deposed.contains_key(old) {
            return Err(format!(
                "an interrupted apply left `{old}` unfinished; run `engine apply` first"
            ));
        }
        let mut r = self.resources.remove(old).expect("checked above");
        r.tagged_as = r.tagged_as.or_else(|| Some(old.clone()));
        if r.tagged_as.as_ref() == Some(new) {
            r.tagged_as = None;
        }
        self.resources.insert(new.clone(), r);
        for other in self.resources.values_mut() {
            for d in &mut other.dependencies {
                if d == old {
                    *d = new.clone();
                }
            }
            other.dependencies.sort();
        }
        Ok(())
    }

    /// A state with no resources, never written (serial 0, no lineage yet).
    pub fn empty() -> State {
        State {
            version: State::VERSION,
            serial: 0,
            lineage: String::new(),
            resources: BTreeMap::new(),
            deposed: BTreeMap::new(),
            outputs: BTreeMap::new(),
            environment: None,
        }
    }

    /// Whether it has neither resources, deposed objects nor outputs.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.deposed.is_empty() && self.outputs.is_empty()
    }

    /// Parses a state file, refusing versions this engine does not read.
    pub fn from_json(text: &str) -> Result<State, StateFormatError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| StateFormatError::Invalid(e.to_string()))?;
        check_version(&value, "version", State::VERSION)?;
        serde_json::from_value(value).map_err(|e| StateFormatError::Invalid(e.to_string()))
    }

    /// The normalised JSON form: keys sorted, two-space indentation, final newline.
    pub fn to_json(&self) -> String {
        to_normalised_json(self)
    }
}

/// Reads the version field `key` of a versioned JSON document and refuses versions
/// above `supported` (and version 0). Shared by the state and saved plans.
pub(crate) fn check_version(
    value: &Value,
    key: &str,
    supported: u32,
) -> Result<(), StateFormatError> {
    let field = match value {
        Value::Object(m) => m.get(key),
        _ => return Err(StateFormatError::Invalid("expected a JSON object".into())),
    };
    match field {
        None => Err(StateFormatError::Invalid(format!(
            "it has no `{key}` field"
        ))),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if v > u64::from(supported) => Err(StateFormatError::NewerVersion {
                found: v,
                supported,
            }),
            Some(v) if v >= 1 => Ok(()),
            _ => Err(StateFormatError::UnsupportedVersion {
                found: n.to_string(),
            }),
        },
        Some(other) => Err(StateFormatError::UnsupportedVersion {
            found: other.to_string(),
        }),
    }
}

/// Serialises `value` as normalised JSON: every object's keys sorted (whatever
/// `serde_json` features other crates enable), two-space indentation, final newline.
pub fn to_normalised_json<T: Serialize + ?Sized>(value: &T) -> String {
    // A JSON value's objects are sorted already unless serde_json keeps insertion
    // order (its `preserve_order` feature): then sort them (a 100,000-resource
    // plan would otherwise be copied once more for nothing).
    let v = serde_json::to_value(value)
        .map(|v| if maps_are_sorted() { v } else { normalise(v) })
        .unwrap_or(Value::Null);
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// Whether serde_json's objects keep their keys sorted (the default, a `BTreeMap`).
fn maps_are_sorted() -> bool {
    static SORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *SORTED.get_or_init(|| {
        let mut m = serde_json::Map::new();
        m.insert("b".into(), Value::Null);
        m.insert("a".into(), Value::Null);
        m.keys().next().map(String::as_str) == Some("a")
    })
}

/// Sorts every object's keys, recursively.
pub fn normalise(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, normalise(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rename_moves_the_record_and_what_depends_on_it_and_remembers_the_tagged_address() {
        let mut s = sample();
        let vpc = Address::new("network", "vpc");
        let main = Address::new("network", "main");
        let subnet = Address::new("network", "subnet");
        let mut sub = s.resources[&vpc].clone();
        sub.dependencies = vec![vpc.clone()];
        s.resources.insert(subnet.clone(), sub);
        s.rename(&vpc, &main).unwrap();
        assert!(!s.resources.contains_key(&vpc));
        assert_eq!(s.resources[&main].tagged_as, Some(vpc.clone()));
        assert_eq!(
            s.resources[&subnet].dependencies,
            std::slice::from_ref(&main)
        );
        // Moved on again: the tags still name the first address; moved back, they
        // name the address again.
        let other = Address::new("net", "vpc");
        s.rename(&main, &other).unwrap();
        assert_eq!(s.resources[&other].tagged_as, Some(vpc.clone()));
        s.rename(&other, &vpc).unwrap();
        assert_eq!(s.resources[&vpc].tagged_as, None);
        // Refused, nothing changed.
        let before = s.clone();
        assert!(
            s.rename(&main, &other)
                .unwrap_err()
                .contains("no resource `network/main`")
        );
        assert!(
            s.rename(&vpc, &subnet)
                .unwrap_err()
                .contains("already holds")
        );
        s.resources.get_mut(&vpc).unwrap().status = ResourceStatus::Pending;
        let pending = s.clone();
        assert!(
            s.rename(&vpc, &main)
                .unwrap_err()
                .contains("interrupted apply")
        );
        assert_eq!(s, pending);
        assert_ne!(s, before);
    }

    fn sample() -> State {
        let mut s = State::empty();
        s.serial = 3;
        s.lineage = "3f1c0c8e-0000-4000-8000-000000000001".into();
        s.resources.insert(
            Address::new("network", "vpc"),
            ResourceState {
                kind: Kind::Vpc,
                plugin_sha256: "ab".repeat(32),
                inputs: json!({"tags": [], "cidr-block": "10.0.0.0/16", "enable-dns-support": true, "enable-dns-hostnames": true}),
                attributes: BTreeMap::from([("id".into(), json!("vpc-0123"))]),
                dependencies: vec![],
                status: ResourceStatus::Ready,
                tagged_as: None,
            },
        );
        s.outputs.insert("vpc_id".into(), json!("vpc-0123"));
        s.outputs.insert("redis_port".into(), json!(6379));
        s
    }

    #[test]
    fn round_trips_and_is_normalised() {
        let s = sample();
        let text = s.to_json();
        assert!(text.ends_with('\n'));
        assert_eq!(State::from_json(&text).unwrap(), s);
        // Keys sorted everywhere, including inside `inputs`.
        let cidr = text.find("\"cidr-block\"").unwrap();
        let dns = text.find("\"enable-dns-hostnames\"").unwrap();
        let tags = text.find("\"tags\"").unwrap();
        assert!(cidr < dns && dns < tags, "{text}");
        let lineage = text.find("\"lineage\"").unwrap();
        let version = text.find("\"version\"").unwrap();
        assert!(lineage < version);
        // Ready is the default and not written; deposed is omitted when empty.
        assert!(!text.contains("status"));
        assert!(!text.contains("deposed"));
        // The same state always has the same bytes.
        assert_eq!(State::from_json(&text).unwrap().to_json(), text);
    }

    #[test]
    fn the_sample_state_holds_no_secret_value() {
        // The secret's password is a policy; the DB's is where to read it.
        let s = crate::samples::applied_state();
        let secret = &s.resources[&Address::new("secrets", "db")].inputs;
        assert_eq!(
            secret["password"],
            json!({"length": 32, "exclude-characters": "/@\" "})
        );
        let db = &s.resources[&Address::new("database", "db")].inputs;
        let arn = &s.resources[&Address::new("secrets", "db")].attributes["arn"];
        assert_eq!(
            db["master-password"],
            json!({"secret-id": arn, "key": "password"})
        );
        fn no_password_string(v: &Value, path: &str) {
            match v {
                Value::Object(m) => m.iter().for_each(|(k, v)| {
                    assert!(
                        !(k.contains("password") && v.is_string()),
                        "{path}.{k} holds a string"
                    );
                    no_password_string(v, &format!("{path}.{k}"));
                }),
                Value::Array(a) => a.iter().for_each(|v| no_password_string(v, path)),
                _ => {}
            }
        }
        no_password_string(&serde_json::to_value(&s).unwrap(), "state");
    }

    #[test]
    fn statuses_round_trip() {
        let mut s = sample();
        let a = Address::new("network", "vpc");
        s.resources.get_mut(&a).unwrap().status = ResourceStatus::Pending;
        let text = s.to_json();
        assert!(text.contains("\"status\": \"pending\""), "{text}");
        assert_eq!(State::from_json(&text).unwrap(), s);
    }

    #[test]
    fn newer_versions_are_refused_clearly() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["version"] = json!(2);
        let e = State::from_json(&v.to_string()).unwrap_err();
        assert_eq!(
            e,
            StateFormatError::NewerVersion {
                found: 2,
                supported: 1
            }
        );
        assert!(e.to_string().contains("written by a newer engine"), "{e}");
        // Even when the rest is a shape this engine cannot read.
        let e = State::from_json(r#"{"version": 7, "whatever": []}"#).unwrap_err();
        assert!(matches!(e, StateFormatError::NewerVersion { found: 7, .. }));
    }

    #[test]
    fn invalid_states_are_refused() {
        for bad in [
            "",
            "{",
            "[]",
            r#"{"serial": 1}"#,
            r#"{"version": 0}"#,
            r#"{"version": "1"}"#,
        ] {
            assert!(State::from_json(bad).is_err(), "{bad}");
        }
        // Unknown fields are refused, so that writing back never drops them.
        let mut v = serde_json::to_value(sample()).unwrap();
        v["extra"] = json!(1);
        assert!(matches!(
            State::from_json(&v.to_string()),
            Err(StateFormatError::Invalid(_))
        ));
    }
}
