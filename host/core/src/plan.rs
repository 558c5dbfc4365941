//! The planner: desired graph + prior state -> a [`Plan`], as data.
//!
//! Planning is pure: no AWS call, no wasm, no I/O. [`plan`] compares every declared
//! resource with what the state says was applied and decides an [`Action`] for it;
//! [`Plan::steps`] turns the plan into the operations an executor runs, as a DAG.
//! Applying a plan never plans again: the plan holds everything apply needs (the
//! desired properties, the references still to resolve, the dependencies).
//!
//! # How a resource's action is decided
//!
//! Resources are visited in dependency order, so a resource's references are
//! resolved after the resources they point at have been decided:
//!
//! - A reference to an attribute that shares its name with a property of the target
//!   (a stream's `name`, a VPC's `cidr-block`, a DB's `port`) *echoes* that property,
//!   so it is known whenever the target's property is known, even for a target that
//!   is being created. The kind schemas guarantee this (see [`crate::schema`]).
//! - Any other attribute (`id`, `arn`, `endpoint`) is read from the state when the
//!   target is kept or updated in place, and is **unknown** ("known after apply")
//!   when the target is created or replaced.
//! - A property compares its desired value (references resolved) with the applied
//!   one (`inputs` in the state). One whose value is unknown counts as changed.
//! - No prior state: [`Action::Create`]. Changed properties, one of them in the
//!   kind's [`replace_on`](crate::schema::KindSchema::replace_on):
//!   [`Action::Replace`], with the reason. Changed properties otherwise:
//!   [`Action::Update`]. Nothing changed: [`Action::NoOp`].
//! - *Dependents follow*: a resource referencing the `id` of a replaced resource
//!   sees an unknown value; it is replaced when that property forces replacement,
//!   and updated otherwise.
//! - Resources in the state that no plugin declares, including all of a plugin that
//!   is no longer passed: [`Action::Delete`].
//! - Only properties matter: a plugin whose sha256 changed but whose declarations
//!   did not plans no change. Neither does a change to `depends-on` alone.
//! - A resource whose create was interrupted ([`ResourceStatus::Pending`]) is
//!   planned as a create (apply adopts it if it finds it by its tags); a tainted
//!   one ([`ResourceStatus::Tainted`]) is replaced.
//!
//! # Targeting
//!
//! A [`Request`] narrows or forces a plan, as Terraform's `-target` and
//! `-replace` do. A resource in `replace` that exists is replaced even when nothing
//! changed (its dependents follow as above). With `targets`, the plan keeps only
//! those resources and everything they depend on, transitively; every other
//! change is left out (a change to an existing resource becomes a no-op, a create
//! or a delete is dropped), and only outputs that refer to a resource kept are
//! planned. [`Plan::targets`] records the request, so the plan says it is partial.
//!
//! # Replacement order
//!
//! [`ReplaceOrder::CreateBeforeDelete`] when the kind's schema allows it
//! ([`create_before_destroy`](crate::schema::KindSchema::create_before_destroy)), so
//! dependents switch to the new copy before the old one goes;
//! [`ReplaceOrder::DeleteBeforeCreate`] otherwise (AWS names must be unique). A
//! resource that depends on a resource replaced delete-before-create is itself
//! replaced delete-before-create, which keeps the operations free of cycles.
//!
//! # JSON
//!
//! Every type here serialises with `snake_case` field names and kebab-case enum
//! values (`"no-op"`, `"create-before-delete"`). Property values are the JSON of
//! [`Spec::properties`](crate::Spec::properties): kebab-case keys as in the WIT.
//! A value known only after apply is kept as its reference, `{"$ref":
//! "plugin/name.attribute"}`, and its dotted path is listed in `unknown`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::address::Address;
use crate::graph::Graph;
use crate::model::{Kind, OutputValue, REF_KEY, Reference, Spec};
use crate::state::{ResourceState, ResourceStatus, State};
use crate::value::{replace_refs, walk_refs};

