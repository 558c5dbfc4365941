//! End-to-end tests of policy checks (`engine check`, issue 7): the real `engine`
//! binary, the security baseline built from `policies/`, the JapanCart plugins built
//! from `plugins/`, and test guests built from `tests/policy-guests/` (a data-store
//! stack whose `mode` config breaks one rule at a time, and a policy plugin that
//! misbehaves on purpose).
//!
//! Every case runs in a temporary working directory with a private code cache and
//! no colour.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

#[path = "../common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository")
}

/// Builds a guest workspace of the repository once per test process.
fn built(workspace: &str) -> PathBuf {
    engine_build::build_for_tests(&repo().join(workspace))
}

/// The baseline policy, built from `policies/`.
fn baseline() -> String {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| built("policies"));
    dir.join("baseline.wasm").display().to_string()
}

/// A test guest from `tests/policy-guests/`: `datastore` (plugin `shop`) or
/// `policy-misbehave` (plugin `misbehaving-policy`).
fn guest(name: &str) -> String {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| built("tests/policy-guests"));
    dir.join(format!("{name}.wasm")).display().to_string()
}

use common::japancart;

mod rego;

/// Runs `engine` in `dir` with a private code cache and no colour.
fn engine(dir: &Path, args: &[&str]) -> Output {
    engine_with(dir, args, &[])
}

/// Runs `engine` in `dir` with a private code cache, no colour and `env`.
fn engine_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(args)
        .current_dir(dir)
        .env("ENGINE_CACHE_DIR", dir.join(".cache"))
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("AWS_REGION")
        .env_remove("ENGINE_LOG")
        .env_remove("ENGINE_STATE")
        // No test here may reach AWS, or look for credentials off this machine
        // (a test's own `env` may point the SDK at its stand-in instead).
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .expect("runs engine")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `engine check ARGS...` in `dir`; returns the exit code, stdout and stderr.
fn check(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    let out = engine(dir, &all);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// `engine check --json`: the exit code and the parsed report.
fn check_json(dir: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = check(dir, &all);
    let v = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    (code, v, stderr)
}

/// (policy, address, severity) of every violation in a JSON report.
fn violations(report: &Value) -> Vec<(String, String, String)> {
    report["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (s("policy"), s("address"), s("severity"))
        })
        .collect()
}

#[test]
fn japancart_passes_the_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = japancart();
    let base = baseline();
    let mut args = vec!["--policy", base.as_str()];
    args.extend(plugins.iter().map(String::as_str));

    let (code, stdout, stderr) = check(dir.path(), &args);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("53 resources, 1 policy\n  baseline 0.1.0 ("),
        "{stdout}"
    );
    assert!(stdout.contains("): 0 violations\n"), "{stdout}");
    assert!(
        stdout.ends_with("\nPassed: 0 mandatory violations, 0 advisories.\n"),
        "{stdout}"
    );

    let (code, report, stderr) = check_json(dir.path(), &args);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report["passed"], true);
    assert_eq!(report["resources"], 53);
    assert_eq!(violations(&report), vec![]);
    assert_eq!(report["policies"][0]["name"], "baseline");
    assert_eq!(report["policies"][0]["passed"], true);
}

/// (stack, config, expected policy and address or none, words the message has)
type Case<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>, &'a str);

