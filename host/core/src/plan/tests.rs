//! Tests of the planner, its steps and saved plans, mostly over the sample stack
//! (`crate::samples`) and the fake apply, which checks that every plan converges: once
//! applied, planning again finds no changes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::*;
use crate::model::{Declaration, Resource};
use crate::samples;
use crate::state::ResourceStatus;

fn addr(s: &str) -> Address {
    Address::parse(s).unwrap()
}

fn build(decls: &[Declaration]) -> Graph {
    Graph::build(decls).unwrap_or_else(|d| panic!("invalid graph: {d:#?}"))
}

fn shas() -> BTreeMap<String, String> {
    samples::plugin_sha256s()
}

fn plan_of(decls: &[Declaration], prior: &State) -> Plan {
    plan(&build(decls), prior, &shas())
}

fn applied(decls: &[Declaration]) -> State {
    let p = plan_of(decls, &State::empty());
    samples::fake_apply(&p, &State::empty())
}

fn single(spec: Spec) -> Vec<Declaration> {
    vec![Declaration {
        plugin: "p".into(),
        source: "p.wasm".into(),
        resources: vec![Resource {
            address: addr("p/x"),
            spec,
            depends_on: vec![],
        }],
        outputs: vec![],
    }]
}

fn resource_mut<'a>(decls: &'a mut [Declaration], address: &str) -> &'a mut Resource {
    decls
        .iter_mut()
        .flat_map(|d| d.resources.iter_mut())
        .find(|r| r.address.to_string() == address)
        .unwrap_or_else(|| panic!("no {address}"))
}

fn set_property(decls: &mut [Declaration], address: &str, field: &str, value: Value) {
    let r = resource_mut(decls, address);
    let mut props = r.spec.properties();
    props[field] = value;
    r.spec = Spec::from_properties(r.spec.kind(), props).unwrap();
}

fn actions(p: &Plan) -> BTreeMap<String, Action> {
    p.changes
        .iter()
        .map(|c| (c.address.to_string(), c.action))
        .collect()
}

fn changed(p: &Plan) -> BTreeMap<String, Action> {
    actions(p)
        .into_iter()
        .filter(|(_, a)| *a != Action::NoOp)
        .collect()
}

/// Values of WIT enums, so a mutated enum stays valid.
const ENUM_VALUES: &[&str] = &[
    "tcp",
    "accept",
    "all",
    "udp",
    "interface",
    "gateway",
    "average",
    "sum",
    "greater-than-threshold",
    "less-than-threshold",
];

/// Changed values to try for `v`, the first valid one wins. `siblings` are the other
/// properties of the same spec (an empty list borrows a sibling's elements).
fn mutations(v: &Value, siblings: &serde_json::Map<String, Value>) -> Vec<Value> {
    match v {
        Value::Null => vec![json!("changed")],
        Value::Bool(b) => vec![json!(!b)],
        Value::Number(n) => match n.as_u64() {
            Some(u) => vec![json!(u + 1)],
            None => vec![json!(n.as_f64().unwrap_or(0.0) + 1.0)],
        },
        Value::String(s) => std::iter::once(json!(format!("{s}-changed")))
            .chain(ENUM_VALUES.iter().filter(|e| **e != s).map(|e| json!(e)))
            .collect(),
        Value::Array(items) if items.is_empty() => std::iter::once(json!(["changed"]))
            .chain(
                siblings
                    .values()
                    .filter(|s| s.as_array().is_some_and(|a| !a.is_empty()))
                    .cloned(),
            )
            .collect(),
        Value::Array(items) => mutations(&items[0], siblings)
            .into_iter()
            .map(|m| {
                let mut b = items.clone();
                b[0] = m;
                Value::Array(b)
            })
            .collect(),
        Value::Object(m) if m.contains_key(crate::model::REF_KEY) => vec![json!("changed-ref")],
        Value::Object(m) => {
            let mut out = Vec::new();
            for (k, inner) in m {
                for x in mutations(inner, siblings) {
                    let mut c = m.clone();
                    c.insert(k.clone(), x);
                    out.push(Value::Object(c));
                }
            }
            out
        }
    }
}

/// Fields that cannot change alone, because the graph refuses the one change
/// (`Graph::build`'s credentials check): a DB whose password is both managed by RDS
/// and read from a secret, a Redis AUTH token without TLS.
const CHANGE_ONLY_WITH_ANOTHER: &[(Kind, &str)] = &[
    (Kind::DbInstance, "manage-master-user-password"),
    (Kind::CacheReplicationGroup, "transit-encryption"),
];

/// `spec` with `field` changed to another value that is valid on its own; `None`
/// for the fields of [`CHANGE_ONLY_WITH_ANOTHER`].
fn try_mutate(spec: &Spec, field: &str) -> Option<Spec> {
    let props = spec.properties();
    let obj = props.as_object().unwrap();
    for candidate in mutations(&obj[field], obj) {
        let mut p = props.clone();
        p[field] = candidate;
        if let Ok(s) = Spec::from_properties(spec.kind(), p)
            && s != *spec
            && crate::graph::credentials_conflict(&s).is_none()
        {
            return Some(s);
        }
    }
    assert!(
        CHANGE_ONLY_WITH_ANOTHER.contains(&(spec.kind(), field)),
        "cannot mutate `{field}` of {}",
        spec.kind()
    );
    None
}

/// `spec` with `field` changed to another valid value.
fn mutate(spec: &Spec, field: &str) -> Spec {
    try_mutate(spec, field).unwrap_or_else(|| panic!("`{field}` changes only with another"))
}