mod saved;
mod steps;
mod target;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

pub use saved::{SavedPlan, SavedPlanError};
pub use steps::{Step, StepOp};
pub use target::{LEFT_OUT, Request};

/// What a plan does with one resource (or output).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Nothing changes.
    NoOp,
    /// Created.
    Create,
    /// Updated in place.
    Update,
    /// Deleted and created again (in [`ResourceChange::replace_order`]).
    Replace,
    /// Deleted.
    Delete,
}

impl Action {
    /// The WIT name: `no-op`, `create`, `update`, `replace`, `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::NoOp => "no-op",
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

/// In which order a replacement happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplaceOrder {
    /// The new copy is created first; dependents move to it; then the old copy is
    /// deleted.
    CreateBeforeDelete,
    /// The old copy is deleted first (its AWS name must be unique); then the new
    /// copy is created.
    DeleteBeforeCreate,
}

/// One property that changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The property (top-level, kebab-case), for example `retention-period-hours`.
    pub path: String,
    /// The applied value; `None` on create, and for a property that was null (an
    /// option left out) or absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The desired value, references resolved where known (unknown ones stay
    /// `{"$ref": ...}`); `None` on delete, and for a property that is null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// Whether `after` holds values known only after apply.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unknown: bool,
    /// Whether this change forces the resource to be replaced.
    #[serde(default, skip_serializing_if = "is_false")]
    pub forces_replacement: bool,
}

/// A [`FieldChange`] borrowed from a plan (see [`ResourceChange::field_views`]):
/// it serialises the same.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FieldView<'a> {
    /// [`FieldChange::path`].
    pub path: &'a str,
    /// [`FieldChange::before`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<&'a Value>,
    /// [`FieldChange::after`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<&'a Value>,
    /// [`FieldChange::unknown`].
    #[serde(skip_serializing_if = "is_false")]
    pub unknown: bool,
    /// [`FieldChange::forces_replacement`].
    #[serde(skip_serializing_if = "is_false")]
    pub forces_replacement: bool,
}

impl From<FieldView<'_>> for FieldChange {
    fn from(f: FieldView<'_>) -> Self {
        FieldChange {
            path: f.path.to_string(),
            before: f.before.cloned(),
            after: f.after.cloned(),
            unknown: f.unknown,
            forces_replacement: f.forces_replacement,
        }
    }
}

impl<'a> From<&'a FieldChange> for FieldView<'a> {
    fn from(f: &'a FieldChange) -> Self {
        FieldView {
            path: &f.path,
            before: f.before.as_ref(),
            after: f.after.as_ref(),
            unknown: f.unknown,
            forces_replacement: f.forces_replacement,
        }
    }
}

/// What the plan does with one resource.
///
/// It serialises with a create's `fields` listed, as [`ResourceChange::fields`]
/// gives them, whether or not they are held.
#[derive(Clone, Debug, Deserialize)]
pub struct ResourceChange {
    /// `plugin/name`.
    pub address: Address,
    /// The kind (the desired one; the prior one for a delete).
    pub kind: Kind,
    /// What happens.
    pub action: Action,
    /// Whether this is the old copy of a create-before-delete replacement that an
    /// interrupted apply left in the state (always a delete).
    #[serde(default, skip_serializing_if = "is_false")]
    pub deposed: bool,
    /// For a replace, in which order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_order: Option<ReplaceOrder>,
    /// For a replace, the properties that forced it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_fields: Vec<String>,
    /// Why, for people (display only): what forced a replacement, why a resource is
    /// deleted, why a create adopts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The properties that change: all those set (not null) for a delete, the
    /// changed ones for an update or replace, none for a no-op. Sorted by path.
    /// For a create the planner leaves it empty: every property set in `after` is
    /// new, and [`ResourceChange::fields`] lists them (a plan of 100,000 creates
    /// would otherwise hold every property twice).
    #[serde(default)]
    pub fields: Vec<FieldChange>,
    /// The desired properties, references resolved where known (unknown ones stay
    /// `{"$ref": ...}`). `None` for a delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// Dotted paths in `after` whose values are known only after apply (for
    /// example `vpc-id`, `subnet-ids.1`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    /// What it depends on: the desired dependencies, or the recorded ones for a
    /// delete. Sorted.
    #[serde(default)]
    pub dependencies: Vec<Address>,
    /// The sha256 of the declaring plugin, to record in the state; `None` for a
    /// delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_sha256: Option<String>,
    /// What the state holds for it, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior: Option<ResourceState>,
}

