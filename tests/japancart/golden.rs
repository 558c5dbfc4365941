//! Golden files of the JapanCart plan, for people and for machines: against an empty
//! state, and against the applied stack with one config value changed. Regenerate
//! with `UPDATE_GOLDEN=1 cargo test -p engine-runtime --test japancart golden`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use engine_core::{State, render, samples};

use super::{PLUGINS, build, components, context, declare_ok};

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/japancart/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing; run with UPDATE_GOLDEN=1", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(0);
        panic!(
            "{} differs from the output (first at line {}):\n  expected: {:?}\n  actual:   {:?}\n\
             If the change is intended, run with UPDATE_GOLDEN=1 and review the diff.",
            path.display(),
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

/// Plugin hashes fixed, so the goldens do not change with every build.
fn hashes() -> BTreeMap<String, String> {
    PLUGINS
        .iter()
        .map(|p| (p.to_string(), format!("sha256-of-{p}")))
        .collect()
}

#[test]
fn plan_against_an_empty_state_and_a_changed_field() {
    let graph = build(&declare_ok(&context("dev", "us-east-1", &[])));
    let plan = engine_core::plan(&graph, &State::empty(), &hashes());
    assert_eq!(plan.summary().create, 53);
    let text = render::human(&plan, false);
    // The hardening shows in the plan, and a dev database says it is unprotected.
    for line in [
        "# vpc/flow-log will be created",
        "# vpc/default-sg will be created",
        "# secrets/redis-auth will be created",
        "# rds/postgresql-logs will be created",
        "# elasticache/key will be created",
        "+ auth-token              = { key = \"password\", secret-id = (known after apply) }",
        "+ redis_auth_secret_arn         = (known after apply)",
        "# deletion protection is off; on delete: a final snapshot",
    ] {
        assert!(text.contains(line), "`{line}` not in the plan:\n{text}");
    }
    golden("plan-empty.txt", &text);
    golden(
        "plan-empty.json",
        &render::json(&plan, &context("dev", "us-east-1", &[])),
    );
    let prod = build(&declare_ok(&context("prod", "us-east-1", &[])));
    let text = render::human(&engine_core::plan(&prod, &State::empty(), &hashes()), false);
    assert!(
        text.contains(
            "# deletion protection is on: AWS refuses to delete japancart-postgres-prod until it \
             is turned off"
        ),
        "{text}"
    );

    let applied = samples::fake_apply(&plan, &State::empty());
    assert!(!engine_core::plan(&graph, &applied, &hashes()).has_changes());
    let changed = build(&declare_ok(&context(
        "dev",
        "us-east-1",
        &[("kinesis-retention-hours", "48")],
    )));
    let plan = engine_core::plan(&changed, &applied, &hashes());
    let s = plan.summary();
    assert_eq!((s.create, s.update, s.replace, s.delete), (0, 1, 0, 0));
    golden("plan-changed.txt", &render::human(&plan, false));
    golden(
        "plan-changed.json",
        &render::json(&plan, &context("dev", "us-east-1", &[])),
    );
}

#[test]
fn components_import_only_the_engine_wit() {
    for p in PLUGINS {
        let bytes = std::fs::read(components().join(format!("{p}.wasm"))).unwrap();
        let imports = engine_build::imports(&bytes).unwrap();
        assert!(!imports.is_empty());
        for i in &imports {
            assert!(
                *i == format!("engine:plugin/host@{}", engine_runtime::WIT_VERSION)
                    || *i == format!("engine:plugin/types@{}", engine_runtime::WIT_VERSION),
                "{p} imports {i}"
            );
        }
    }
}