/// Checks the steps of `p`: one per half of every change, dependencies before
/// dependents, deletes in reverse dependency order, replacements in their order.
fn check_steps(p: &Plan) {
    let steps = p.steps();
    // What must finish before each step (transitively).
    let mut before: Vec<BTreeSet<usize>> = Vec::new();
    for (i, s) in steps.iter().enumerate() {
        let mut set = BTreeSet::new();
        for &a in &s.after {
            assert!(a < i, "step {i} waits for a later step {a}");
            set.insert(a);
            set.extend(before[a].iter().copied());
        }
        before.push(set);
    }
    let find = |address: &Address, op: StepOp| {
        steps
            .iter()
            .position(|s| &s.address == address && s.op == op)
    };
    for c in &p.changes {
        let mine: Vec<StepOp> = steps
            .iter()
            .filter(|s| p.changes[s.change].address == c.address && s.change < p.changes.len())
            .filter(|s| p.changes[s.change].deposed == c.deposed)
            .map(|s| s.op)
            .collect();
        let expected = match (c.action, c.replace_order, c.deposed) {
            (Action::NoOp, ..) => vec![],
            (Action::Create, ..) => vec![StepOp::Create],
            (Action::Update, ..) => vec![StepOp::Update],
            (Action::Replace, Some(ReplaceOrder::CreateBeforeDelete), _) => {
                vec![StepOp::Create, StepOp::DeleteDeposed]
            }
            (Action::Replace, ..) => vec![StepOp::Delete, StepOp::Create],
            (Action::Delete, _, true) => vec![StepOp::DeleteDeposed],
            (Action::Delete, _, false) => vec![StepOp::Delete],
        };
        assert_eq!(mine, expected, "{}", c.address);
        // Creates and updates after what they depend on.
        let apply = find(&c.address, StepOp::Create).or(find(&c.address, StepOp::Update));
        if let Some(me) = apply.filter(|_| c.action != Action::Delete) {
            for d in &c.dependencies {
                let dep = find(d, StepOp::Create).or(find(d, StepOp::Update));
                if let Some(dep) = dep {
                    assert!(before[me].contains(&dep), "{} before {}", d, c.address);
                }
            }
        }
        if c.action == Action::Replace {
            let create = find(&c.address, StepOp::Create).unwrap();
            match c.replace_order {
                Some(ReplaceOrder::CreateBeforeDelete) => {
                    let del = find(&c.address, StepOp::DeleteDeposed).unwrap();
                    assert!(before[del].contains(&create), "{}", c.address);
                }
                _ => {
                    let del = find(&c.address, StepOp::Delete).unwrap();
                    assert!(before[create].contains(&del), "{}", c.address);
                }
            }
        }
    }
    // Deletes after the deletes of what depended on them.
    for (i, s) in steps.iter().enumerate() {
        if !matches!(s.op, StepOp::Delete | StepOp::DeleteDeposed) {
            continue;
        }
        for (j, t) in steps.iter().enumerate() {
            let depends = p.changes[t.change]
                .prior
                .as_ref()
                .is_some_and(|pr| pr.dependencies.contains(&s.address));
            if matches!(t.op, StepOp::Delete | StepOp::DeleteDeposed) && depends {
                assert!(
                    before[i].contains(&j),
                    "{} deleted before its dependent {}",
                    s.address,
                    t.address
                );
            }
        }
    }
}

/// Plans, checks the steps, applies with the fake, and plans again: no changes.
fn converges(decls: &[Declaration], prior: &State) -> Plan {
    let p = plan_of(decls, prior);
    check_steps(&p);
    let after = samples::fake_apply(&p, prior);
    let again = plan_of(decls, &after);
    assert!(
        !again.has_changes(),
        "a second plan still has changes: {:#?}",
        changed(&again)
    );
    assert!(after.deposed.is_empty());
    p
}

// ---- schema and samples ------------------------------------------------------

#[test]
fn every_replace_on_name_is_a_property_of_its_kind() {
    for kind in Kind::ALL {
        let props = samples::property_names(*kind);
        let schema = kind.schema();
        for field in schema.replace_on {
            assert!(
                props.iter().any(|p| p == field),
                "{kind}: replace_on names `{field}`, which is not a property ({props:?})"
            );
        }
        if let Some(name) = schema.name_property {
            assert!(props.iter().any(|p| p == name), "{kind}: name `{name}`");
        }
    }
}

#[test]
fn samples_cover_every_kind_and_build() {
    let g = samples::graph();
    let kinds: BTreeSet<Kind> = g.resources.values().map(|r| r.spec.kind()).collect();
    assert_eq!(kinds.len(), Kind::ALL.len());
    for kind in Kind::ALL {
        let spec = samples::spec(*kind);
        assert_eq!(spec.kind(), *kind);
        assert!(spec.references().is_empty(), "{kind} sample has references");
        build(&single(spec));
    }
    assert_eq!(g.outputs.len(), 10);
}

// ---- every action ------------------------------------------------------------

#[test]
fn empty_state_creates_everything_in_dependency_order() {
    let decls = samples::stack();
    let p = converges(&decls, &State::empty());
    assert!(p.changes.iter().all(|c| c.action == Action::Create));
    assert_eq!(
        p.summary(),
        Summary {
            create: p.changes.len(),
            ..Summary::default()
        }
    );
    assert!(p.has_changes());
    assert_eq!(p.prior_serial, 0);
    assert_eq!(p.plugins, shas());
    let steps = p.steps();
    let pos = |a: &str| steps.iter().position(|s| s.address == addr(a)).unwrap();
    assert!(pos("network/vpc") < pos("network/private-a"));
    assert!(pos("network/private-a") < pos("database/db-subnets"));
    assert!(pos("database/db-subnets") < pos("database/db"));
    assert!(pos("database/db") < pos("monitoring/db-cpu"));
    // Every create records its plugin's sha256 and its dependencies.
    let db = p.change(&addr("database/db")).unwrap();
    assert_eq!(
        db.plugin_sha256.as_deref(),
        Some(shas()["database"].as_str())
    );
    assert!(db.dependencies.contains(&addr("secrets/db")));
    assert!(db.fields().iter().all(|f| f.before.is_none()));
}

#[test]
fn applied_stack_plans_no_changes() {
    let decls = samples::stack();
    let state = samples::applied_state();
    let p = plan_of(&decls, &state);
    assert!(!p.has_changes(), "{:#?}", changed(&p));
    assert!(
        p.changes
            .iter()
            .all(|c| c.fields().is_empty() && c.reason.is_none())
    );
    assert_eq!(p.summary(), Summary::default());
    assert!(p.steps().is_empty());
    assert_eq!(p.prior_serial, 1);
    assert_eq!(p.prior_lineage, state.lineage);
    // No-ops carry the desired spec, fully known, for policies.
    let db = p.change(&addr("database/db")).unwrap();
    assert!(db.unknown.is_empty());
    assert_eq!(
        db.after.as_ref(),
        Some(&state.resources[&addr("database/db")].inputs)
    );
}