/// How a [`ResourceChange`] serialises: its fields in the same order, with
/// `fields` as [`ResourceChange::fields`] gives them.
#[derive(Serialize)]
struct ResourceChangeJson<'a> {
    address: &'a Address,
    kind: Kind,
    action: Action,
    #[serde(skip_serializing_if = "is_false")]
    deposed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    replace_order: Option<ReplaceOrder>,
    #[serde(skip_serializing_if = "is_empty")]
    replace_fields: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a String>,
    #[serde(skip_serializing_if = "is_empty")]
    fields: &'a [FieldView<'a>],
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<&'a Value>,
    #[serde(skip_serializing_if = "is_empty")]
    unknown: &'a [String],
    dependencies: &'a [Address],
    #[serde(skip_serializing_if = "Option::is_none")]
    plugin_sha256: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prior: Option<&'a ResourceState>,
}

fn is_empty<T>(v: &&[T]) -> bool {
    v.is_empty()
}

/// Equal when they say the same: a create's `fields` compare as
/// [`ResourceChange::fields`] gives them (held or derived).
impl PartialEq for ResourceChange {
    fn eq(&self, o: &Self) -> bool {
        self.address == o.address
            && self.kind == o.kind
            && self.action == o.action
            && self.deposed == o.deposed
            && self.replace_order == o.replace_order
            && self.replace_fields == o.replace_fields
            && self.reason == o.reason
            && self.field_views() == o.field_views()
            && self.after == o.after
            && self.unknown == o.unknown
            && self.dependencies == o.dependencies
            && self.plugin_sha256 == o.plugin_sha256
            && self.prior == o.prior
    }
}

impl Serialize for ResourceChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = self.field_views();
        ResourceChangeJson {
            address: &self.address,
            kind: self.kind,
            action: self.action,
            deposed: self.deposed,
            replace_order: self.replace_order,
            replace_fields: &self.replace_fields,
            reason: self.reason.as_ref(),
            fields: &fields,
            after: self.after.as_ref(),
            unknown: &self.unknown,
            dependencies: &self.dependencies,
            plugin_sha256: self.plugin_sha256.as_ref(),
            prior: self.prior.as_ref(),
        }
        .serialize(s)
    }
}

impl ResourceChange {
    /// The properties that change (see [`ResourceChange::fields`] the field): for
    /// a create, every property set in `after`, each new.
    pub fn fields(&self) -> std::borrow::Cow<'_, [FieldChange]> {
        if self.derives_fields() {
            let owned = self.field_views().into_iter().map(FieldChange::from);
            std::borrow::Cow::Owned(owned.collect())
        } else {
            std::borrow::Cow::Borrowed(&self.fields)
        }
    }

    /// Whether its fields are derived from `after` (a create's, not held).
    fn derives_fields(&self) -> bool {
        self.action == Action::Create && self.fields.is_empty() && self.after.is_some()
    }

    /// [`ResourceChange::fields`], borrowed from the plan (nothing is copied for a
    /// create's).
    pub fn field_views(&self) -> Vec<FieldView<'_>> {
        match &self.after {
            Some(Value::Object(after)) if self.derives_fields() => after
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| FieldView {
                    path: k,
                    before: None,
                    after: Some(v),
                    unknown: contains_unknown(v),
                    forces_replacement: false,
                })
                .collect::<Vec<_>>(),
            _ => self.fields.iter().map(FieldView::from).collect(),
        }
    }

    /// The desired spec, with known references resolved to literals and unknown ones
    /// left as references. `None` for a delete.
    pub fn desired_spec(&self) -> Option<Spec> {
        let after = self.after.clone()?;
        Spec::from_properties(self.kind, after).ok()
    }

    /// The spec a policy checks: the desired one, or for a delete the applied one
    /// (unknown values left as references; see [`ResourceChange::unknown`]).
    pub fn spec(&self) -> Option<Spec> {
        match (&self.after, &self.prior) {
            (Some(after), _) => Spec::from_properties(self.kind, after.clone()).ok(),
            (None, Some(prior)) => Spec::from_properties(prior.kind, prior.inputs.clone()).ok(),
            (None, None) => None,
        }
    }

    /// Whether apply has work to do for it.
    pub fn is_change(&self) -> bool {
        self.action != Action::NoOp
    }
}