/// One broken stack per rule of the baseline, and the violation it must produce.
/// Where the JapanCart plugins have a config key for the breakage, the real stack
/// is used; otherwise the `shop` test stack with a `mode`.
const BROKEN_STACKS: &[Case] = &[
    ("shop", "mode=ok", None, ""),
    (
        "shop",
        "mode=plaintext-stream",
        Some(("encryption-at-rest", "shop/stream")),
        "`kms-key-id` is not set",
    ),
    (
        "japancart",
        "alarm-topic-kms-key=none",
        Some(("encryption-at-rest", "monitoring/alarms")),
        "`kms-key-id` is not set",
    ),
    (
        "shop",
        "mode=redis-without-tls",
        Some(("redis-transit-encryption", "shop/redis")),
        "`transit-encryption` is false",
    ),
    (
        "shop",
        "mode=public-db",
        Some(("private-data-stores", "shop/db")),
        "`publicly-accessible` is true",
    ),
    (
        "shop",
        "mode=public-subnet",
        Some(("private-data-stores", "shop/cache-subnets")),
        "`shop/public-a` (gives instances public IP addresses (`map-public-ip-on-launch`); \
         its route table `shop/public-rt` sends 0.0.0.0/0 to the internet gateway `shop/igw`)",
    ),
    (
        "shop",
        "mode=open-ingress",
        Some(("ingress-restricted", "shop/db-sg")),
        "allows traffic from `0.0.0.0/0` (anywhere), outside the VPC's block 10.20.0.0/16: \
         PostgreSQL, a data port",
    ),
    (
        "japancart",
        "rds-backup-retention-days=1",
        Some(("backup-retention", "rds/postgres")),
        "keeps automated backups for 1 day (`backup-retention-days`)",
    ),
    (
        "shop",
        "mode=short-backups",
        Some(("backup-retention", "shop/db")),
        "`backup-retention-days`",
    ),
    (
        "shop",
        "mode=single-az",
        Some(("multi-az", "shop/redis")),
        "is not Multi-AZ: `multi-az` is false.",
    ),
    (
        "japancart",
        "rds-instance-class=db.m5.large",
        Some(("allowed-instance-classes", "rds/postgres")),
        "uses `instance-class` `db.m5.large`, which is not on the baseline's allowed list \
         (db.t3.micro)",
    ),
    (
        "japancart",
        "redis-node-type=cache.m5.large",
        Some(("allowed-instance-classes", "elasticache/redis")),
        "`node-type` `cache.m5.large`",
    ),
    (
        "shop",
        "mode=big-db",
        Some(("allowed-instance-classes", "shop/db")),
        "`db.m5.large`",
    ),
    (
        "shop",
        "mode=nat-route",
        Some(("no-nat-gateway", "shop/private-nat-route")),
        "goes to `nat-0a1b2c3d4e5f60718` (`gateway-id`), which is not an internet gateway",
    ),
    // The hardening rules (docs/policies.md, "Hardening rules and the
    // benchmark"): each broken by the shop stack's mode, and where JapanCart has
    // a key for it, by JapanCart's config too.
    (
        "shop",
        "mode=redis-without-auth",
        Some(("redis-auth", "shop/redis")),
        "(Checkov CKV_AWS_31)",
    ),
    (
        "japancart",
        "redis-auth=false",
        Some(("redis-auth", "elasticache/redis")),
        "(Checkov CKV_AWS_31)",
    ),
    (
        "shop",
        "mode=redis-aws-key",
        Some(("customer-managed-key", "shop/redis")),
        "(Checkov CKV_AWS_191)",
    ),
    (
        "japancart",
        "redis-kms-key=aws-managed",
        Some(("customer-managed-key", "elasticache/redis")),
        "(Checkov CKV_AWS_191)",
    ),
    (
        "shop",
        "mode=db-aws-key",
        Some(("customer-managed-key", "shop/db")),
        "`kms-key-id`",
    ),
    (
        "japancart",
        "rds-kms-key=aws-managed",
        Some(("customer-managed-key", "rds/postgres")),
        "`kms-key-id`",
    ),
    (
        "shop",
        "mode=db-without-iam-auth",
        Some(("rds-iam-authentication", "shop/db")),
        "(Checkov CKV_AWS_161)",
    ),
    (
        "japancart",
        "rds-iam-auth=false",
        Some(("rds-iam-authentication", "rds/postgres")),
        "(Checkov CKV_AWS_161)",
    ),
    (
        "shop",
        "mode=db-without-logs",
        Some(("rds-log-exports", "shop/db")),
        "`upgrade`",
    ),
    (
        "japancart",
        "rds-log-exports=postgresql",
        Some(("rds-log-exports", "rds/postgres")),
        "(Checkov CKV_AWS_129)",
    ),
    (
        "shop",
        "mode=db-without-tag-copy",
        Some(("rds-copy-tags-to-snapshot", "shop/db")),
        "(Checkov CKV2_AWS_60)",
    ),
    (
        "japancart",
        "rds-copy-tags-to-snapshot=false",
        Some(("rds-copy-tags-to-snapshot", "rds/postgres")),
        "(Checkov CKV2_AWS_60)",
    ),
    // Outside `dev` only: the shop stack in `prod`.
    (
        "shop",
        "mode=db-unprotected environment=prod",
        Some(("rds-deletion-protection", "shop/db")),
        "(Checkov CKV_AWS_293)",
    ),
    ("shop", "mode=db-unprotected", None, ""),
    (
        "japancart",
        "environment=prod rds-deletion-protection=false",
        Some(("rds-deletion-protection", "rds/postgres")),
        "(Checkov CKV_AWS_293)",
    ),
    ("japancart", "environment=prod", None, ""),
    (
        "shop",
        "mode=db-stack-secret",
        Some(("secret-rotation", "shop/db")),
        "(Checkov CKV2_AWS_57)",
    ),
    (
        "japancart",
        "db-password=stack-secret",
        Some(("secret-rotation", "rds/postgres")),
        "(Checkov CKV2_AWS_57)",
    ),
    (
        "shop",
        "mode=no-flow-logs",
        Some(("vpc-flow-logs", "shop/net")),
        "(Checkov CKV2_AWS_11)",
    ),
    (
        "japancart",
        "vpc-flow-logs=false",
        Some(("vpc-flow-logs", "vpc/main")),
        "(Checkov CKV2_AWS_11)",
    ),
    (
        "shop",
        "mode=open-default-sg",
        Some(("default-security-group-closed", "shop/default-sg")),
        "(Checkov CKV2_AWS_12)",
    ),
    (
        "japancart",
        "default-security-group=unmanaged",
        Some(("default-security-group-closed", "vpc/main")),
        "(Checkov CKV2_AWS_12)",
    ),
    (
        "shop",
        "mode=short-log-retention",
        Some(("log-retention", "shop/flow-logs")),
        "(Checkov CKV_AWS_338)",
    ),
];

