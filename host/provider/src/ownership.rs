//! Ownership: who a live resource belongs to, and the proof a stack needs before
//! it deletes, changes or adopts anything.
//!
//! Everything a stack creates carries three tags: [`STACK_TAG`] (its name, for
//! people), [`STACK_ID_TAG`] (its id, the state's lineage, unique per state) and
//! [`ADDRESS_TAG`] (the resource's address). Only the id proves ownership: two
//! stacks may share a name (another directory, region or environment) in one
//! account.

use std::fmt;

use engine_core::Address;

/// The tag key naming the stack that owns a resource.
pub const STACK_TAG: &str = "engine:stack";
/// The tag key holding the identity of the stack that owns a resource.
pub const STACK_ID_TAG: &str = "engine:stack-id";
/// The tag key naming the address (`plugin/name`) of a resource.
pub const ADDRESS_TAG: &str = "engine:address";

/// The identity of the stack that owns resources: its name (the `engine:stack`
/// tag, for people) and its id (the `engine:stack-id` tag: the state's lineage,
/// unique per state and kept for its whole life). Only the id proves ownership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackIdentity {
    /// The stack's name.
    pub name: String,
    /// The stack's unique id.
    pub id: String,
}

/// The ownership a live resource carries: its `engine:` tags, or for kinds that take
/// no tags (routes, route table associations, KMS aliases) those of the resource
/// they belong to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    /// `engine:stack`.
    pub stack: Option<String>,
    /// `engine:stack-id` (absent on resources tagged before stack ids existed).
    pub stack_id: Option<String>,
    /// `engine:address`.
    pub address: Option<String>,
    /// Where the tags were read, for kinds that take none (`route table rtb-1`).
    pub via: Option<String>,
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tags: Vec<String> = [
            (STACK_TAG, &self.stack),
            (STACK_ID_TAG, &self.stack_id),
            (ADDRESS_TAG, &self.address),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
        if tags.is_empty() {
            f.write_str("no engine tags")?;
        } else {
            write!(f, "tags {}", tags.join(", "))?;
        }
        if let Some(via) = &self.via {
            write!(f, " on its {via}")?;
        }
        Ok(())
    }
}

/// Whether a live resource is proven to be this stack's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Proven: its tags name this stack's id, or the engine recorded its id and
    /// nothing on it names another stack.
    Ours,
    /// It belongs to another stack: what was found, as the end of a sentence whose
    /// subject is the resource ("belongs to another stack (tags ...)").
    Theirs(String),
    /// Nothing proves whose it is: what was found, as the end of a sentence whose
    /// subject is the resource ("carries no engine ownership tags, ...").
    Unproven(String),
}

impl StackIdentity {
    /// An identity.
    pub fn new(name: impl Into<String>, id: impl Into<String>) -> Self {
        StackIdentity {
            name: name.into(),
            id: id.into(),
        }
    }

    /// Judges whether the live resource at `address`, carrying `owner`, is this
    /// stack's. `recorded` says whether the engine recorded its id when it created
    /// it (a resource in the state with attributes), which proves ownership unless
    /// its tags name another stack; a pending or adopted resource needs its tags to
    /// name this stack's id. A name match alone never suffices.
    pub fn judge(&self, owner: Option<&Owner>, address: &Address, recorded: bool) -> Ownership {
        let Some(o) = owner else {
            return if recorded {
                Ownership::Ours
            } else {
                Ownership::Unproven(
                    "carries no engine ownership tags, so nothing shows that this stack created it"
                        .into(),
                )
            };
        };
        // Tags read on a parent resource name the parent's address, not this one's.
        let same_address = o.via.is_some() || o.address.as_deref() == Some(&address.to_string());
        match &o.stack_id {
            Some(id) if *id == self.id && same_address => Ownership::Ours,
            Some(id) if *id == self.id => {
                Ownership::Theirs(format!("belongs to another resource of this stack ({o})"))
            }
            Some(_) => Ownership::Theirs(format!("belongs to another stack ({o})")),
            None if o.stack.as_deref() != Some(&self.name) => {
                Ownership::Theirs(format!("belongs to another stack ({o})"))
            }
            None if recorded && same_address => Ownership::Ours,
            None => Ownership::Unproven(format!(
                "was tagged before stack ids existed ({o}), so it cannot be told apart \
                 from another stack named `{}`",
                self.name
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(stack: &str, id: Option<&str>, address: &str) -> Owner {
        Owner {
            stack: Some(stack.into()),
            stack_id: id.map(str::to_string),
            address: Some(address.into()),
            via: None,
        }
    }

    #[test]
    fn ownership_is_proven_by_the_stack_id_or_a_recorded_id_never_by_a_name() {
        let me = StackIdentity::new("japancart", "a-1");
        let at = Address::new("rds", "monitoring-role");
        let ours = owner("japancart", Some("a-1"), "rds/monitoring-role");
        let twin = owner("japancart", Some("b-2"), "rds/monitoring-role");
        let old = owner("japancart", None, "rds/monitoring-role");
        let other = owner("shop", None, "rds/monitoring-role");
        for recorded in [true, false] {
            assert_eq!(me.judge(Some(&ours), &at, recorded), Ownership::Ours);
            // Same name, other state: never ours, however it was recorded.
            assert!(
                matches!(me.judge(Some(&twin), &at, recorded), Ownership::Theirs(m) if m.contains("engine:stack-id=b-2"))
            );
            assert!(matches!(
                me.judge(Some(&other), &at, recorded),
                Ownership::Theirs(_)
            ));
            // This stack's id on another address is another resource.
            let moved = owner("japancart", Some("a-1"), "rds/other");
            assert!(matches!(
                me.judge(Some(&moved), &at, recorded),
                Ownership::Theirs(_)
            ));
        }
        // Tagged the old way (name only): the recorded id proves it; a pending
        // record cannot.
        assert_eq!(me.judge(Some(&old), &at, true), Ownership::Ours);
        assert!(matches!(
            me.judge(Some(&old), &at, false),
            Ownership::Unproven(_)
        ));
        // No engine tags at all: only a recorded id proves it.
        assert_eq!(me.judge(None, &at, true), Ownership::Ours);
        assert!(matches!(me.judge(None, &at, false), Ownership::Unproven(_)));
        // Tags read on a parent (a route's table) name the parent's address.
        let via = Owner {
            via: Some("route table rtb-1".into()),
            ..owner("japancart", Some("a-1"), "vpc/public-rt")
        };
        assert_eq!(me.judge(Some(&via), &at, false), Ownership::Ours);
        let theirs_via = Owner {
            stack_id: Some("b-2".into()),
            ..via
        };
        let Ownership::Theirs(m) = me.judge(Some(&theirs_via), &at, true) else {
            panic!("a route in another stack's table is theirs");
        };
        assert!(m.contains("on its route table rtb-1"), "{m}");
    }
}