/// What the plan does with one stack output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputChange {
    /// Output name.
    pub name: String,
    /// [`Action::NoOp`], [`Action::Create`], [`Action::Update`] or
    /// [`Action::Delete`].
    pub action: Action,
    /// The value in the state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The desired value; `{"$ref": ...}` when known only after apply; `None` when
    /// the output is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// Whether `after` is known only after apply.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unknown: bool,
}

/// How many resources each action touches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Resources created.
    pub create: usize,
    /// Resources updated in place.
    pub update: usize,
    /// Resources replaced.
    pub replace: usize,
    /// Resources deleted (including deposed copies).
    pub delete: usize,
}

/// A plan: what apply will do, resource by resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The lineage of the state it was made against (empty for no state).
    pub prior_lineage: String,
    /// The serial of the state it was made against (0 for no state).
    pub prior_serial: u64,
    /// The sha256 of every plugin it was made from, by plugin name.
    pub plugins: BTreeMap<String, String>,
    /// One entry per resource declared or in the state, no-ops included, in address
    /// order (a deposed copy after the current one).
    pub changes: Vec<ResourceChange>,
    /// One entry per output declared or in the state, in name order.
    pub outputs: Vec<OutputChange>,
    /// The `--target` addresses it was narrowed to (see [`Request`]); empty for a
    /// plan of the whole stack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Address>,
}