/// The arguments of `engine check` for one of [`BROKEN_STACKS`] with `policy`.
fn broken_stack_args(policy: &str, stack: &str, config: &str) -> Vec<String> {
    let mut args = vec!["--policy".to_string(), policy.to_string()];
    for setting in config.split(' ').filter(|s| !s.is_empty()) {
        args.extend(["--config".to_string(), setting.to_string()]);
    }
    if stack == "shop" {
        args.push(guest("datastore"));
    } else {
        args.extend(japancart());
    }
    args
}

/// One broken stack per rule, each producing exactly the expected violation. Where
/// the JapanCart plugins have a config key for the breakage, the real stack is used;
/// otherwise the `shop` test stack with a `mode`.
#[test]
fn each_broken_stack_breaks_exactly_its_rule() {
    let dir = tempfile::tempdir().unwrap();
    let base = baseline();
    let mut failures = Vec::new();
    for (stack, config, expected, words) in BROKEN_STACKS {
        let args = broken_stack_args(&base, stack, config);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, report, stderr) = check_json(dir.path(), &args);
        // A Redis group without TLS cannot keep its AUTH token either (AWS refuses
        // AUTH without encryption in transit), so it breaks `redis-auth` too.
        let also = (*config == "mode=redis-without-tls").then_some(("redis-auth", "shop/redis"));
        let want: Vec<(String, String, String)> = expected
            .iter()
            .chain(also.iter())
            .map(|(p, a)| (p.to_string(), a.to_string(), "mandatory".to_string()))
            .collect();
        let got = violations(&report);
        let want_code = if expected.is_some() { 1 } else { 0 };
        let message = report["violations"][0]["message"].as_str().unwrap_or("");
        let remediation = report["violations"][0]["remediation"]
            .as_str()
            .unwrap_or("");
        if got != want
            || code != Some(want_code)
            || report["passed"] != expected.is_none()
            || !message.contains(words)
            || (expected.is_some() && remediation.is_empty())
        {
            failures.push(format!(
                "{stack} with {config}: exit {code:?} (want {want_code}), violations {got:?} \
                 (want {want:?}), message {message:?} (want it to contain {words:?}), \
                 remediation {remediation:?}\n{stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_report_groups_violations_by_resource() {
    let dir = tempfile::tempdir().unwrap();
    let (base, misbehave, shop) = (baseline(), guest("policy-misbehave"), guest("datastore"));
    // Two rules on shop/db, an advisory from another plugin on the first resource.
    let (code, stdout, stderr) = check(
        dir.path(),
        &[
            "--policy",
            &base,
            "--policy",
            &misbehave,
            "-c",
            "mode=short-backups",
            &shop,
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.starts_with("Policy check of stack "), "{stdout}");
    assert!(
        stdout.contains("in us-east-1 (environment `dev`): 27 resources, 2 policies\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "\nshop/db (db-instance)\n  mandatory: backup-retention (baseline)\n    The database \
             `shop-postgres-dev` keeps automated backups for 1 day (`backup-retention-days`); \
             the baseline requires at least 7.\n    hint: Set `backup-retention-days` to 7 or \
             more (up to 35).\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "\nshop/cache-sg (security-group)\n  advisory: demo-advisory (misbehaving-policy)\n    \
             This is only a demonstration.\n    hint: Nothing to do.\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("\nFailed: 1 mandatory violation, 1 advisory.\n"),
        "{stdout}"
    );
    assert!(stderr.is_empty(), "no diagnostics: {stderr}");
}

#[test]
fn advisories_alone_pass() {
    let dir = tempfile::tempdir().unwrap();
    let (misbehave, shop) = (guest("policy-misbehave"), guest("datastore"));
    let (code, stdout, stderr) = check(dir.path(), &["--policy", &misbehave, &shop]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("  advisory: demo-advisory (misbehaving-policy)\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("\nPassed: 0 mandatory violations, 1 advisory.\n"),
        "{stdout}"
    );
}

/// A policy plugin that panics, runs past its deadline or past its memory cap is a
/// failure naming the plugin: exit 1, never a pass. The other policies still run.
#[test]
fn a_failing_policy_plugin_is_a_failure_not_a_pass() {
    let (base, misbehave, shop) = (baseline(), guest("policy-misbehave"), guest("datastore"));
    // (stack name, limits, the failure's summary, more it says)
    let cases = [
        (
            "policy-panics",
            "",
            "panicked in `check` at policy-misbehave/src/lib.rs:",
            "policy bug: cannot read the plan",
        ),
        (
            "policy-loops",
            "[limits]\ndeadline-ms = 300\n",
            "did not finish `check` within its deadline of 300ms and was stopped",
            "",
        ),
        (
            "policy-grows",
            "[limits]\nmemory-mb = 16\n",
            "exceeded its memory limit of 16 MiB in `check` and was stopped",
            "",
        ),
    ];
    for (stack, limits, error, more) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("engine.toml"),
            format!("[stack]\nname = \"{stack}\"\n{limits}"),
        )
        .unwrap();
        let args = ["--policy", &misbehave, "--policy", &base, &shop];
        let (code, stdout, stderr) = check(dir.path(), &args);
        assert_eq!(code, Some(1), "{stack}: {stdout}\n{stderr}");
        assert!(
            stderr.contains(&format!("error: {error}")),
            "{stack}: {stderr}"
        );
        assert!(stderr.contains(more), "{stack}: {stderr}");
        assert!(
            stderr.contains(
                "\n  --> plugin `misbehaving-policy`\n  The policy plugin could not check the \
                 plan, so the plan has not passed it.\n"
            ),
            "{stack}: {stderr}"
        );
        assert!(
            stdout.contains(&format!(
                "  misbehaving-policy 0.1.0 ({misbehave}): FAILED: {error}"
            )),
            "{stack}: {stdout}"
        );
        assert!(
            stdout.contains(&format!("  baseline 0.1.0 ({base}): 0 violations\n")),
            "{stack}: the baseline still ran: {stdout}"
        );
        assert!(
            stdout.ends_with("\nFailed: 0 mandatory violations, 0 advisories, 1 policy failed.\n"),
            "{stack}: {stdout}"
        );

        let (code, report, _) = check_json(dir.path(), &args);
        assert_eq!(code, Some(1), "{stack}");
        assert_eq!(report["passed"], false, "{stack}");
        assert_eq!(report["summary"]["failed_policies"], 1, "{stack}");
        assert_eq!(report["policies"][0]["passed"], false, "{stack}");
        let summary = report["policies"][0]["failure"]["summary"]
            .as_str()
            .unwrap();
        assert!(summary.starts_with(error), "{stack}: {summary}");
        assert_eq!(report["policies"][1]["passed"], true, "{stack}");
    }
}

#[test]
fn wrong_or_missing_policies_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let shop = guest("datastore");
    // A component plugin passed as a policy.
    let (code, stdout, stderr) = check(dir.path(), &["--policy", &shop, &shop]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: {shop} is a component plugin; pass it without --policy\n  --> plugin `shop`"
        )),
        "{stderr}"
    );
    assert!(stdout.contains("1 policy failed"), "{stdout}");

    // A policy file that is not there.
    let (code, _, stderr) = check(dir.path(), &["--policy", "nowhere.wasm", &shop]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("cannot read nowhere.wasm"), "{stderr}");

    // No policy at all: checking against nothing would pass anything.
    let (code, stdout, stderr) = check(dir.path(), &[&shop]);
    assert_eq!(code, Some(1));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("error: no policies to check the plan with"),
        "{stderr}"
    );

    // A plan that cannot be made: no check, exit 1.
    let (code, stdout, stderr) = check(
        dir.path(),
        &["--policy", &baseline(), "-c", "mode=bogus", &shop],
    );
    assert_eq!(code, Some(1));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("config `mode` = `bogus`"), "{stderr}");
}

