//! Golden tests of the plan output, human and JSON, for the sample stack
//! (`engine_core::samples`): against an empty state, against the applied state with
//! one changed field, and a mixed plan (a replacement whose dependents follow, an
//! update, a delete, a changed output).
//!
//! The expected files are in `tests/golden/`. To accept a new output after a
//! deliberate change, run with `UPDATE_GOLDEN=1` and review the diff.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use engine_core::model::{KinesisStream, MetricAlarm, Spec, Subnet};
use engine_core::state::State;
use engine_core::{Declaration, Graph, OutputValue, Plan, render, samples};

fn check(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}\nhint: run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from the golden file at line {}:\n  expected: {:?}\n  actual:   {:?}\n\
             --- actual output ---\n{actual}\n\
             hint: if the change is deliberate, run with UPDATE_GOLDEN=1 and review the diff",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first),
        );
    }
}

fn goldens(name: &str, plan: &Plan) {
    check(&format!("{name}.txt"), &render::human(plan, false));
    check(
        &format!("{name}.json"),
        &render::json(plan, &engine_core::samples::context()),
    );
}

fn edit(decls: &mut [Declaration], address: &str, f: impl FnOnce(&mut Spec)) {
    let r = decls
        .iter_mut()
        .flat_map(|d| d.resources.iter_mut())
        .find(|r| r.address.to_string() == address)
        .unwrap_or_else(|| panic!("no {address} in the sample stack"));
    f(&mut r.spec);
}

fn build(decls: &[Declaration]) -> Graph {
    Graph::build(decls).unwrap_or_else(|d| panic!("{d:?}"))
}

#[test]
fn sample_stack_against_empty_state() {
    let p = engine_core::plan(
        &samples::graph(),
        &State::empty(),
        &samples::plugin_sha256s(),
    );
    goldens("create-all", &p);
}

#[test]
fn sample_stack_with_one_changed_field() {
    let mut decls = samples::stack();
    edit(&mut decls, "kinesis/transactions", |s| {
        let Spec::KinesisStream(KinesisStream {
            retention_period_hours,
            ..
        }) = s
        else {
            unreachable!()
        };
        *retention_period_hours = 48;
    });
    let p = engine_core::plan(
        &build(&decls),
        &samples::applied_state(),
        &samples::plugin_sha256s(),
    );
    goldens("one-change", &p);
}

#[test]
fn sample_stack_mixed_changes() {
    let mut decls = samples::stack();
    // A replacement (subnet CIDR) whose dependents follow.
    edit(&mut decls, "network/private-b", |s| {
        let Spec::Subnet(Subnet { cidr_block, .. }) = s else {
            unreachable!()
        };
        *cidr_block = "10.0.13.0/24".into();
    });
    // An update of a nested list and a threshold.
    edit(&mut decls, "monitoring/stream-iterator-age", |s| {
        let Spec::MetricAlarm(MetricAlarm { threshold, .. }) = s else {
            unreachable!()
        };
        *threshold = 30000.0;
    });
    edit(&mut decls, "kinesis/transactions", |s| {
        let Spec::KinesisStream(KinesisStream {
            shard_level_metrics,
            ..
        }) = s
        else {
            unreachable!()
        };
        shard_level_metrics.insert(1, "OutgoingBytes".into());
        shard_level_metrics.pop();
    });
    // A removed resource and a changed output.
    let monitoring = decls.iter_mut().find(|d| d.plugin == "monitoring").unwrap();
    monitoring.resources.retain(|r| r.address.name != "db-cpu");
    let network = decls.iter_mut().find(|d| d.plugin == "network").unwrap();
    network.outputs[0].value = OutputValue::Str("unused".into());
    let p = engine_core::plan(
        &build(&decls),
        &samples::applied_state(),
        &samples::plugin_sha256s(),
    );
    goldens("mixed", &p);
}

#[test]
fn no_changes() {
    let p = engine_core::plan(
        &samples::graph(),
        &samples::applied_state(),
        &samples::plugin_sha256s(),
    );
    check("no-changes.txt", &render::human(&p, false));
}