impl Plan {
    /// How many resources each action touches.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::NoOp => {}
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }

    /// Whether applying it changes anything (a resource or an output).
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(ResourceChange::is_change)
            || self.outputs.iter().any(|o| o.action != Action::NoOp)
    }

    /// The change for the current object at `address` (not a deposed copy).
    pub fn change(&self, address: &Address) -> Option<&ResourceChange> {
        self.changes
            .iter()
            .find(|c| &c.address == address && !c.deposed)
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Whether `v` holds a `{"$ref": ...}` anywhere (a value known only after apply).
pub fn contains_unknown(v: &Value) -> bool {
    let mut found = false;
    walk_refs(v, &mut String::new(), &mut |_, _| found = true);
    found
}

/// Plans the changes that take the stack from `prior` to `desired`.
///
/// `plugin_sha256s` maps each plugin name to the sha256 of the plugin file the
/// declarations came from; it is recorded in the plan (and so in saved plans and in
/// the state after apply) and does not affect the actions.
pub fn plan(desired: &Graph, prior: &State, plugin_sha256s: &BTreeMap<String, String>) -> Plan {
    plan_for(desired, prior, plugin_sha256s, &Request::default())
}

/// [`plan`], narrowed or forced by `request` (see the module docs). Its addresses
/// must have passed [`Request::check`].
pub fn plan_for(
    desired: &Graph,
    prior: &State,
    plugin_sha256s: &BTreeMap<String, String>,
    request: &Request,
) -> Plan {
    let mut planner = Planner {
        desired,
        prior,
        plugin_sha256s,
        replace: &request.replace,
        changes: Vec::new(),
        decided: BTreeMap::new(),
        declaring: desired
            .resources
            .keys()
            .map(|a| a.plugin.as_str())
            .collect(),
    };

    // Dependency order; anything `order` leaves out (a graph with a cycle, which
    // `Graph::build` refuses) comes last, in address order.
    let mut order: Vec<&Address> = desired.order();
    let seen: BTreeSet<&Address> = order.iter().copied().collect();
    order.extend(desired.resources.keys().filter(|a| !seen.contains(a)));

    for address in order {
        let change = planner.plan_resource(address);
        planner
            .decided
            .insert(address.clone(), planner.changes.len());
        planner.changes.push(change);
    }
    let outputs = planner.plan_outputs();
    let mut changes = std::mem::take(&mut planner.changes);
    for (address, p) in &prior.resources {
        if !desired.resources.contains_key(address) {
            changes.push(planner.plan_delete(address, p, false));
        }
    }
    for (address, p) in &prior.deposed {
        changes.push(planner.plan_delete(address, p, true));
    }
    changes.sort_by(|a, b| (&a.address, a.deposed).cmp(&(&b.address, b.deposed)));
    let mut plan = Plan {
        prior_lineage: prior.lineage.clone(),
        prior_serial: prior.serial,
        plugins: plugin_sha256s.clone(),
        changes,
        outputs,
        targets: Vec::new(),
    };
    if !request.targets.is_empty() {
        target::narrow(&mut plan, &request.targets, desired);
    }
    plan
}

struct Planner<'a> {
    desired: &'a Graph,
    prior: &'a State,
    plugin_sha256s: &'a BTreeMap<String, String>,
    /// `--replace`: replaced even when nothing changed.
    replace: &'a BTreeSet<Address>,
    /// The desired resources decided so far, in dependency order.
    changes: Vec<ResourceChange>,
    /// Where each is in `changes`, for the ones referencing it.
    decided: BTreeMap<Address, usize>,
    /// The plugins that declare a resource.
    declaring: BTreeSet<&'a str>,
}