#[test]
fn policies_from_the_stack_file_add_to_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(baseline(), dir.path().join("baseline.wasm")).unwrap();
    std::fs::write(
        dir.path().join("engine.toml"),
        "policies = [\"baseline.wasm\"]\n[config]\nmode = \"big-db\"\n",
    )
    .unwrap();
    let shop = guest("datastore");
    let (code, report, stderr) = check_json(dir.path(), &[&shop]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        violations(&report),
        [(
            "allowed-instance-classes".to_string(),
            "shop/db".to_string(),
            "mandatory".to_string()
        )]
    );
    // The same file named again with --policy runs once; another policy adds to it.
    let misbehave = guest("policy-misbehave");
    let (code, report, _) = check_json(
        dir.path(),
        &["--policy", "baseline.wasm", "--policy", &misbehave, &shop],
    );
    assert_eq!(code, Some(1));
    let names: Vec<&str> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["baseline", "misbehaving-policy"]);
}

/// The plan view holds every resource of the plan: no-ops, creates with their
/// unknown paths, and deletes with their prior properties (which the baseline
/// ignores: a stream being deleted needs no encryption).
#[test]
fn policies_see_every_resource_of_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let (base, misbehave, shop) = (baseline(), guest("policy-misbehave"), guest("datastore"));
    std::fs::write(
        dir.path().join("engine.toml"),
        "[stack]\nname = \"policy-echo\"\n",
    )
    .unwrap();
    // A state in which shop/key exists as declared (no-op) and an unencrypted stream
    // that no plugin declares any more (delete).
    std::fs::create_dir(dir.path().join(".engine")).unwrap();
    let state = serde_json::json!({
        "version": 1,
        "serial": 3,
        "lineage": "policy-test",
        "resources": {
            "shop/key": {
                "kind": "kms-key",
                "plugin_sha256": "0",
                "inputs": {
                    "description": "shop data",
                    "enable-key-rotation": true,
                    "deletion-window-days": 7,
                    "service-principals": ["logs.us-east-1.amazonaws.com"],
                    "tags": []
                },
                "attributes": { "id": "key-1", "arn": "arn:aws:kms:us-east-1:1:key/key-1" },
                "dependencies": []
            },
            "legacy/stream": {
                "kind": "kinesis-stream",
                "plugin_sha256": "0",
                "inputs": {
                    "name": "legacy",
                    "shard-count": 1,
                    "retention-period-hours": 24,
                    "kms-key-id": null,
                    "shard-level-metrics": [],
                    "tags": []
                },
                "attributes": { "name": "legacy", "arn": "arn:aws:kinesis:us-east-1:1:stream/legacy" },
                "dependencies": []
            }
        },
        "outputs": {}
    });
    std::fs::write(
        dir.path().join(".engine/state.json"),
        serde_json::to_string_pretty(&state).unwrap(),
    )
    .unwrap();
    let (code, report, stderr) = check_json(dir.path(), &["--policy", &misbehave, &shop]);
    assert_eq!(code, Some(0), "{stderr}");
    let seen: std::collections::BTreeMap<String, String> = report["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["address"].as_str().unwrap().to_string(),
                v["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(seen.len(), 28, "every resource once: {seen:#?}");
    assert_eq!(seen["shop/key"], "no-op KmsKey unknown=[]");
    assert_eq!(seen["legacy/stream"], "delete KinesisStream unknown=[]");
    // The key exists, so the stream's key ARN is known; the subnets' ids are not.
    assert_eq!(seen["shop/stream"], "create KinesisStream unknown=[]");
    assert_eq!(
        seen["shop/cache-subnets"],
        "create CacheSubnetGroup unknown=[subnet-ids.0,subnet-ids.1]"
    );
    assert_eq!(
        seen["shop/db"],
        "create DbInstance unknown=[vpc-security-group-ids.0]"
    );
    assert_eq!(
        seen["shop/redis"],
        "create CacheReplicationGroup unknown=[auth-token.secret-id,security-group-ids.0]"
    );

    // The baseline ignores the unencrypted stream being deleted.
    let (code, report, stderr) = check_json(dir.path(), &["--policy", &base, &shop]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(violations(&report), vec![]);
}

/// SARIF 2.1.0 as code scanning reads it: rules from the policy ids, one result per
/// violation with its level, message, remediation and locations.
#[test]
fn sarif_has_the_structure_code_scanning_expects() {
    let dir = tempfile::tempdir().unwrap();
    let (base, misbehave, shop) = (baseline(), guest("policy-misbehave"), guest("datastore"));
    let out = engine(
        dir.path(),
        &[
            "check",
            "--sarif",
            "--policy",
            &base,
            "--policy",
            &misbehave,
            "-c",
            "mode=open-ingress",
            &shop,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let log: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    assert_eq!(
        log["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    let runs = log["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["tool"]["driver"]["name"], "engine");
    let extensions: Vec<&str> = run["tool"]["extensions"]
        .as_array()
        .expect("extensions")
        .iter()
        .map(|e| e["name"].as_str().expect("name"))
        .collect();
    assert_eq!(extensions, ["baseline", "misbehaving-policy"]);
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let rule_ids: Vec<&str> = rules
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(rule_ids, ["ingress-restricted", "demo-advisory"]);
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);

    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for r in results {
        let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], r["ruleId"], "{r}");
        assert!(
            r["message"]["text"]
                .as_str()
                .expect("text")
                .contains("\nRemediation: "),
            "{r}"
        );
        let location = &r["locations"][0];
        assert_eq!(location["logicalLocations"][0]["kind"], "resource", "{r}");
        let uri = location["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("uri");
        assert!(uri.ends_with("/datastore.wasm"), "{uri}");
    }
    assert_eq!(results[0]["ruleId"], "ingress-restricted");
    assert_eq!(results[0]["level"], "error");
    assert_eq!(
        results[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "shop/db-sg"
    );
    assert_eq!(results[1]["ruleId"], "demo-advisory");
    assert_eq!(results[1]["level"], "warning");

    // A failing policy plugin: the run was not successful, and says which plugin.
    std::fs::write(
        dir.path().join("engine.toml"),
        "[stack]\nname = \"policy-panics\"\n",
    )
    .unwrap();
    let out = engine(
        dir.path(),
        &["check", "--sarif", "--policy", &misbehave, &shop],
    );
    assert_eq!(out.status.code(), Some(1));
    let log: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let note = &invocation["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "error");
    assert!(
        note["message"]["text"]
            .as_str()
            .unwrap()
            .starts_with("policy `misbehaving-policy` failed: panicked in `check`"),
        "{note}"
    );
    assert_eq!(log["runs"][0]["results"], serde_json::json!([]));
}

/// The waiver the tests below declare: `backup-retention` on `shop/db`, which
/// `mode=short-backups` breaks.
const WAIVER: &str = "[[waivers]]\nrule = \"backup-retention\"\naddress = \"shop/db\"\n\
                      reason = \"dev stack, rebuilt nightly from a snapshot\"\n";

/// A waived mandatory violation passes `engine check` but is never hidden: the
/// report for people marks it waived with the reason and counts it apart, JSON
/// says `suppressed` with the reason, SARIF carries an external suppression with
/// the reason as its justification (and keeps the level).
#[test]
fn a_waived_violation_passes_and_is_shown_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("engine.toml"), WAIVER).unwrap();
    let (base, misbehave, shop) = (baseline(), guest("policy-misbehave"), guest("datastore"));
    let args = [
        "--policy",
        &base,
        "--policy",
        &misbehave,
        "-c",
        "mode=short-backups",
        &shop,
    ];

    let (code, stdout, stderr) = check(dir.path(), &args);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "\nshop/db (db-instance)\n  mandatory, waived: backup-retention (baseline)\n    The \
             database `shop-postgres-dev` keeps automated backups for 1 day \
             (`backup-retention-days`); the baseline requires at least 7.\n    hint: Set \
             `backup-retention-days` to 7 or more (up to 35).\n    waived in engine.toml: dev \
             stack, rebuilt nightly from a snapshot\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n  advisory: demo-advisory (misbehaving-policy)\n"),
        "the advisory is not waived: {stdout}"
    );
    assert!(
        stdout.ends_with("\nPassed: 0 mandatory violations (1 waived), 1 advisory.\n"),
        "{stdout}"
    );
    assert!(stderr.is_empty(), "the waiver matched: {stderr}");

    let (code, report, stderr) = check_json(dir.path(), &args);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report["passed"], true);
    let vs = report["violations"].as_array().unwrap();
    let waived: Vec<&Value> = vs
        .iter()
        .filter(|v| v["policy"] == "backup-retention")
        .collect();
    assert_eq!(waived.len(), 1, "{report}");
    assert_eq!(waived[0]["severity"], "mandatory");
    assert_eq!(
        waived[0]["suppressed"]["reason"],
        "dev stack, rebuilt nightly from a snapshot"
    );
    assert_eq!(waived[0]["suppressed"]["source"], "engine.toml");
    let advisory = vs
        .iter()
        .find(|v| v["policy"] == "demo-advisory")
        .expect("the advisory");
    assert_eq!(advisory["suppressed"], Value::Null);
    let summary = &report["summary"];
    assert_eq!(summary["mandatory"], 0, "{summary}");
    assert_eq!(summary["advisory"], 1, "{summary}");
    assert_eq!(summary["waived_mandatory"], 1, "{summary}");
    assert_eq!(summary["waived_advisory"], 0, "{summary}");
    assert_eq!(report["waivers"][0]["matched"], true, "{report}");
    assert_eq!(report["waivers"][0]["rule"], "backup-retention");

    let out = engine(dir.path(), &[&["check", "--sarif"][..], &args[..]].concat());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let log: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    let results = log["runs"][0]["results"].as_array().expect("results");
    let waived = results
        .iter()
        .find(|r| r["ruleId"] == "backup-retention")
        .expect("the waived result is still a result");
    assert_eq!(waived["level"], "error", "the level is kept: {waived}");
    let suppressions = waived["suppressions"].as_array().expect("suppressions");
    assert_eq!(suppressions.len(), 1, "{waived}");
    assert_eq!(suppressions[0]["kind"], "external");
    assert_eq!(suppressions[0]["status"], "accepted");
    assert_eq!(
        suppressions[0]["justification"],
        "dev stack, rebuilt nightly from a snapshot"
    );
    let advisory = results
        .iter()
        .find(|r| r["ruleId"] == "demo-advisory")
        .expect("the advisory");
    assert!(advisory.get("suppressions").is_none(), "{advisory}");
}

/// A waiver covers its rule on its resource only: another violation still fails
/// the check, and a waiver that matches nothing is a warning (not an error).
#[test]
fn an_unwaived_violation_still_fails_and_a_stale_waiver_warns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("engine.toml"),
        format!(
            "{WAIVER}[[waivers]]\nrule = \"multi-az\"\naddress = \"shop/db\"\n\
             reason = \"one zone\"\n"
        ),
    )
    .unwrap();
    let (base, shop) = (baseline(), guest("datastore"));
    // `multi-az` breaks on shop/redis, not on the waived shop/db.
    let (code, stdout, stderr) = check(
        dir.path(),
        &["--policy", &base, "-c", "mode=single-az", &shop],
    );
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout
            .contains("\nshop/redis (cache-replication-group)\n  mandatory: multi-az (baseline)\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("waived"), "{stdout}");
    assert!(
        stdout.ends_with("\nFailed: 1 mandatory violation, 0 advisories.\n"),
        "{stdout}"
    );
    for (rule, address) in [("backup-retention", "shop/db"), ("multi-az", "shop/db")] {
        assert!(
            stderr.contains(&format!(
                "warning: waiver for {rule} on {address} (engine.toml) matched nothing: remove \
                 it or check the rule and the address\n"
            )),
            "{stderr}"
        );
    }

    // Stale waivers alone do not fail a check that passes.
    let (code, report, stderr) =
        check_json(dir.path(), &["--policy", &base, "-c", "mode=ok", &shop]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report["waivers"][0]["matched"], false, "{report}");
    assert_eq!(report["waivers"][1]["matched"], false, "{report}");
    assert!(stderr.contains("matched nothing"), "{stderr}");
}

