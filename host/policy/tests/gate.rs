//! The apply gate without the binary: real policy plugins, built from source, and
//! Rego files, over the sample plan. A mandatory violation or a failing policy
//! blocks; an advisory does not.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use engine_core::{Plan, State, samples};
use engine_policy::rego::DEFAULT_PACKAGE;
use engine_policy::run_policies;
use engine_runtime::{Limits, Runtime};

fn built(workspace: &str) -> PathBuf {
    engine_build::build_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join(workspace))
}

fn policy_guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| built("../../tests/policy-guests"))
}

fn guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| built("../../tests/guests"))
}

fn plan() -> Plan {
    engine_core::plan(
        &samples::graph(),
        &State::empty(),
        &samples::plugin_sha256s(),
    )
}

/// The stack the policies are told of: `stack` in us-east-1, environment `dev`.
fn context(stack: &str) -> engine_core::Context {
    engine_core::Context {
        stack: stack.into(),
        region: "us-east-1".into(),
        environment: "dev".into(),
        config: Default::default(),
    }
}

fn shop() -> engine_core::Context {
    context("shop")
}

fn runtime() -> Runtime {
    Runtime::new(Limits::default(), None).unwrap()
}

#[test]
fn a_passing_policy_passes_and_an_advisory_does_not_block() {
    let rt = runtime();
    let ok = guests().join("policy-ok.wasm");
    let o = run_policies(&rt, &shop(), &[ok], DEFAULT_PACKAGE, &plan()).unwrap();
    assert!(o.passed());
    assert_eq!((o.mandatory(), o.advisory(), o.failed()), (0, 0, 0));
    assert_eq!(o.resources, plan().changes.len());

    // Any stack but the special ones gets one advisory violation: still a pass.
    let misbehave = policy_guests().join("policy-misbehave.wasm");
    let o = run_policies(&rt, &shop(), &[misbehave], DEFAULT_PACKAGE, &plan()).unwrap();
    assert_eq!(o.advisory(), 1);
    assert!(o.passed(), "{:?}", o.violations);
}

#[test]
fn a_failing_policy_plugin_blocks_like_a_mandatory_violation() {
    let rt = runtime();
    let misbehave = policy_guests().join("policy-misbehave.wasm");
    let ok = guests().join("policy-ok.wasm");
    let o = run_policies(
        &rt,
        &context("policy-panics"),
        &[misbehave, ok.clone(), ok],
        DEFAULT_PACKAGE,
        &plan(),
    )
    .unwrap();
    assert!(!o.passed());
    assert_eq!(o.failed(), 1);
    assert_eq!(o.runs.len(), 2, "a file named twice runs once");
    assert!(
        o.failures()[0].to_string().contains("panicked"),
        "{:?}",
        o.failures()
    );
    assert_eq!(o.runs[1].label(), "pass-all", "the others still run");
}

#[test]
fn a_component_plugin_is_no_policy_and_a_mandatory_violation_blocks() {
    let rt = runtime();
    let component = guests().join("misbehave.wasm");
    let o = run_policies(&rt, &shop(), &[component], DEFAULT_PACKAGE, &plan()).unwrap();
    assert!(!o.passed());
    assert!(
        o.failures()[0]
            .to_string()
            .contains("is a component plugin"),
        "{:?}",
        o.failures()
    );

    // The baseline, built from source, over a plan with a public bucket.
    let baseline = built("../../policies").join("baseline.wasm");
    let mut decls = samples::stack();
    let plugin = decls[0].plugin.clone();
    decls[0].resources.push(engine_core::Resource {
        address: engine_core::Address::new(&plugin, "exports"),
        spec: engine_core::Spec::S3Bucket(engine_core::model::S3Bucket {
            name: "exports".into(),
            versioning: true,
            default_encryption: true,
            kms_key_id: None,
            block_public_access: false,
            expiration_days: 0,
            tags: vec![],
        }),
        depends_on: vec![],
    });
    let graph = engine_core::Graph::build(&decls).unwrap();
    let plan = engine_core::plan(&graph, &State::empty(), &samples::plugin_sha256s());
    let o = run_policies(&rt, &shop(), &[baseline], DEFAULT_PACKAGE, &plan).unwrap();
    assert!(!o.passed());
    assert!(
        o.violations
            .iter()
            .any(|v| v.policy == "s3-block-public-access" && v.mandatory),
        "{:?}",
        o.violations
    );
}

/// Rego files run in the policy list's order, together as one policy, beside a
/// plugin; their messages count as a plugin's violations do, and the input is the
/// plan with its context.
#[test]
fn rego_files_run_together_as_one_policy_beside_plugins() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let lib = write(
        "lib.rego",
        "package lib\n\nkinds(k) := [c | some c in input.changes; c.kind == k]\n",
    );
    let rules = write(
        "rules.rego",
        r#"package main

import data.lib

deny_streams contains {"msg": "a stream", "address": c.address, "rule": "no-streams"} if {
	some c in lib.kinds("kinesis-stream")
}

warn contains sprintf("environment %s", [input.context.environment])
"#,
    );
    let ok = guests().join("policy-ok.wasm");
    let o = run_policies(
        &runtime(),
        &shop(),
        &[rules, ok, lib],
        DEFAULT_PACKAGE,
        &plan(),
    )
    .unwrap();
    let runs: Vec<String> = o.runs.iter().map(|r| r.label()).collect();
    assert_eq!(runs, ["rules+lib", "pass-all"]);
    assert_eq!(o.failed(), 0, "{:?}", o.failures());
    let streams = plan()
        .changes
        .iter()
        .filter(|c| c.kind.as_str() == "kinesis-stream")
        .count();
    assert!(streams > 0);
    assert_eq!(o.mandatory(), streams);
    assert_eq!(o.advisory(), 1);
    assert!(!o.passed());
    let warn = o.violations.iter().find(|v| !v.mandatory).unwrap();
    assert_eq!(
        (
            warn.policy.as_str(),
            warn.message.as_str(),
            warn.plugin.as_str()
        ),
        ("warn", "environment dev", "rules+lib")
    );
}
