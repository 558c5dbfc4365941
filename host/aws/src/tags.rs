//! Ownership tags and tag diffs.
//!
//! Everything that takes tags gets three ownership tags besides its spec's own:
//! - `engine:stack=<name>`, the stack's name, for people looking at the console;
//! - `engine:stack-id=<id>`, the stack's identity (its state's lineage), unique per
//!   state, so two stacks that share a name (another directory, region or
//!   environment) in one account never claim each other's resources;
//! - `engine:address=<plugin/name>`, the resource's address in that stack.
//!
//! A resource left by an interrupted apply is found and adopted by them, and nothing
//! is deleted, changed or adopted unless they (or a recorded id) prove it is the
//! stack's own ([`StackIdentity::judge`](crate::StackIdentity::judge)). Reads remove
//! them again (and AWS's own `aws:` tags), so live specs compare with desired ones.
//! Resources tagged before stack ids existed carry only `engine:stack` and
//! `engine:address`; updates add the id ([`update_diff`]).

use std::collections::BTreeMap;

use engine_core::model::Tag;
use engine_core::{Address, Spec};

pub use engine_provider::{ADDRESS_TAG, STACK_ID_TAG, STACK_TAG};
use engine_provider::{Owner, StackIdentity};

fn reserved(key: &str) -> bool {
    key.starts_with("engine:") || key.starts_with("aws:")
}

/// The ownership tags for a resource.
pub fn ownership(stack: &StackIdentity, address: &Address) -> Vec<Tag> {
    vec![
        Tag {
            key: STACK_TAG.into(),
            value: stack.name.clone(),
        },
        Tag {
            key: STACK_ID_TAG.into(),
            value: stack.id.clone(),
        },
        Tag {
            key: ADDRESS_TAG.into(),
            value: address.to_string(),
        },
    ]
}

/// The tags to apply: the spec's own (minus reserved keys) and the ownership tags.
pub fn desired(stack: &StackIdentity, address: &Address, user: &[Tag]) -> Vec<Tag> {
    let mut out: Vec<Tag> = user.iter().filter(|t| !reserved(&t.key)).cloned().collect();
    out.extend(ownership(stack, address));
    out
}

/// What an update changes in a resource's tags: [`diff`] of the user tags, and the
/// ownership tags set again every time, so a resource tagged before stack ids
/// existed gets its `engine:stack-id` on its next update (setting a tag to the value
/// it has is a no-op on AWS).
pub(crate) fn update_diff(
    stack: &StackIdentity,
    address: &Address,
    old: &[Tag],
    new: &[Tag],
) -> (Vec<Tag>, Vec<String>) {
    let (mut set, remove) = diff(old, new);
    set.extend(ownership(stack, address));
    (set, remove)
}

/// The user tags of a live resource, ordered like `prior`.
pub(crate) fn live_user(
    live: impl IntoIterator<Item = (String, String)>,
    prior: &[Tag],
) -> Vec<Tag> {
    let map: BTreeMap<String, String> = live.into_iter().filter(|(k, _)| !reserved(k)).collect();
    let mut out = Vec::with_capacity(map.len());
    for p in prior {
        if let Some(v) = map.get(&p.key)
            && !out.iter().any(|t: &Tag| t.key == p.key)
        {
            out.push(Tag {
                key: p.key.clone(),
                value: v.clone(),
            });
        }
    }
    for (k, v) in &map {
        if !out.iter().any(|t| &t.key == k) {
            out.push(Tag {
                key: k.clone(),
                value: v.clone(),
            });
        }
    }
    out
}

/// The ownership recorded in a live resource's tags: `None` when it carries no
/// `engine:` ownership tag at all.
pub(crate) fn owner<'a>(live: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<Owner> {
    let mut o = Owner::default();
    for (k, v) in live {
        match k {
            STACK_TAG => o.stack = Some(v.to_string()),
            STACK_ID_TAG => o.stack_id = Some(v.to_string()),
            ADDRESS_TAG => o.address = Some(v.to_string()),
            _ => {}
        }
    }
    (o.stack.is_some() || o.stack_id.is_some() || o.address.is_some()).then_some(o)
}