/// A waiver must say why: one without a reason, a blank one, an unknown field or
/// a rule waived twice on one resource is refused, naming the file and the entry.
#[test]
fn a_waiver_without_a_reason_is_refused() {
    let (base, shop) = (baseline(), guest("datastore"));
    let twice = format!("{WAIVER}{WAIVER}");
    let cases = [
        (
            "[[waivers]]\nrule = \"backup-retention\"\naddress = \"shop/db\"\nreason = \"  \"\n",
            "error: engine.toml: [[waivers]] entry 1 (rule `backup-retention` on `shop/db`): \
             `reason` is empty: a waiver must say why the rule does not apply to this resource",
        ),
        (
            "[[waivers]]\nrule = \"backup-retention\"\naddress = \"shop/db\"\n",
            "missing field `reason`",
        ),
        (
            "[[waivers]]\nrule = \"backup-retention\"\naddress = \"shop/db\"\nreason = \"x\"\n\
             expires = \"2027-01-01\"\n",
            "unknown field `expires`",
        ),
        (
            "[[waivers]]\nrule = \"backup-retention\"\naddress = \"db\"\nreason = \"x\"\n",
            "`address`: `db` is not an address of the form `plugin/name`",
        ),
        (
            twice.as_str(),
            "entry 2 (rule `backup-retention` on `shop/db`): the same rule is already waived \
             on the same resource by entry 1: keep one",
        ),
    ];
    for (toml, error) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("engine.toml"), toml).unwrap();
        let (code, stdout, stderr) = check(
            dir.path(),
            &["--policy", &base, "-c", "mode=short-backups", &shop],
        );
        assert_eq!(code, Some(1), "{toml}: {stdout}\n{stderr}");
        assert!(stdout.is_empty(), "{toml}: no report: {stdout}");
        assert!(stderr.contains(error), "{toml}: {stderr}");
    }
}