#[test]
fn a_changed_plugin_with_the_same_declarations_is_a_no_op() {
    let mut shas = shas();
    shas.insert("kinesis".into(), samples::fake_sha256("kinesis v2"));
    let p = plan(&samples::graph(), &samples::applied_state(), &shas);
    assert!(!p.has_changes());
    // The new sha256 is what apply would record, and what a saved plan checks.
    assert_eq!(p.plugins["kinesis"], shas["kinesis"]);
}

#[test]
fn depends_on_alone_changes_nothing() {
    let mut decls = samples::stack();
    resource_mut(&mut decls, "monitoring/alarms").depends_on = vec![addr("database/db")];
    let p = plan_of(&decls, &samples::applied_state());
    assert!(!p.has_changes());
    assert!(
        p.change(&addr("monitoring/alarms"))
            .unwrap()
            .dependencies
            .contains(&addr("database/db"))
    );
}

#[test]
fn an_in_place_change_is_an_update_of_that_field_only() {
    let mut decls = samples::stack();
    set_property(
        &mut decls,
        "kinesis/transactions",
        "retention-period-hours",
        json!(48),
    );
    let p = converges(&decls, &samples::applied_state());
    assert_eq!(
        changed(&p),
        BTreeMap::from([("kinesis/transactions".into(), Action::Update)])
    );
    let c = p.change(&addr("kinesis/transactions")).unwrap();
    assert_eq!(
        c.fields(),
        vec![FieldChange {
            path: "retention-period-hours".into(),
            before: Some(json!(24)),
            after: Some(json!(48)),
            unknown: false,
            forces_replacement: false,
        }]
    );
    assert_eq!(c.replace_order, None);
    assert!(c.reason.is_none());
    assert_eq!(
        p.summary(),
        Summary {
            update: 1,
            ..Summary::default()
        }
    );
}

#[test]
fn every_kind_replaces_on_its_replace_on_fields_and_updates_otherwise() {
    for kind in Kind::ALL {
        let schema = kind.schema();
        let spec = samples::spec(*kind);
        let prior = applied(&single(spec.clone()));
        for field in samples::property_names(*kind) {
            let Some(changed) = try_mutate(&spec, &field) else {
                continue;
            };
            let p = plan_of(&single(changed), &prior);
            let c = &p.changes[0];
            let forces = schema.replace_on.contains(&field.as_str());
            let what = format!("{kind}.{field}");
            assert_eq!(c.fields().len(), 1, "{what}");
            assert_eq!(c.fields()[0].path, field, "{what}");
            assert_eq!(c.fields()[0].forces_replacement, forces, "{what}");
            if forces {
                assert_eq!(c.action, Action::Replace, "{what}");
                assert_eq!(c.replace_fields, vec![field.clone()], "{what}");
                let reason = c.reason.as_deref().unwrap_or_default();
                assert!(
                    reason.contains(&format!("`{field}` changed")),
                    "{what}: {reason}"
                );
                let order = if schema.create_before_destroy {
                    ReplaceOrder::CreateBeforeDelete
                } else {
                    ReplaceOrder::DeleteBeforeCreate
                };
                assert_eq!(c.replace_order, Some(order), "{what}");
                assert_eq!(p.summary().replace, 1);
            } else {
                assert_eq!(c.action, Action::Update, "{what}");
                assert!(
                    c.replace_fields.is_empty() && c.replace_order.is_none(),
                    "{what}"
                );
            }
            check_steps(&p);
            let after = samples::fake_apply(&p, &prior);
            assert!(
                !plan_of(&single(mutate(&spec, &field)), &after).has_changes(),
                "{what}"
            );
        }
    }
}

#[test]
fn several_forcing_fields_are_all_named() {
    let mut decls = samples::stack();
    set_property(
        &mut decls,
        "network/private-a",
        "cidr-block",
        json!("10.0.21.0/24"),
    );
    set_property(
        &mut decls,
        "network/private-a",
        "availability-zone",
        json!("us-east-1c"),
    );
    let p = converges(&decls, &samples::applied_state());
    let c = p.change(&addr("network/private-a")).unwrap();
    assert_eq!(c.replace_fields, ["availability-zone", "cidr-block"]);
    assert_eq!(
        c.reason.as_deref(),
        Some("`availability-zone` and `cidr-block` changed, and AWS cannot change them in place")
    );
}

#[test]
fn removed_resources_are_deleted_after_their_dependents() {
    let mut decls = samples::stack();
    let db = decls.iter_mut().find(|d| d.plugin == "monitoring").unwrap();
    db.resources.retain(|r| r.address.name != "db-cpu");
    let p = converges(&decls, &samples::applied_state());
    assert_eq!(
        changed(&p),
        BTreeMap::from([("monitoring/db-cpu".into(), Action::Delete)])
    );
    let c = p.change(&addr("monitoring/db-cpu")).unwrap();
    assert_eq!(
        c.reason.as_deref(),
        Some("plugin `monitoring` no longer declares it")
    );
    assert!(c.after.is_none() && c.plugin_sha256.is_none());
    assert!(c.desired_spec().is_none());
    // A policy sees the applied spec of what is deleted.
    assert_eq!(c.spec().unwrap().kind(), Kind::MetricAlarm);
    assert!(
        c.fields()
            .iter()
            .all(|f| f.after.is_none() && f.before.is_some())
    );
    assert_eq!(
        c.dependencies,
        [addr("database/db"), addr("monitoring/alarms")]
    );
}

