//! Ownership, proven before anything is touched.
//!
//! A stack deletes, changes or adopts a live resource only when it can prove the
//! resource is its own: its ownership tags name this stack's id, or the engine
//! recorded its id when it created it and nothing on it names another stack
//! ([`StackIdentity::judge`]). A name match alone never suffices: IAM names are
//! global, and two stacks with the same name may share an account.
//!
//! [`preflight`] checks every step that would touch an existing resource before the
//! first AWS change, reading recorded resources in one batch per kind; when
//! anything fails the proof, the apply stops with every such resource named and
//! changes nothing.

use std::collections::BTreeMap;

use engine_core::plan::{Step, StepOp};
use engine_core::state::{ResourceState, ResourceStatus};
use engine_core::{Address, Kind, Plan, Spec, State};
use engine_provider::{
    Attributes, Existing, Ownership, Provider, ReadRequest, ReadResult, StackIdentity,
};
use serde_json::Value;

/// How a user recognises a resource in AWS: its name, else its id or ARN.
pub(crate) fn display_name(spec: &Spec, attributes: &Attributes) -> String {
    let props = spec.properties();
    let named = spec
        .kind()
        .schema()
        .name_property
        .and_then(|p| props.get(p))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    named
        .or_else(|| crate::display_id(attributes))
        .unwrap_or_else(|| format!("the live {}", spec.kind()))
}

/// The message for a create whose name another stack holds, or whose live
/// counterpart cannot be proven to be ours.
pub(crate) fn collision(name: &str, verdict: &Ownership) -> Option<String> {
    match verdict {
        Ownership::Ours => None,
        Ownership::Theirs(why) => Some(format!(
            "{name} {why}; nothing was changed. Choose another environment (`-e`) or \
             name for this stack's copy, or manage it from the stack that owns it"
        )),
        Ownership::Unproven(why) => Some(format!(
            "{name} already exists and {why}; nothing was changed. Choose another \
             environment (`-e`) or name for this stack's copy"
        )),
    }
}

/// The message for a recorded resource that cannot be proven to be ours.
fn not_ours(name: &str, op: StepOp, verdict: &Ownership) -> Option<String> {
    let verb = match op {
        StepOp::Update => "change",
        StepOp::Create => "adopt",
        StepOp::Delete | StepOp::DeleteDeposed => "delete",
    };
    let why = match verdict {
        Ownership::Ours => return None,
        Ownership::Theirs(why) | Ownership::Unproven(why) => why,
    };
    Some(format!(
        "refusing to {verb} {name}: it {why}. Nothing was changed; if this state's record \
         of it is stale, remove the record from this stack's state"
    ))
}

/// The recorded resource a step touches, if any.
fn record<'a>(plan: &Plan, step: &Step, state: &'a State) -> Option<&'a ResourceState> {
    let address = &plan.changes[step.change].address;
    match step.op {
        StepOp::Update | StepOp::Delete => state.resources.get(address),
        StepOp::DeleteDeposed => state.deposed.get(address),
        // A create touches something that exists only when it adopts what an
        // interrupted create left.
        StepOp::Create => state
            .resources
            .get(address)
            .filter(|r| r.status == ResourceStatus::Pending),
    }
}

/// Proves that every existing resource the plan would delete, change or adopt is
/// this stack's own. Returns the steps that fail the proof, with a message that
/// names what was found; an empty list means the plan may run.
pub(crate) async fn preflight(
    plan: &Plan,
    steps: &[Step],
    state: &State,
    provider: &dyn Provider,
    me: &StackIdentity,
) -> Vec<(usize, String)> {
    let mut refusals = Vec::new();
    let mut batches: BTreeMap<Kind, Vec<(usize, Address, ReadRequest)>> = BTreeMap::new();
    for (i, step) in steps.iter().enumerate() {
        let Some(rec) = record(plan, step, state) else {
            continue;
        };
        // A record that does not parse is reported by the step itself.
        let Ok(spec) = Spec::from_properties(rec.kind, rec.inputs.clone()) else {
            continue;
        };
        let address = &plan.changes[step.change].address;
        if !rec.attributes.is_empty() && step.op != StepOp::Create {
            // After `engine state mv`, its tags name the address it had.
            let tagged = rec.tagged_as.clone().unwrap_or_else(|| address.clone());
            batches.entry(rec.kind).or_default().push((
                i,
                tagged,
                ReadRequest {
                    address: address.clone(),
                    prior: spec,
                    attributes: rec.attributes.clone(),
                },
            ));
            continue;
        }
        // A pending record: only the live resource's tags can prove it ours.
        match provider.find_existing(address, &spec, me).await {
            Ok(None) => {}
            Ok(Some(Existing { attributes, owner })) => {
                let verdict = me.judge(owner.as_ref(), address, false);
                let name = display_name(&spec, &attributes);
                let message = match (step.op, &verdict) {
                    // Deleting a pending record whose name another stack holds: the
                    // create never made anything of ours; the record is dropped.
                    (StepOp::Delete | StepOp::DeleteDeposed, Ownership::Theirs(_)) => None,
                    (StepOp::Create, _) => collision(&name, &verdict),
                    _ => not_ours(&name, step.op, &verdict),
                };
                refusals.extend(message.map(|m| (i, m)));
            }
            Err(e) => refusals.push((i, format!("cannot check who owns it: {e}"))),
        }
    }
    for (kind, items) in batches {
        let requests: Vec<ReadRequest> = items.iter().map(|(_, _, r)| r.clone()).collect();
        match provider.read_batch(kind, &requests).await {
            Ok(results) => {
                for ((i, tagged, request), result) in items.into_iter().zip(results) {
                    // Gone already: a delete has nothing to do, an update fails on its own.
                    let ReadResult::Found {
                        attributes, owner, ..
                    } = result
                    else {
                        continue;
                    };
                    let verdict = me.judge(owner.as_ref(), &tagged, true);
                    let name = display_name(&request.prior, &attributes);
                    refusals.extend(not_ours(&name, steps[i].op, &verdict).map(|m| (i, m)));
                }
            }
            Err(e) => {
                refusals.extend(
                    items
                        .into_iter()
                        .map(|(i, _, _)| (i, format!("cannot check who owns it: {e}"))),
                );
            }
        }
    }
    refusals.sort_by_key(|(i, _)| *i);
    refusals
}