/// A stack's own file (`engine.NAME.toml`) waives for that stack only, and
/// `engine config set` keeps its waivers.
#[test]
fn a_stack_file_waives_for_its_stack_only() {
    let dir = tempfile::tempdir().unwrap();
    let (base, shop) = (baseline(), guest("datastore"));
    let out = engine(dir.path(), &["stack", "init", "dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let file = dir.path().join("engine.dev.toml");
    let mut own = std::fs::read_to_string(&file).unwrap();
    own.push_str(&format!("\n{WAIVER}"));
    std::fs::write(&file, own).unwrap();
    let out = engine(dir.path(), &["config", "set", "mode", "short-backups"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("reason = \"dev stack, rebuilt nightly from a snapshot\""),
        "config set keeps the waivers"
    );

    let (code, stdout, stderr) = check(dir.path(), &["--policy", &base, &shop]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(
            "    waived in engine.dev.toml: dev stack, rebuilt nightly from a snapshot\n"
        ),
        "{stdout}"
    );

    // The default stack has no waiver.
    let (code, stdout, stderr) = check(
        dir.path(),
        &[
            "--stack",
            "default",
            "--policy",
            &base,
            "-c",
            "mode=short-backups",
            &shop,
        ],
    );
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("  mandatory: backup-retention (baseline)\n"),
        "{stdout}"
    );
}

/// A stand-in for every AWS endpoint (`AWS_ENDPOINT_URL`): counts connections and
/// requests, and answers each request with HTTP 400, which the SDK does not retry.
struct AwsStub {
    url: String,
    connections: &'static AtomicUsize,
    requests: &'static AtomicUsize,
}

impl AwsStub {
    fn start() -> AwsStub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let connections: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
        let requests: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                connections.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || Self::serve(conn, requests));
            }
        });
        AwsStub {
            url,
            connections,
            requests,
        }
    }

    fn serve(conn: TcpStream, requests: &AtomicUsize) {
        let Ok(read_half) = conn.try_clone() else {
            return;
        };
        let (mut reader, mut conn) = (BufReader::new(read_half), conn);
        let mut line = String::new();
        loop {
            // The request line and headers, then the body.
            let mut length = 0;
            let mut first = true;
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let l = line.trim_end();
                if l.is_empty() && !first {
                    break;
                }
                first = false;
                if let Some((k, v)) = l.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            requests.fetch_add(1, Ordering::SeqCst);
            let answer = r#"{"__type":"ValidationException","message":"policy test stub"}"#;
            let response = format!(
                "HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n\
                 Content-Length: {}\r\n\r\n{answer}",
                answer.len()
            );
            if conn.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    }

    /// The environment that points the SDK at the stub (and nowhere else).
    fn env(&self) -> Vec<(&str, &str)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url.as_str()),
            ("AWS_ACCESS_KEY_ID", "policy-test"),
            ("AWS_SECRET_ACCESS_KEY", "policy-test"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/nonexistent"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
            ("AWS_PROFILE", "default"),
        ]
    }

    fn calls(&self) -> (usize, usize) {
        (
            self.connections.load(Ordering::SeqCst),
            self.requests.load(Ordering::SeqCst),
        )
    }
}