#[test]
fn a_removed_plugin_deletes_all_its_resources_in_reverse_order() {
    let mut decls = samples::stack();
    decls.retain(|d| d.plugin != "database" && d.plugin != "monitoring");
    let mut shas = shas();
    shas.remove("database");
    shas.remove("monitoring");
    let prior = samples::applied_state();
    let p = plan(&build(&decls), &prior, &shas);
    let deleted: BTreeSet<String> = changed(&p).keys().cloned().collect();
    let expected: BTreeSet<String> = prior
        .resources
        .keys()
        .filter(|a| a.plugin == "database" || a.plugin == "monitoring")
        .map(|a| a.to_string())
        .collect();
    assert_eq!(deleted, expected);
    for c in p.changes.iter().filter(|c| c.action == Action::Delete) {
        assert_eq!(
            c.reason,
            Some(format!(
                "plugin `{}` is no longer part of the stack",
                c.address.plugin
            ))
        );
    }
    // Their outputs go too.
    let outputs: BTreeMap<&str, Action> = p
        .outputs
        .iter()
        .map(|o| (o.name.as_str(), o.action))
        .collect();
    assert_eq!(outputs["rds_endpoint"], Action::Delete);
    assert_eq!(outputs["vpc_id"], Action::NoOp);
    check_steps(&p);
    let steps = p.steps();
    let pos = |a: &str| steps.iter().position(|s| s.address == addr(a)).unwrap();
    assert!(pos("monitoring/db-cpu") < pos("database/db"));
    assert!(pos("database/db") < pos("database/db-subnets"));
    assert!(pos("database/db") < pos("database/monitoring-role"));
    assert!(pos("monitoring/stream-iterator-age") < pos("monitoring/alarms"));
    let after = samples::fake_apply(&p, &prior);
    assert!(!plan(&build(&decls), &after, &shas).has_changes());
}

#[test]
fn destroying_everything_runs_in_reverse_dependency_order() {
    let prior = samples::applied_state();
    let p = plan(&Graph::default(), &prior, &BTreeMap::new());
    assert_eq!(p.summary().delete, prior.resources.len());
    check_steps(&p);
    let after = samples::fake_apply(&p, &prior);
    assert!(after.resources.is_empty() && after.outputs.is_empty());
    let steps = p.steps();
    assert!(steps.iter().all(|s| s.op == StepOp::Delete));
    let pos = |a: &str| steps.iter().position(|s| s.address == addr(a)).unwrap();
    assert!(pos("network/private-a") < pos("network/vpc"));
    assert!(pos("network/public-a-assoc") < pos("network/public-a"));
    assert!(pos("database/db") < pos("secrets/db"));
}

// ---- dependents follow, unknown values -----------------------------------------

#[test]
fn dependents_of_a_replaced_resource_follow() {
    let mut decls = samples::stack();
    set_property(
        &mut decls,
        "network/vpc",
        "cidr-block",
        json!("10.1.0.0/16"),
    );
    let p = converges(&decls, &samples::applied_state());
    let a = changed(&p);
    let expect = |address: &str, action: Action| {
        assert_eq!(a.get(address), Some(&action), "{address}: {a:#?}");
    };
    use Action::*;
    expect("network/vpc", Replace);
    // `vpc-id` forces replacement: every resource in the VPC follows.
    for r in [
        "network/igw",
        "network/private-a",
        "network/private-b",
        "network/public-a",
        "network/public",
        "network/endpoints",
        "network/kinesis-endpoint",
        "cache/redis-sg",
        "database/db-sg",
    ] {
        expect(r, Replace);
    }
    // ... and what references those by id, where that forces replacement.
    expect("network/public-default", Replace);
    expect("network/public-a-assoc", Replace);
    // Subnet and security group ids update in place.
    expect("cache/redis-subnets", Update);
    expect("database/db-subnets", Update);
    expect("cache/redis", Update);
    expect("database/db", Update);
    // Untouched.
    assert!(!a.contains_key("kinesis/transactions"));
    assert!(!a.contains_key("secrets/db"));

    let subnet = p.change(&addr("network/private-a")).unwrap();
    assert_eq!(subnet.replace_fields, ["vpc-id"]);
    assert_eq!(
        subnet.reason.as_deref(),
        Some("`vpc-id` cannot change in place and refers to `network/vpc`, which is replaced")
    );
    assert_eq!(subnet.unknown, ["vpc-id"]);
    let f = &subnet.fields()[0];
    assert!(f.unknown && f.forces_replacement);
    assert_eq!(f.after, Some(json!({"$ref": "network/vpc.id"})));
    // The security group's rules echo the VPC's new CIDR block: known at plan time.
    let sg = p.change(&addr("cache/redis-sg")).unwrap();
    let sg_fields = sg.fields();
    let ingress = sg_fields.iter().find(|f| f.path == "ingress").unwrap();
    assert!(!ingress.unknown);
    assert_eq!(
        ingress.after.as_ref().unwrap()[0]["cidr-blocks"],
        json!(["10.1.0.0/16"])
    );

    // Orders: the VPC may be created first; subnets and security groups cannot
    // (unique CIDR and names); a replaced resource under a delete-before-create
    // replacement is itself delete-before-create.
    let order = |a: &str| p.change(&addr(a)).unwrap().replace_order;
    assert_eq!(order("network/vpc"), Some(ReplaceOrder::CreateBeforeDelete));
    assert_eq!(order("network/igw"), Some(ReplaceOrder::CreateBeforeDelete));
    assert_eq!(
        order("network/public"),
        Some(ReplaceOrder::CreateBeforeDelete)
    );
    assert_eq!(
        order("network/private-a"),
        Some(ReplaceOrder::DeleteBeforeCreate)
    );
    assert_eq!(
        order("network/endpoints"),
        Some(ReplaceOrder::DeleteBeforeCreate)
    );
    assert_eq!(
        order("network/kinesis-endpoint"),
        Some(ReplaceOrder::DeleteBeforeCreate)
    );
}

#[test]
fn echoed_attributes_keep_dependents_of_a_replaced_resource() {
    // The secret is replaced (new password policy) but keeps its name and user
    // name: the DB's `master-username` echoes the secret's and stays the same; only
    // the secret ARN (an unknown) changes, which updates in place.
    let mut decls = samples::stack();
    set_property(
        &mut decls,
        "secrets/db",
        "password",
        json!({"length": 40, "exclude-characters": "/@\" "}),
    );
    let p = converges(&decls, &samples::applied_state());
    assert_eq!(
        changed(&p),
        BTreeMap::from([
            ("secrets/db".into(), Action::Replace),
            ("database/db".into(), Action::Update),
        ])
    );
    let db = p.change(&addr("database/db")).unwrap();
    assert_eq!(db.unknown, ["master-password.secret-id"]);
    let db_fields = db.fields();
    let paths: Vec<&str> = db_fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["master-password"]);
    // The output of the secret's ARN is unknown again.
    let o = p
        .outputs
        .iter()
        .find(|o| o.name == "db_secret_arn")
        .unwrap();
    assert_eq!(o.action, Action::Update);
    assert!(o.unknown);
}

