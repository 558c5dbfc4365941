//! `--target` and `--replace`: a [`Request`] and the narrowing of a plan to its
//! targets and what they depend on.

use std::collections::BTreeSet;

use crate::address::Address;
use crate::diag::{Diagnostic, closest};
use crate::graph::Graph;
use crate::model::OutputValue;
use crate::plan::{Action, Plan};
use crate::state::State;

/// The reason of a change left out by `--target`.
pub const LEFT_OUT: &str = "left out by `--target`";

/// What a plan is asked to narrow to or force.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// Plan only these and what they depend on (empty: the whole stack).
    pub targets: BTreeSet<Address>,
    /// Replace these even when nothing changed.
    pub replace: BTreeSet<Address>,
}

impl Request {
    /// Refuses an address that no plugin declares and the state does not hold,
    /// with the closest one that does; a `--replace` of a resource that does not
    /// exist yet is refused too (there is nothing to replace).
    pub fn check(&self, desired: &Graph, prior: &State) -> Vec<Diagnostic> {
        let known: BTreeSet<String> = desired
            .resources
            .keys()
            .chain(prior.resources.keys())
            .map(Address::to_string)
            .collect();
        let unknown = |flag: &str, a: &Address| {
            let name = a.to_string();
            let d = Diagnostic::error(format!(
                "`{flag} {name}`: no plugin declares `{name}` and the state does not hold it"
            ))
            .address(&name);
            match closest(&name, known.iter().map(String::as_str)) {
                Some(near) => d.hint(format!("did you mean `{near}`?")),
                None => {
                    d.hint("`engine state ls` and `engine graph PLUGINS...` list the addresses")
                }
            }
        };
        let mut out: Vec<Diagnostic> = self
            .targets
            .iter()
            .filter(|a| !known.contains(&a.to_string()))
            .map(|a| unknown("--target", a))
            .collect();
        for a in &self.replace {
            if !known.contains(&a.to_string()) {
                out.push(unknown("--replace", a));
            } else if !desired.resources.contains_key(a) {
                out.push(
                    Diagnostic::error(format!(
                        "`--replace {a}`: no plugin declares it any more, so the plan deletes it"
                    ))
                    .address(a),
                );
            } else if !prior.resources.contains_key(a) {
                out.push(
                    Diagnostic::error(format!(
                        "`--replace {a}`: it does not exist yet, so the plan creates it"
                    ))
                    .address(a),
                );
            }
        }
        out
    }
}

/// Narrows `plan` to `targets` and everything they depend on (desired and recorded
/// dependencies, transitively).
pub(super) fn narrow(plan: &mut Plan, targets: &BTreeSet<Address>, desired: &Graph) {
    let mut keep: BTreeSet<Address> = BTreeSet::new();
    let mut todo: Vec<Address> = targets.iter().cloned().collect();
    while let Some(a) = todo.pop() {
        if !keep.insert(a.clone()) {
            continue;
        }
        for c in plan.changes.iter().filter(|c| c.address == a) {
            let recorded = c.prior.iter().flat_map(|p| &p.dependencies);
            todo.extend(c.dependencies.iter().chain(recorded).cloned());
        }
    }
    plan.changes.retain_mut(|c| {
        if keep.contains(&c.address) {
            return true;
        }
        // Left out: an existing resource stays as the state has it; a create or a
        // delete does not happen.
        match (&c.prior, c.action) {
            (Some(_), Action::Update | Action::Replace | Action::NoOp) if !c.deposed => {
                c.action = Action::NoOp;
                c.replace_order = None;
                c.replace_fields.clear();
                c.fields.clear();
                c.reason = Some(LEFT_OUT.into());
                true
            }
            _ => false,
        }
    });
    // An output is planned only when it refers to a resource kept; any other
    // stays as the state has it (or is not created).
    for o in &mut plan.outputs {
        let kept = matches!(
            desired.outputs.get(&o.name).map(|d| &d.value),
            Some(OutputValue::Ref(r)) if keep.contains(&r.resource)
        );
        if !kept {
            o.action = Action::NoOp;
            o.after = o.before.clone();
            o.unknown = false;
        }
    }
    plan.outputs.retain(|o| o.after.is_some());
    plan.targets = targets.iter().cloned().collect();
}
