//! Reading live state: one batched read per kind, and what changed outside the
//! engine (drift).

use std::collections::BTreeMap;

use engine_core::state::ResourceStatus;
use engine_core::{Address, Kind, Spec, State};
use engine_provider::{Provider, ProviderError, ReadRequest, ReadResult};

/// What changed outside the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriftKind {
    /// Properties differ from what was applied (their names).
    Changed(Vec<String>),
    /// The resource no longer exists.
    Deleted,
}

/// One drifted resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    /// The resource.
    pub address: Address,
    /// How it drifted.
    pub kind: DriftKind,
}

/// Reads every ready resource of `state` (one batched read per kind) and updates
/// `state` to what exists: changed properties and attributes are taken over, and
/// resources deleted outside the engine are removed. Returns the drift found.
pub async fn refresh(
    state: &mut State,
    provider: &dyn Provider,
) -> Result<Vec<Drift>, ProviderError> {
    let mut by_kind: BTreeMap<Kind, Vec<ReadRequest>> = BTreeMap::new();
    for (address, r) in &state.resources {
        if r.status != ResourceStatus::Ready {
            continue;
        }
        let Ok(prior) = Spec::from_properties(r.kind, r.inputs.clone()) else {
            continue;
        };
        by_kind.entry(r.kind).or_default().push(ReadRequest {
            address: address.clone(),
            prior,
            attributes: r.attributes.clone(),
        });
    }
    let mut drift = Vec::new();
    for (kind, requests) in by_kind {
        let results = provider.read_batch(kind, &requests).await?;
        for (req, result) in requests.into_iter().zip(results) {
            match result {
                ReadResult::Gone => {
                    state.resources.remove(&req.address);
                    drift.push(Drift {
                        address: req.address,
                        kind: DriftKind::Deleted,
                    });
                }
                ReadResult::Found {
                    spec, attributes, ..
                } => {
                    let live = spec.properties();
                    let Some(r) = state.resources.get_mut(&req.address) else {
                        continue;
                    };
                    let changed = changed_fields(&r.inputs, &live);
                    if !changed.is_empty() {
                        drift.push(Drift {
                            address: req.address.clone(),
                            kind: DriftKind::Changed(changed),
                        });
                    }
                    r.inputs = live;
                    r.attributes.extend(attributes);
                }
            }
        }
    }
    Ok(drift)
}

fn changed_fields(before: &serde_json::Value, after: &serde_json::Value) -> Vec<String> {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return if before == after {
            vec![]
        } else {
            vec!["(all)".into()]
        };
    };
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| b.get(*k) != a.get(*k))
        .cloned()
        .collect()
}