#[test]
fn unknown_values_are_kept_as_references_with_their_paths() {
    let p = plan_of(&samples::stack(), &State::empty());
    let ep = p.change(&addr("network/kinesis-endpoint")).unwrap();
    assert_eq!(
        ep.unknown,
        [
            "security-group-ids.0",
            "subnet-ids.0",
            "subnet-ids.1",
            "vpc-id"
        ]
    );
    let after = ep.after.as_ref().unwrap();
    assert_eq!(
        after["subnet-ids"][1],
        json!({"$ref": "network/private-b.id"})
    );
    let ep_fields = ep.fields();
    let vpc_id = ep_fields.iter().find(|f| f.path == "vpc-id").unwrap();
    assert!(vpc_id.unknown);
    let dns = ep_fields
        .iter()
        .find(|f| f.path == "private-dns-enabled")
        .unwrap();
    assert!(!dns.unknown);
    // The desired spec rebuilds, references in place.
    let spec = ep.desired_spec().unwrap();
    assert_eq!(spec.references().len(), 4);
    assert_eq!(ep.spec(), Some(spec));
    // Echoed attributes are known even for resources being created.
    let alarm = p.change(&addr("monitoring/stream-iterator-age")).unwrap();
    assert_eq!(
        alarm.after.as_ref().unwrap()["dimensions"][0]["value"],
        json!("japancart-transactions-dev")
    );
    let db = p.change(&addr("database/db")).unwrap();
    assert_eq!(
        db.after.as_ref().unwrap()["master-username"],
        json!("japancart_admin")
    );
    assert_eq!(
        db.after.as_ref().unwrap()["db-subnet-group-name"],
        json!("japancart-db-dev")
    );
    // Outputs: numbers stay numbers.
    let port = p.outputs.iter().find(|o| o.name == "redis_port").unwrap();
    assert_eq!(port.after, Some(json!(6379)));
    assert!(!port.unknown);
    let arn = p
        .outputs
        .iter()
        .find(|o| o.name == "kinesis_stream_arn")
        .unwrap();
    assert_eq!(arn.after, Some(json!({"$ref": "kinesis/transactions.arn"})));
    assert!(arn.unknown);
}

#[test]
fn a_reference_to_an_attribute_missing_from_the_state_is_unknown() {
    let decls = samples::stack();
    let mut prior = samples::applied_state();
    prior
        .resources
        .get_mut(&addr("network/vpc"))
        .unwrap()
        .attributes
        .remove("id");
    let p = plan_of(&decls, &prior);
    let igw = p.change(&addr("network/igw")).unwrap();
    assert_eq!(igw.action, Action::Replace);
    assert_eq!(igw.unknown, ["vpc-id"]);
}

#[test]
fn an_unknown_value_in_an_in_place_field_updates() {
    // A new security group for Redis, replacing the reference to the old one.
    let mut decls = samples::stack();
    set_property(
        &mut decls,
        "cache/redis-sg",
        "description",
        json!("Redis, from the VPC only"),
    );
    let p = converges(&decls, &samples::applied_state());
    assert_eq!(
        p.change(&addr("cache/redis-sg")).unwrap().action,
        Action::Replace
    );
    let redis = p.change(&addr("cache/redis")).unwrap();
    assert_eq!(redis.action, Action::Update);
    assert_eq!(redis.fields().len(), 1);
    assert!(redis.fields()[0].unknown && !redis.fields()[0].forces_replacement);
}

// ---- state statuses, kinds, deposed ------------------------------------------

#[test]
fn a_pending_create_is_planned_as_a_create_that_adopts() {
    let mut prior = samples::applied_state();
    let kinesis = prior
        .resources
        .get_mut(&addr("kinesis/transactions"))
        .unwrap();
    kinesis.status = ResourceStatus::Pending;
    kinesis.attributes.clear();
    let p = converges(&samples::stack(), &prior);
    let c = p.change(&addr("kinesis/transactions")).unwrap();
    assert_eq!(c.action, Action::Create);
    assert!(c.reason.as_deref().unwrap().contains("adopts it"));
    assert!(c.prior.is_some());
    // The alarm reads the stream's name, an echo, so it does not change; the
    // output of its ARN is unknown again.
    assert_eq!(
        changed(&p),
        BTreeMap::from([("kinesis/transactions".into(), Action::Create)])
    );
}

#[test]
fn a_pending_resource_no_longer_declared_is_deleted() {
    let mut decls = samples::stack();
    decls.retain(|d| d.plugin != "monitoring");
    let mut prior = samples::applied_state();
    prior
        .resources
        .get_mut(&addr("monitoring/alarms"))
        .unwrap()
        .status = ResourceStatus::Pending;
    let p = plan_of(&decls, &prior);
    let c = p.change(&addr("monitoring/alarms")).unwrap();
    assert_eq!(c.action, Action::Delete);
    assert!(
        c.reason
            .as_deref()
            .unwrap()
            .contains("looks for it by its tags")
    );
}

#[test]
fn a_tainted_resource_is_replaced() {
    let mut prior = samples::applied_state();
    prior
        .resources
        .get_mut(&addr("database/db"))
        .unwrap()
        .status = ResourceStatus::Tainted;
    let p = converges(&samples::stack(), &prior);
    let c = p.change(&addr("database/db")).unwrap();
    assert_eq!(c.action, Action::Replace);
    assert!(c.fields().is_empty());
    assert!(c.reason.as_deref().unwrap().contains("tainted"));
    assert_eq!(c.replace_order, Some(ReplaceOrder::DeleteBeforeCreate));
    // The alarm on the DB's id follows (its dimension is an in-place field).
    assert_eq!(
        p.change(&addr("monitoring/db-cpu")).unwrap().action,
        Action::Update
    );
}

#[test]
fn a_changed_kind_at_the_same_address_is_replaced() {
    let mut decls = samples::stack();
    let r = resource_mut(&mut decls, "monitoring/alarms");
    r.spec = samples::spec(Kind::KmsKey);
    // The alarms referencing the topic's ARN must go too for the graph to build.
    decls.iter_mut().for_each(|d| {
        d.resources.retain(|r| r.spec.kind() != Kind::MetricAlarm);
    });
    let p = converges(&decls, &samples::applied_state());
    let c = p.change(&addr("monitoring/alarms")).unwrap();
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.kind, Kind::KmsKey);
    assert_eq!(
        c.reason.as_deref(),
        Some("its kind changed from `sns-topic` to `kms-key`")
    );
    assert!(c.fields().iter().all(|f| f.after.is_some()));
}