impl Planner<'_> {
    /// What has been decided for the desired resource `address`, if it has been.
    fn decided(&self, address: &Address) -> Option<&ResourceChange> {
        self.decided.get(address).map(|&i| &self.changes[i])
    }

    /// The value of `r` if known at plan time (see the module docs).
    fn resolve(&self, r: &Reference) -> Option<Value> {
        let target = self.decided(&r.resource)?;
        if let Some(echo) = target.after.as_ref().and_then(|a| a.get(&r.attribute)) {
            return (!echo.is_null() && !contains_unknown(echo)).then(|| echo.clone());
        }
        match target.action {
            Action::Create | Action::Replace | Action::Delete => None,
            Action::NoOp | Action::Update => self
                .prior
                .resources
                .get(&r.resource)?
                .attributes
                .get(&r.attribute)
                .filter(|v| !v.is_null())
                .cloned(),
        }
    }

    fn plan_resource(&self, address: &Address) -> ResourceChange {
        let resource = &self.desired.resources[address];
        let kind = resource.spec.kind();
        let schema = kind.schema();

        // Resolve references field by field, noting which targets left a field
        // unknown (for the reason of a replacement).
        let mut after = resource.spec.properties();
        let mut unknown_from: BTreeMap<String, BTreeSet<Address>> = BTreeMap::new();
        if let Value::Object(props) = &mut after {
            for (field, v) in props.iter_mut() {
                replace_refs(v, &mut |r| {
                    // References in specs sit where the WIT has a `text`: a string.
                    let value = self.resolve(r).map(|v| match v {
                        Value::String(_) => v,
                        other => Value::String(other.to_string()),
                    });
                    if value.is_none() {
                        unknown_from
                            .entry(field.clone())
                            .or_default()
                            .insert(r.resource.clone());
                    }
                    value
                });
            }
        }
        let mut unknown = Vec::new();
        walk_refs(&after, &mut String::new(), &mut |p, _| {
            unknown.push(p.to_string())
        });

        let dependencies: Vec<Address> = self
            .desired
            .dependencies
            .get(address)
            .map(|d| d.iter().cloned().collect())
            .unwrap_or_default();
        let prior = self.prior.resources.get(address);
        let mut change = ResourceChange {
            address: address.clone(),
            kind,
            action: Action::NoOp,
            deposed: false,
            replace_order: None,
            replace_fields: Vec::new(),
            reason: None,
            fields: Vec::new(),
            after: None,
            unknown,
            dependencies,
            plugin_sha256: self.plugin_sha256s.get(&address.plugin).cloned(),
            prior: prior.cloned(),
        };

        let Some(prior) = prior.filter(|p| p.status != ResourceStatus::Pending) else {
            change.action = Action::Create;
            // Its fields are every property set in `after`: derived when asked for.
            if prior.is_some() {
                change.reason = Some(
                    "an interrupted apply started creating it; apply adopts it if it \
                     exists (found by its tags), and creates it otherwise"
                        .into(),
                );
            }
            change.after = Some(after);
            return change;
        };

        // Compare property by property (the union, should the schema have moved).
        let empty = serde_json::Map::new();
        let before_props = prior.inputs.as_object().unwrap_or(&empty);
        let after_props = after.as_object().unwrap_or(&empty);
        let keys: BTreeSet<&String> = before_props.keys().chain(after_props.keys()).collect();
        for key in keys {
            // An absent property and a null one (an option left out) are the same.
            let before = before_props.get(key).filter(|v| !v.is_null());
            let new = after_props.get(key).filter(|v| !v.is_null());
            let unknown = new.is_some_and(contains_unknown);
            if !unknown && before == new {
                continue;
            }
            let forces = schema.replace_on.contains(&key.as_str());
            change.fields.push(FieldChange {
                path: key.clone(),
                before: before.cloned(),
                after: new.cloned(),
                unknown,
                forces_replacement: forces,
            });
        }
        change.replace_fields = change
            .fields
            .iter()
            .filter(|f| f.forces_replacement)
            .map(|f| f.path.clone())
            .collect();

        if prior.kind != kind {
            change.action = Action::Replace;
            change.reason = Some(format!(
                "its kind changed from `{}` to `{kind}`",
                prior.kind
            ));
            // Every property of the new kind is new.
            change.fields = all_fields(&after, true);
            for f in &mut change.fields {
                f.before = before_props.get(&f.path).filter(|v| !v.is_null()).cloned();
            }
            change.replace_fields.clear();
        } else if prior.status == ResourceStatus::Tainted {
            change.action = Action::Replace;
            change.reason =
                Some("it is tainted: an earlier apply failed to finish creating it".into());
        } else if !change.replace_fields.is_empty() {
            change.action = Action::Replace;
            change.reason = Some(self.replace_reason(&change.replace_fields, &unknown_from));
        } else if self.replace.contains(address) {
            change.action = Action::Replace;
            change.reason = Some("its replacement was requested (`--replace`)".into());
        } else if !change.fields.is_empty() {
            change.action = Action::Update;
        }

        if change.action == Action::Replace {
            let forced_dbc = change.dependencies.iter().any(|d| {
                self.decided(d).is_some_and(|x| {
                    x.action == Action::Replace
                        && x.replace_order == Some(ReplaceOrder::DeleteBeforeCreate)
                })
            });
            change.replace_order = Some(if schema.create_before_destroy && !forced_dbc {
                ReplaceOrder::CreateBeforeDelete
            } else {
                ReplaceOrder::DeleteBeforeCreate
            });
        }
        change.after = Some(after);
        change
    }

    /// "`a` and `b` changed, and AWS cannot change them in place; `c` refers to
    /// `x/y`, which is replaced".
    fn replace_reason(
        &self,
        fields: &[String],
        unknown_from: &BTreeMap<String, BTreeSet<Address>>,
    ) -> String {
        let mut parts = Vec::new();
        let changed: Vec<&String> = fields
            .iter()
            .filter(|f| !unknown_from.contains_key(*f))
            .collect();
        if !changed.is_empty() {
            let names: Vec<String> = changed.iter().map(|f| format!("`{f}`")).collect();
            let (list, pronoun) = match names.as_slice() {
                [one] => (one.clone(), "it"),
                [init @ .., last] => (format!("{} and {last}", init.join(", ")), "them"),
                [] => unreachable!("not empty"),
            };
            parts.push(format!(
                "{list} changed, and AWS cannot change {pronoun} in place"
            ));
        }
        for f in fields {
            let Some(targets) = unknown_from.get(f) else {
                continue;
            };
            let described: Vec<String> = targets
                .iter()
                .map(|t| {
                    let what = match self.decided(t).map(|d| d.action) {
                        Some(Action::Replace) => "replaced",
                        Some(Action::Create) => "created",
                        _ => "not known yet",
                    };
                    format!("`{t}`, which is {what}")
                })
                .collect();
            parts.push(format!(
                "`{f}` cannot change in place and refers to {}",
                described.join(" and to ")
            ));
        }
        parts.join("; ")
    }

    fn plan_delete(&self, address: &Address, p: &ResourceState, deposed: bool) -> ResourceChange {
        let plugin = &address.plugin;
        let plugin_present =
            self.plugin_sha256s.contains_key(plugin) || self.declaring.contains(plugin.as_str());
        let mut reason = if deposed {
            "it is the old copy of a create-before-delete replacement that an interrupted \
             apply left behind"
                .to_string()
        } else if plugin_present {
            format!("plugin `{plugin}` no longer declares it")
        } else {
            format!("plugin `{plugin}` is no longer part of the stack")
        };
        if p.status == ResourceStatus::Pending {
            reason.push_str(
                "; an interrupted apply started creating it, so apply looks for it by its tags",
            );
        }
        ResourceChange {
            address: address.clone(),
            kind: p.kind,
            action: Action::Delete,
            deposed,
            replace_order: None,
            replace_fields: Vec::new(),
            reason: Some(reason),
            fields: all_fields(&p.inputs, false),
            after: None,
            unknown: Vec::new(),
            dependencies: p.dependencies.clone(),
            plugin_sha256: None,
            prior: Some(p.clone()),
        }
    }

    fn plan_outputs(&self) -> Vec<OutputChange> {
        let mut out = Vec::new();
        for (name, o) in &self.desired.outputs {
            let after = match &o.value {
                OutputValue::Str(s) => Value::String(s.clone()),
                OutputValue::Number(n) => Value::from(*n),
                OutputValue::Boolean(b) => Value::Bool(*b),
                OutputValue::Ref(r) => self
                    .resolve(r)
                    .unwrap_or_else(|| serde_json::json!({ REF_KEY: r.to_string() })),
            };
            let unknown = contains_unknown(&after);
            let before = self.prior.outputs.get(name).cloned();
            let action = match &before {
                None => Action::Create,
                Some(b) if unknown || *b != after => Action::Update,
                Some(_) => Action::NoOp,
            };
            out.push(OutputChange {
                name: name.clone(),
                action,
                before,
                after: Some(after),
                unknown,
            });
        }
        for (name, before) in &self.prior.outputs {
            if !self.desired.outputs.contains_key(name) {
                out.push(OutputChange {
                    name: name.clone(),
                    action: Action::Delete,
                    before: Some(before.clone()),
                    after: None,
                    unknown: false,
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

/// Every property of `props` as a change from nothing (`adding`) or to nothing.
fn all_fields(props: &Value, adding: bool) -> Vec<FieldChange> {
    let Value::Object(m) = props else {
        return Vec::new();
    };
    let mut fields: Vec<FieldChange> = m
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| FieldChange {
            path: k.clone(),
            before: (!adding).then(|| v.clone()),
            after: adding.then(|| v.clone()),
            unknown: adding && contains_unknown(v),
            forces_replacement: false,
        })
        .collect();
    fields.sort_by(|a, b| a.path.cmp(&b.path));
    fields
}