/// The owner of a resource that takes no tags, read from the resource it belongs
/// to (`via`, for example `route table rtb-1`).
pub(crate) fn owner_via<'a>(
    live: impl IntoIterator<Item = (&'a str, &'a str)>,
    via: String,
) -> Option<Owner> {
    owner(live).map(|o| Owner {
        via: Some(via),
        ..o
    })
}

/// A live resource's tags as a spec would hold them, plus its owner.
pub(crate) fn split(live: Vec<(String, String)>, prior: &[Tag]) -> (Vec<Tag>, Option<Owner>) {
    let owner = owner(live.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    (live_user(live, prior), owner)
}

/// What changes between two tag sets: tags to set (new or changed) and keys to
/// remove. Ownership tags never change, so they never appear.
pub(crate) fn diff(old: &[Tag], new: &[Tag]) -> (Vec<Tag>, Vec<String>) {
    let old: BTreeMap<&str, &str> = old
        .iter()
        .filter(|t| !reserved(&t.key))
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    let new_map: BTreeMap<&str, &str> = new
        .iter()
        .filter(|t| !reserved(&t.key))
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    let set = new_map
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| Tag {
            key: k.to_string(),
            value: v.to_string(),
        })
        .collect();
    let remove = old
        .keys()
        .filter(|k| !new_map.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    (set, remove)
}

/// Removes reserved (ownership and `aws:`) tags from a live spec.
pub(crate) fn strip_ownership(spec: &mut Spec) {
    if let Some(tags) = spec.tags_mut() {
        tags.retain(|t| !reserved(&t.key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn desired_adds_ownership_and_drops_reserved_keys() {
        let me = StackIdentity::new("dev", "id-1");
        let d = desired(
            &me,
            &Address::new("net", "vpc"),
            &[t("team", "a"), t("engine:stack", "evil")],
        );
        assert_eq!(
            d,
            vec![
                t("team", "a"),
                t(STACK_TAG, "dev"),
                t(STACK_ID_TAG, "id-1"),
                t(ADDRESS_TAG, "net/vpc")
            ]
        );
    }

    #[test]
    fn updates_set_the_ownership_tags_again() {
        let me = StackIdentity::new("dev", "id-1");
        let (set, remove) = update_diff(&me, &Address::new("net", "vpc"), &[], &[]);
        assert!(remove.is_empty());
        assert_eq!(set, ownership(&me, &Address::new("net", "vpc")));
    }

    #[test]
    fn diff_sets_changed_and_removes_missing() {
        let (set, remove) = diff(
            &[t("a", "1"), t("b", "2")],
            &[t("a", "1"), t("b", "3"), t("c", "4")],
        );
        assert_eq!(set, vec![t("b", "3"), t("c", "4")]);
        assert!(remove.is_empty());
        let (set, remove) = diff(&[t("a", "1")], &[]);
        assert!(set.is_empty());
        assert_eq!(remove, vec!["a"]);
    }

    #[test]
    fn live_tags_follow_prior_order_without_reserved() {
        let live = vec![
            ("z".to_string(), "1".to_string()),
            (STACK_TAG.into(), "dev".into()),
            (ADDRESS_TAG.into(), "a/b".into()),
            ("m".into(), "2".into()),
        ];
        let (user, owner) = split(live, &[t("m", "0"), t("z", "0")]);
        assert_eq!(user, vec![t("m", "2"), t("z", "1")]);
        let owner = owner.expect("owned");
        assert_eq!(owner.stack.as_deref(), Some("dev"));
        assert_eq!(owner.stack_id, None, "tagged before stack ids");
        assert_eq!(owner.address.as_deref(), Some("a/b"));
        assert_eq!(split(vec![("x".into(), "1".into())], &[]).1, None);
    }
}