#[test]
fn a_deposed_copy_left_by_an_interrupted_apply_is_deleted() {
    let mut prior = samples::applied_state();
    let old = prior.resources[&addr("network/public")].clone();
    prior.deposed.insert(addr("network/public"), old);
    let p = converges(&samples::stack(), &prior);
    let deposed: Vec<&ResourceChange> = p.changes.iter().filter(|c| c.deposed).collect();
    assert_eq!(deposed.len(), 1);
    assert_eq!(deposed[0].action, Action::Delete);
    assert!(deposed[0].reason.as_deref().unwrap().contains("old copy"));
    // The current object is untouched, and `change` finds it, not the deposed one.
    assert_eq!(
        p.change(&addr("network/public")).unwrap().action,
        Action::NoOp
    );
    assert_eq!(p.summary().delete, 1);
    let steps = p.steps();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].op, StepOp::DeleteDeposed);
}

#[test]
fn a_state_missing_a_property_updates_it() {
    let mut prior = samples::applied_state();
    let inputs = &mut prior
        .resources
        .get_mut(&addr("kinesis/transactions"))
        .unwrap()
        .inputs;
    inputs.as_object_mut().unwrap().remove("tags");
    let p = plan_of(&samples::stack(), &prior);
    let c = p.change(&addr("kinesis/transactions")).unwrap();
    assert_eq!(c.action, Action::Update);
    assert_eq!(c.fields()[0].path, "tags");
    assert_eq!(c.fields()[0].before, None);
}

// ---- outputs -----------------------------------------------------------------