/// Acceptance 3: `engine apply --policy` with a mandatory violation (or a failing
/// policy plugin) refuses before any AWS call, counted at a stand-in endpoint; the
/// same apply without the violation does reach it, so the count would have seen any
/// call.
#[test]
fn apply_refuses_a_mandatory_violation_before_any_aws_call() {
    let base = baseline();
    let (misbehave, shop) = (guest("policy-misbehave"), guest("datastore"));
    let plugins = japancart();
    let stub = AwsStub::start();
    let env = stub.env();

    // The JapanCart stack with 1-day backups, `--policy baseline`.
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "apply",
        "--yes",
        "--policy",
        base.as_str(),
        "-c",
        "rds-backup-retention-days=1",
    ];
    args.extend(plugins.iter().map(String::as_str));
    let out = engine_with(dir.path(), &args, &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("\nrds/postgres (db-instance)\n  mandatory: backup-retention (baseline)\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: a mandatory policy failed; nothing was changed"),
        "{stderr}"
    );
    assert_eq!(stub.calls(), (0, 0), "no AWS call");
    assert!(
        !dir.path().join(".engine/state.json").exists(),
        "no state written"
    );

    // A failing policy plugin from engine.toml blocks too.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("engine.toml"),
        format!("policies = [{misbehave:?}]\n[stack]\nname = \"policy-panics\"\n"),
    )
    .unwrap();
    let out = engine_with(dir.path(), &["apply", "--yes", &shop], &env);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("panicked in `check`"), "{stderr}");
    assert!(stderr.contains("1 policy failed"), "{stderr}");
    assert_eq!(stub.calls(), (0, 0), "no AWS call");

    // Control: advisories only. The apply goes on and reaches the stand-in (which
    // refuses every call, so it fails there).
    let dir = tempfile::tempdir().unwrap();
    let out = engine_with(
        dir.path(),
        &[
            "apply", "--yes", "--policy", &base, "--policy", &misbehave, &shop,
        ],
        &env,
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("  advisory: demo-advisory (misbehaving-policy)\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Passed: 0 mandatory violations, 1 advisory."),
        "{stderr}"
    );
    let (connections, requests) = stub.calls();
    assert!(
        connections > 0 && requests > 0,
        "the stand-in sees the calls of an apply that goes on: {stderr}"
    );
}

/// `engine apply --policy` goes on past a waived mandatory violation (it reaches
/// the stand-in), after printing it as waived with the reason.
#[test]
fn apply_goes_on_past_a_waived_violation() {
    let (base, shop) = (baseline(), guest("datastore"));
    let stub = AwsStub::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("engine.toml"), WAIVER).unwrap();
    let out = engine_with(
        dir.path(),
        &[
            "apply",
            "--yes",
            "--policy",
            &base,
            "-c",
            "mode=short-backups",
            &shop,
        ],
        &stub.env(),
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("  mandatory, waived: backup-retention (baseline)\n    The database"),
        "{stderr}"
    );
    assert!(
        stderr.contains("    waived in engine.toml: dev stack, rebuilt nightly from a snapshot\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Passed: 0 mandatory violations (1 waived), 0 advisories."),
        "{stderr}"
    );
    assert!(!stderr.contains("a mandatory policy failed"), "{stderr}");
    let (connections, requests) = stub.calls();
    assert!(
        connections > 0 && requests > 0,
        "the apply went on to AWS: {stderr}"
    );
}