#[test]
fn output_changes() {
    use crate::model::{Output, OutputValue};
    let mut decls = samples::stack();
    let net = decls.iter_mut().find(|d| d.plugin == "network").unwrap();
    net.outputs[0].value = OutputValue::Number(7);
    net.outputs.push(Output {
        name: "greeting".into(),
        description: String::new(),
        value: OutputValue::Boolean(true),
        plugin: "network".into(),
    });
    let mut prior = samples::applied_state();
    prior.outputs.insert("gone".into(), json!("bye"));
    let p = converges(&decls, &prior);
    let o: BTreeMap<&str, &OutputChange> = p.outputs.iter().map(|o| (o.name.as_str(), o)).collect();
    assert_eq!(o["vpc_id"].action, Action::Update);
    assert_eq!(o["vpc_id"].after, Some(json!(7)));
    assert_eq!(o["greeting"].action, Action::Create);
    assert_eq!(o["gone"].action, Action::Delete);
    assert_eq!(o["gone"].after, None);
    assert_eq!(o["redis_port"].action, Action::NoOp);
    // Output changes alone are changes, but touch no resource.
    assert!(p.has_changes());
    assert_eq!(p.summary(), Summary::default());
    let names: Vec<&str> = p.outputs.iter().map(|o| o.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

// ---- convergence over every single-field change of the sample stack -----------

#[test]
fn every_single_field_change_of_the_sample_stack_converges() {
    let prior = samples::applied_state();
    let base = samples::stack();
    let mut cases = 0;
    for d in &base {
        for r in &d.resources {
            let props = r.spec.properties();
            for field in props.as_object().unwrap().keys() {
                let mut decls = base.clone();
                let target = resource_mut(&mut decls, &r.address.to_string());
                let Some(changed) = try_mutate(&r.spec, field) else {
                    continue;
                };
                target.spec = changed;
                if Graph::build(&decls).is_err() {
                    continue;
                }
                let p = converges(&decls, &prior);
                let c = p.change(&r.address).unwrap();
                assert!(
                    matches!(c.action, Action::Update | Action::Replace),
                    "{}.{field}: {:?}",
                    r.address,
                    c.action
                );
                cases += 1;
            }
        }
    }
    assert!(cases > 150, "only {cases} cases");
}

#[test]
fn removing_any_one_plugin_converges() {
    let prior = samples::applied_state();
    for d in samples::stack() {
        let decls: Vec<Declaration> = samples::stack()
            .into_iter()
            .filter(|x| x.plugin != d.plugin)
            .collect();
        if Graph::build(&decls).is_ok() {
            converges(&decls, &prior);
        }
    }
}

// ---- steps ---------------------------------------------------------------------

#[test]
fn create_before_delete_waits_for_dependents_to_move() {
    // The route table is replaced create-before-delete (through the VPC); the route
    // and association referencing it are replaced delete-before-create. The old
    // table may only go once they moved to the new one.
    let mut decls = samples::stack();
    set_property(
        &mut decls,
        "network/vpc",
        "cidr-block",
        json!("10.1.0.0/16"),
    );
    let p = plan_of(&decls, &samples::applied_state());
    let steps = p.steps();
    let pos = |a: &str, op: StepOp| {
        steps
            .iter()
            .position(|s| s.address == addr(a) && s.op == op)
            .unwrap()
    };
    let old_table = pos("network/public", StepOp::DeleteDeposed);
    assert!(pos("network/public", StepOp::Create) < old_table);
    assert!(pos("network/public-default", StepOp::Create) < old_table);
    assert!(pos("network/public-a-assoc", StepOp::Create) < old_table);
    assert!(pos("network/public-a-assoc", StepOp::Delete) < old_table);
    // The old VPC goes last of all.
    assert_eq!(pos("network/vpc", StepOp::DeleteDeposed), steps.len() - 1);
    // Subnets: old deleted (after what used them), then created again.
    assert!(
        pos("network/public-a-assoc", StepOp::Delete) < pos("network/public-a", StepOp::Delete)
    );
    assert!(pos("network/public-a", StepOp::Delete) < pos("network/public-a", StepOp::Create));
}

#[test]
fn a_delete_waits_for_the_update_that_stops_using_it() {
    // The alarms stop notifying the topic, which is removed.
    let mut decls = samples::stack();
    for a in ["monitoring/db-cpu", "monitoring/stream-iterator-age"] {
        set_property(&mut decls, a, "alarm-actions", json!([]));
        set_property(&mut decls, a, "ok-actions", json!([]));
    }
    let mon = decls.iter_mut().find(|d| d.plugin == "monitoring").unwrap();
    mon.resources.retain(|r| r.address.name != "alarms");
    let p = converges(&decls, &samples::applied_state());
    let steps = p.steps();
    let del = steps
        .iter()
        .position(|s| s.address == addr("monitoring/alarms"))
        .unwrap();
    for a in ["monitoring/db-cpu", "monitoring/stream-iterator-age"] {
        let upd = steps.iter().position(|s| s.address == addr(a)).unwrap();
        assert!(steps[del].after.contains(&upd), "{a}");
    }
}

#[test]
fn reversed_dependencies_still_give_an_order() {
    // In the state, a depends on b; in the plugins, b depends on a, and both are
    // replaced delete-before-create: some ordering edges must go, none may cycle.
    let mut prior = samples::applied_state();
    let igw = addr("network/igw");
    let vpc = addr("network/vpc");
    prior.resources.get_mut(&vpc).unwrap().dependencies = vec![igw.clone()];
    prior.resources.get_mut(&igw).unwrap().dependencies = vec![];
    prior.resources.get_mut(&vpc).unwrap().status = ResourceStatus::Tainted;
    let p = plan_of(&samples::stack(), &prior);
    let steps = p.steps();
    let total: usize = p
        .changes
        .iter()
        .map(|c| match c.action {
            Action::NoOp => 0,
            Action::Replace => 2,
            _ => 1,
        })
        .sum();
    assert_eq!(steps.len(), total);
    for (i, s) in steps.iter().enumerate() {
        assert!(s.after.iter().all(|&a| a < i));
    }
}

// ---- saved plans -----------------------------------------------------------------

fn saved() -> (SavedPlan, State) {
    let state = samples::applied_state();
    let mut decls = samples::stack();
    set_property(
        &mut decls,
        "kinesis/transactions",
        "retention-period-hours",
        json!(48),
    );
    let p = plan_of(&decls, &state);
    let sources = decls
        .iter()
        .map(|d| (d.plugin.clone(), d.source.clone()))
        .collect();
    (SavedPlan::new(p, "0.1.0", sources), state)
}

#[test]
fn a_saved_plan_round_trips_and_applies_to_the_same_state() {
    let (s, state) = saved();
    let text = s.to_json();
    let back = SavedPlan::from_json(&text).unwrap();
    assert_eq!(back, s);
    assert_eq!(back.to_json(), text);
    assert!(back.check(&state, &shas(), "0.1.0").is_ok());
    assert_eq!(back.plugin_sources["network"], "plugins/network.wasm");
}

#[test]
fn a_saved_plan_is_refused_once_the_state_changed() {
    let (s, mut state) = saved();
    state.serial += 1;
    let e = s.check(&state, &shas(), "0.1.0").unwrap_err();
    assert_eq!(
        e.to_string(),
        "the state changed since this plan was made (serial 1, now 2); \
         run `engine plan --out FILE` again"
    );
    state.serial -= 1;
    state.lineage = "another".into();
    let e = s.check(&state, &shas(), "0.1.0").unwrap_err();
    assert!(matches!(e, SavedPlanError::LineageChanged { .. }), "{e}");
    assert!(e.to_string().contains("different state"));
    // A plan made with no state is refused once a state exists.
    let fresh = SavedPlan::new(
        plan_of(&samples::stack(), &State::empty()),
        "0.1.0",
        BTreeMap::new(),
    );
    let e = fresh
        .check(&samples::applied_state(), &shas(), "0.1.0")
        .unwrap_err();
    assert_eq!(
        e,
        SavedPlanError::StateChanged {
            planned: 0,
            current: 1
        }
    );
    assert!(fresh.check(&State::empty(), &shas(), "0.1.0").is_ok());
}

#[test]
fn a_saved_plan_is_refused_when_a_plugin_changed() {
    let (s, state) = saved();
    let mut shas = shas();
    shas.insert("kinesis".into(), samples::fake_sha256("kinesis v2"));
    let e = s.check(&state, &shas, "0.1.0").unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with("plugin `kinesis` changed since this plan was made (sha256 "),
        "{msg}"
    );
    assert!(msg.ends_with("run `engine plan --out FILE` again"), "{msg}");
    shas.remove("kinesis");
    let e = s.check(&state, &shas, "0.1.0").unwrap_err();
    assert_eq!(
        e,
        SavedPlanError::PluginMissing {
            plugin: "kinesis".into()
        }
    );
    let mut more = self::shas();
    more.insert("extra".into(), samples::fake_sha256("extra"));
    let e = s.check(&state, &more, "0.1.0").unwrap_err();
    assert_eq!(
        e,
        SavedPlanError::PluginAdded {
            plugin: "extra".into()
        }
    );
}

#[test]
fn a_saved_plan_is_refused_by_another_engine_or_format() {
    let (s, state) = saved();
    let e = s.check(&state, &shas(), "0.2.0").unwrap_err();
    assert!(
        e.to_string()
            .contains("made by engine 0.1.0, and this is engine 0.2.0")
    );
    let mut v: Value = serde_json::from_str(&s.to_json()).unwrap();
    v["format_version"] = json!(2);
    let e = SavedPlan::from_json(&v.to_string()).unwrap_err();
    assert_eq!(
        e,
        SavedPlanError::NewerFormat {
            found: 2,
            supported: 1
        }
    );
    assert!(matches!(
        SavedPlan::from_json("{\"format_version\": 1}"),
        Err(SavedPlanError::Invalid(_))
    ));
    assert!(matches!(
        SavedPlan::from_json("not json"),
        Err(SavedPlanError::Invalid(_))
    ));
}

// ---- size ----------------------------------------------------------------------

/// A chain of 100,000 resources, each referring to the one before: planned, its
/// steps ordered, then destroyed, in bounded time.
#[test]
fn a_chain_of_100_000_resources_plans_and_orders_its_steps() {
    use crate::model::{InternetGateway, Reference, Text};
    let n: usize = std::env::var("CHAIN_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let resources = (0..n)
        .map(|i| Resource {
            address: Address::new("p", format!("r{i}")),
            spec: Spec::InternetGateway(InternetGateway {
                vpc_id: match i {
                    0 => Text::lit("vpc-0"),
                    _ => Text::Ref(Reference {
                        resource: Address::new("p", format!("r{}", i - 1)),
                        attribute: "id".into(),
                    }),
                },
                tags: vec![],
            }),
            depends_on: vec![],
        })
        .collect();
    let decls = vec![Declaration {
        plugin: "p".into(),
        source: "p.wasm".into(),
        resources,
        outputs: vec![],
    }];
    let started = std::time::Instant::now();
    let p = plan_of(&decls, &State::empty());
    let steps = p.steps();
    let create = started.elapsed();
    assert_eq!(steps.len(), n);
    let position: BTreeMap<&Address, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (&s.address, i))
        .collect();
    assert!(position[&addr("p/r1")] > position[&addr("p/r0")]);
    let (last, before) = (format!("p/r{}", n - 1), format!("p/r{}", n - 2));
    assert!(position[&addr(&last)] > position[&addr(&before)]);

    let state = samples::fake_apply(&p, &State::empty());
    let started = std::time::Instant::now();
    let destroy = plan(&Graph::default(), &state, &shas());
    let steps = destroy.steps();
    let delete = started.elapsed();
    assert_eq!(steps.len(), n);
    let position: BTreeMap<&Address, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (&s.address, i))
        .collect();
    assert!(position[&addr("p/r1")] < position[&addr("p/r0")]);
    eprintln!("100,000 chained resources: plan and steps {create:?}, destroy {delete:?}");
    assert!(
        create + delete < std::time::Duration::from_secs(60),
        "{create:?} {delete:?}"
    );
}

// ---- --target and --replace ----

fn request(targets: &[&str], replace: &[&str]) -> Request {
    Request {
        targets: targets.iter().map(|a| addr(a)).collect(),
        replace: replace.iter().map(|a| addr(a)).collect(),
    }
}

#[test]
fn replace_forces_a_replacement_of_an_unchanged_resource_and_its_dependents_follow() {
    let decls = samples::stack();
    let state = applied(&decls);
    let p = plan_for(
        &build(&decls),
        &state,
        &shas(),
        &request(&[], &["kinesis/key"]),
    );
    let key = p.change(&addr("kinesis/key")).unwrap();
    assert_eq!(key.action, Action::Replace);
    assert_eq!(
        key.reason.as_deref(),
        Some("its replacement was requested (`--replace`)")
    );
    // The stream encrypts with the key's ARN: unknown now, so it changes too.
    assert_ne!(
        p.change(&addr("kinesis/transactions")).unwrap().action,
        Action::NoOp
    );
    assert!(p.targets.is_empty());
    // Once applied, the stack converges.
    let after = samples::fake_apply(&p, &state);
    assert!(!plan_of(&decls, &after).has_changes());
}

#[test]
fn target_keeps_only_the_targets_and_what_they_depend_on() {
    let decls = samples::stack();
    let p = plan_for(
        &build(&decls),
        &State::empty(),
        &shas(),
        &request(&["kinesis/transactions"], &[]),
    );
    let kept: Vec<String> = p.changes.iter().map(|c| c.address.to_string()).collect();
    assert_eq!(kept, ["kinesis/key", "kinesis/transactions"]);
    assert!(p.changes.iter().all(|c| c.action == Action::Create));
    assert_eq!(p.targets, [addr("kinesis/transactions")]);
    let outputs: Vec<&str> = p.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(outputs, ["kinesis_stream_arn", "kinesis_stream_name"]);
    let text = crate::render::human(&p, false);
    assert!(
        text.contains(
            "Partial plan (--target): this plan covers only `kinesis/transactions` and what it depends on (2 resources)"
        ),
        "{text}"
    );

    // Against a deployed stack: a change outside the targets is left out, and so
    // is a delete; the targeted change is planned.
    let state = applied(&decls);
    let mut changed_decls = decls.clone();
    set_property(
        &mut changed_decls,
        "kinesis/transactions",
        "shard-count",
        json!(2),
    );
    set_property(
        &mut changed_decls,
        "network/vpc",
        "cidr-block",
        json!("10.9.0.0/16"),
    );
    changed_decls.retain(|d| d.plugin != "monitoring");
    let whole = plan_of(&changed_decls, &state);
    assert_eq!(
        whole.change(&addr("network/vpc")).unwrap().action,
        Action::Replace
    );
    let p = plan_for(
        &build(&changed_decls),
        &state,
        &shas(),
        &request(&["kinesis/transactions"], &[]),
    );
    assert_eq!(
        changed(&p),
        BTreeMap::from([("kinesis/transactions".to_string(), Action::Update)])
    );
    let vpc = p.change(&addr("network/vpc")).unwrap();
    assert_eq!(
        (vpc.action, vpc.reason.as_deref()),
        (Action::NoOp, Some(LEFT_OUT))
    );
    assert!(
        p.change(&addr("monitoring/alarms")).is_none(),
        "deletes are left out"
    );
    // Applying it changes only the target; the rest waits for a whole plan.
    let after = samples::fake_apply(&p, &state);
    assert_eq!(
        after.resources[&addr("network/vpc")],
        state.resources[&addr("network/vpc")]
    );
    assert!(after.resources.contains_key(&addr("monitoring/alarms")));
    let rest = plan_of(&changed_decls, &after);
    assert!(rest.change(&addr("kinesis/transactions")).unwrap().action == Action::NoOp);
    assert_eq!(
        rest.change(&addr("network/vpc")).unwrap().action,
        Action::Replace
    );
}

#[test]
fn a_request_naming_what_does_not_exist_is_refused_with_the_closest_address() {
    let decls = samples::stack();
    let state = applied(&decls[..1]);
    let g = build(&decls);
    let d = request(&["kinesis/transaction"], &["kinesis/key", "network/vpc"]).check(&g, &state);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(
        d[0].summary
            .starts_with("`--target kinesis/transaction`: no plugin declares")
    );
    assert_eq!(
        d[0].hint.as_deref(),
        Some("did you mean `kinesis/transactions`?")
    );
    assert_eq!(
        d[1].summary,
        "`--replace kinesis/key`: it does not exist yet, so the plan creates it"
    );
    assert!(
        request(&["network/vpc"], &["network/vpc"])
            .check(&g, &state)
            .is_empty()
    );
}
