//! Every bad input a plugin can be, each with the error a user sees. The guests are
//! built from source (tests/guests) by the test itself.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use engine_core::{Context, Graph};
use engine_runtime::{Limits, Plugin, PluginError, Runtime};

fn guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        engine_build::build_for_tests(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/guests"),
        )
    })
}

fn limits() -> Limits {
    Limits {
        deadline: Duration::from_millis(1000),
        memory_bytes: 32 << 20,
        max_output_bytes: 1 << 20,
    }
}

fn runtime() -> Runtime {
    Runtime::new(limits(), None).expect("runtime")
}

fn ctx(mode: &str) -> Context {
    Context {
        stack: "test".into(),
        region: "us-east-1".into(),
        environment: "dev".into(),
        config: [("mode".to_string(), mode.to_string())].into(),
    }
}

fn load(rt: &Runtime, name: &str) -> Plugin {
    rt.load(&guests().join(format!("{name}.wasm")))
        .expect("loads")
}

fn declare_err(mode: &str) -> (PluginError, Duration) {
    let rt = runtime();
    let mut p = load(&rt, "misbehave");
    let start = Instant::now();
    let e = p.declare(&ctx(mode)).expect_err("should fail");
    (e, start.elapsed())
}

fn write_wat(name: &str, wat: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, wat::parse_str(wat).unwrap()).unwrap();
    (dir, path)
}

fn load_err(path: &Path) -> String {
    match runtime().load(path) {
        Ok(p) => panic!("{} loaded as {}", path.display(), p.name()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_good_plugin_declares_its_resources() {
    let rt = runtime();
    let mut p = load(&rt, "misbehave");
    assert_eq!(p.name(), "misbehave");
    assert_eq!(p.sha256().len(), 64);
    let d = p.declare(&ctx("ok")).unwrap();
    let names: Vec<String> = d.resources.iter().map(|r| r.address.to_string()).collect();
    assert_eq!(names, ["misbehave/net", "misbehave/gw"]);
    assert_eq!(d.outputs[0].name, "vpc_id");
    Graph::build(&[d]).unwrap();
}

#[test]
fn a_file_that_is_not_wasm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.wasm");
    std::fs::write(&path, "not wasm at all").unwrap();
    let e = load_err(&path);
    assert!(e.contains("notes.wasm is not a WebAssembly file"), "{e}");
    assert!(
        e.starts_with(&format!("plugin `{}`", path.display())),
        "{e}"
    );
}

#[test]
fn a_core_module_instead_of_a_component() {
    guests();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/guests")
        .canonicalize()
        .unwrap();
    let core = engine_build::core_module_path(&workspace, "misbehave");
    let e = load_err(&core);
    assert!(
        e.contains("is a core WebAssembly module, not a component"),
        "{e}"
    );
}

#[test]
fn a_component_of_another_world() {
    let rt = runtime();
    let mut policy = load(&rt, "policy-ok");
    assert_eq!(policy.kind(), engine_runtime::PluginKind::Policy);
    let e = policy.declare(&ctx("ok")).unwrap_err().to_string();
    assert_eq!(
        e,
        "plugin `pass-all`: is a policy plugin, but a component plugin was expected here"
    );

    let (_d, path) = write_wat(
        "other.wasm",
        r#"(component (instance $i) (export "acme:tools/greeter@1.0.0" (instance $i)))"#,
    );
    let e = load_err(&path);
    assert!(
        e.contains("is not an engine plugin: it exports `acme:tools/greeter@1.0.0`"),
        "{e}"
    );
}

#[test]
fn a_component_of_another_wit_version() {
    let (_d, path) = write_wat(
        "future.wasm",
        r#"(component
             (import "engine:plugin/host@0.9.0" (instance (export "log" (func (param "message" string)))))
           )"#,
    );
    let e = load_err(&path);
    assert!(
        e.contains(
            "was built for `engine:plugin@0.9.0`, but this engine speaks `engine:plugin` 0.4.0, 0.3.0, 0.2.0 and 0.1.0"
        ),
        "{e}"
    );

    let (_d, path) = write_wat(
        "future-export.wasm",
        r#"(component (instance $i) (export "engine:plugin/component-plugin@0.9.0" (instance $i)))"#,
    );
    let e = load_err(&path);
    assert!(
        e.contains("was built for `engine:plugin@0.9.0`")
            && e.contains("0.4.0, 0.3.0, 0.2.0 and 0.1.0"),
        "{e}"
    );
}

#[test]
fn a_component_that_imports_wasi() {
    let (_d, path) = write_wat(
        "wasi.wasm",
        r#"(component
             (import "wasi:cli/environment@0.2.0" (instance (export "initial-cwd" (func))))
           )"#,
    );
    let e = load_err(&path);
    assert!(
        e.contains("imports `wasi:cli/environment@0.2.0`, which the engine does not provide (plugins get no WASI"),
        "{e}"
    );
}

#[test]
fn a_guest_that_loops_forever_is_stopped_at_the_deadline() {
    let (e, took) = declare_err("loop");
    assert_eq!(
        e.to_string(),
        "plugin `misbehave`: did not finish `declare` within its deadline of 1s and was stopped"
    );
    assert!(took < limits().deadline * 2, "stopped after {took:?}");
}

#[test]
fn a_guest_that_allocates_without_bound_is_stopped_at_the_cap() {
    let (e, _) = declare_err("alloc");
    assert_eq!(
        e.to_string(),
        "plugin `misbehave`: exceeded its memory limit of 32 MiB in `declare` and was stopped"
    );
}

#[test]
fn a_guest_panic_reaches_the_user_with_its_message() {
    let (e, _) = declare_err("panic");
    let e = e.to_string();
    assert!(
        e.starts_with("plugin `misbehave`: panicked in `declare` at misbehave/src/lib.rs:"),
        "{e}"
    );
    assert!(
        e.ends_with(": the configured CIDR block `10.0.0.0/99` is not valid"),
        "{e}"
    );
}

#[test]
fn an_oversized_answer_is_refused() {
    // At a 1 MiB limit the host stops copying at 8 MiB, before it could size the
    // answer (the 100 MiB string test reaches the size check with room to copy).
    let (e, _) = declare_err("oversized");
    let e = e.to_string();
    assert_eq!(
        e,
        "plugin `misbehave`: returned an answer from `declare` too large to read: more than 8 MiB of strings and lists, so the engine stopped copying it"
    );
}

#[test]
fn an_error_from_declare_is_shown_as_the_plugins_message() {
    let (e, _) = declare_err("error");
    assert_eq!(
        e.to_string(),
        "plugin `misbehave`: config `cidr` is required"
    );
}

#[test]
fn an_invalid_resource_name_is_refused() {
    let (e, _) = declare_err("bad-name");
    assert!(
        e.to_string()
            .contains("resource name `Not_Valid` is not valid"),
        "{e}"
    );
}

fn graph_errors(modes: &[&str]) -> String {
    let rt = runtime();
    let decls: Vec<_> = modes
        .iter()
        .map(|m| load(&rt, "misbehave").declare(&ctx(m)).unwrap())
        .collect();
    Graph::build(&decls)
        .unwrap_err()
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn two_plugins_with_the_same_name() {
    let e = graph_errors(&["ok", "ok"]);
    assert!(e.contains("two plugins are both named `misbehave`"), "{e}");
}

#[test]
fn two_resources_with_the_same_aws_name() {
    let e = graph_errors(&["dup-name"]);
    assert!(
        e.contains("two resources would create the same kinesis-stream `orders`"),
        "{e}"
    );
    assert!(
        e.contains("resource `misbehave/orders-again`, field `name`"),
        "{e}"
    );
}

#[test]
fn a_reference_to_a_missing_resource() {
    let e = graph_errors(&["missing-ref"]);
    assert!(
        e.contains("error: reference to a missing resource `network/main`"),
        "{e}"
    );
    assert!(
        e.contains("plugin `misbehave`, resource `misbehave/gw`, field `vpc-id`"),
        "{e}"
    );
}

#[test]
fn a_reference_to_an_attribute_the_kind_does_not_have() {
    let e = graph_errors(&["bad-attr"]);
    assert!(e.contains("`misbehave/net` has no attribute `arn`"), "{e}");
    assert!(e.contains("A vpc exposes: id, cidr-block."), "{e}");
}

#[test]
fn a_dependency_cycle_is_printed() {
    let e = graph_errors(&["cycle"]);
    assert!(e.contains("dependency cycle"), "{e}");
    assert!(
        e.contains("misbehave/a -> misbehave/b -> misbehave/a"),
        "{e}"
    );
}

#[test]
fn the_code_cache_serves_a_warm_load_and_survives_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = guests().join("misbehave.wasm");
    let rt = Runtime::new(limits(), Some(dir.path().to_path_buf())).unwrap();
    rt.load(&path).unwrap();
    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    // A damaged entry is ignored (and recompiled), never loaded.
    std::fs::write(
        &entries[0],
        b"garbage that is long enough to have a digest....",
    )
    .unwrap();
    let mut p = rt.load(&path).unwrap();
    assert!(p.declare(&ctx("ok")).is_ok());
}

/// Plugins built against the frozen 0.1.0 contract keep working: a component
/// declares (its answer converted up), and a policy checks a current plan.
#[test]
fn plugins_built_for_contract_0_1_0_keep_loading() {
    let rt = runtime();
    let mut legacy = load(&rt, "contract-0-1");
    assert_eq!(legacy.contract(), "0.1.0");
    assert_eq!(legacy.name(), "legacy");
    let decl = legacy.declare(&ctx("ok")).expect("declares");
    let kinds: Vec<&str> = decl
        .resources
        .iter()
        .map(|r| r.spec.kind().as_str())
        .collect();
    assert_eq!(kinds, ["vpc", "subnet", "sns-topic"]);
    assert_eq!(decl.resources[1].address.to_string(), "legacy/subnet");
    assert_eq!(
        decl.resources[1].spec.references()[0].1.to_string(),
        "legacy/vpc.id"
    );
    assert_eq!(decl.outputs[0].name, "legacy_vpc_id");
    Graph::build(&[decl]).expect("a valid graph");

    let mut policy = load(&rt, "contract-0-1-policy");
    assert_eq!(policy.contract(), "0.1.0");
    assert_eq!(policy.kind(), engine_runtime::PluginKind::Policy);
    let planned = |address: &str, spec: engine_core::Spec| engine_runtime::PolicyResource {
        address: engine_core::Address::parse(address).unwrap(),
        action: engine_runtime::PolicyAction::Create,
        spec,
        unknown: vec![],
    };
    let plan = [
        planned(
            "app/alerts",
            engine_core::Spec::SnsTopic(engine_core::model::SnsTopic {
                name: "alerts".into(),
                kms_key_id: None,
                tags: vec![],
            }),
        ),
        // A kind 0.1.0 does not know: the old policy is told nothing of it.
        planned(
            "app/exports",
            engine_core::Spec::S3Bucket(engine_core::model::S3Bucket {
                name: "exports".into(),
                versioning: false,
                default_encryption: false,
                kms_key_id: None,
                block_public_access: false,
                expiration_days: 0,
                tags: vec![],
            }),
        ),
    ];
    let found = policy.check(&ctx("ok"), &plan).expect("checks");
    let seen: Vec<&str> = found
        .iter()
        .filter(|v| v.policy == "seen")
        .map(|v| v.address.as_str())
        .collect();
    assert_eq!(seen, ["app/alerts"]);
    assert!(
        found
            .iter()
            .any(|v| v.policy == "topic-encrypted" && v.mandatory),
        "{found:?}"
    );

    // The current SDK's plugins speak the current contract.
    assert_eq!(
        load(&rt, "policy-ok").contract(),
        engine_runtime::WIT_VERSION
    );
}

/// Plugins built against the frozen 0.2.0 contract keep working: they list no
/// config keys (`None`: what they read is unknown, not nothing), and still read
/// the keys the stack sets.
#[test]
fn plugins_built_for_contract_0_2_0_keep_loading() {
    let rt = runtime();
    let mut older = load(&rt, "contract-0-2");
    assert_eq!(older.contract(), "0.2.0");
    assert_eq!(older.name(), "older");
    assert_eq!(older.info().config, None);
    let mut c = ctx("ok");
    c.config
        .insert("older-topic-name".into(), "renamed-topic".into());
    let decl = older.declare(&c).expect("declares");
    let engine_core::Spec::SnsTopic(topic) = &decl.resources[0].spec else {
        panic!("{:?}", decl.resources[0].spec)
    };
    assert_eq!(topic.name, "renamed-topic");
    assert_eq!(decl.outputs[0].name, "older_topic_arn");

    // A plugin of the current contract lists what it reads, even when that is
    // nothing.
    let current = load(&rt, "storage");
    assert_eq!(current.contract(), engine_runtime::WIT_VERSION);
    assert!(current.info().config.is_some());
}

/// Plugins built against the frozen 0.3.0 contract keep working: their config keys
/// are listed, and their declarations gain 0.4.0's fields with the values that keep
/// their meaning (no Redis AUTH token, the password from the stack's secret, none
/// of the new database settings on).
#[test]
fn plugins_built_for_contract_0_3_0_keep_loading() {
    let rt = runtime();
    let mut older = load(&rt, "contract-0-3");
    assert_eq!(older.contract(), "0.3.0");
    let keys = older.info().config.clone().expect("0.3.0 lists its keys");
    assert_eq!(keys[0].name, "older3-node-type");
    let mut c = ctx("ok");
    c.config
        .insert("older3-node-type".into(), "cache.t4g.micro".into());
    let decl = older.declare(&c).expect("declares");
    let spec = |name: &str| {
        &decl
            .resources
            .iter()
            .find(|r| r.address.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .spec
    };
    let engine_core::Spec::CacheReplicationGroup(cache) = spec("cache") else {
        panic!("{:?}", spec("cache"))
    };
    assert_eq!(cache.node_type, "cache.t4g.micro");
    assert!(cache.transit_encryption && cache.auth_token.is_none());
    let engine_core::Spec::DbInstance(db) = spec("db") else {
        panic!("{:?}", spec("db"))
    };
    let password = db.master_password.as_ref().expect("the stack's secret");
    assert!(
        matches!(&password.secret_id, engine_core::Text::Ref(r) if r.to_string() == "older3/secret.arn"),
        "{password:?}"
    );
    assert!(!db.manage_master_user_password && db.master_user_secret_kms_key_id.is_none());
    assert!(!db.iam_database_authentication && !db.copy_tags_to_snapshot);
    assert!(db.cloudwatch_logs_exports.is_empty());
}

// ---- hostile plugins (tests/guests/hostile; the CLI measures them in tests/hostile) ----

fn hostile_ctx(settings: &[(&str, &str)]) -> Context {
    Context {
        stack: "test".into(),
        region: "us-east-1".into(),
        environment: "dev".into(),
        config: settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// `hostile`'s declaration with `settings`, in a runtime with `limits`.
fn hostile(
    limits: Limits,
    settings: &[(&str, &str)],
) -> (Result<engine_core::Declaration, PluginError>, Duration) {
    let rt = Runtime::new(limits, None).expect("runtime");
    let mut p = load(&rt, "hostile");
    let start = Instant::now();
    let r = p.declare(&hostile_ctx(settings));
    (r, start.elapsed())
}

fn hostile_err(settings: &[(&str, &str)]) -> PluginError {
    let (r, took) = hostile(limits(), settings);
    assert!(took < Duration::from_secs(10), "{settings:?} took {took:?}");
    r.expect_err("should fail")
}

/// What a person reads: the diagnostic, control characters escaped.
fn shown(e: &PluginError) -> String {
    let text = e.diagnostic().to_string();
    assert!(
        !text.contains('\x1b'),
        "a raw ESC reaches the terminal: {text:?}"
    );
    text
}

#[test]
fn a_guest_stack_overflow_is_one_line_naming_the_plugin() {
    // Its shadow stack in linear memory runs out (a `memory.fill`, or a plain
    // store at the wrapped address), or wasm's own call stack does.
    for mode in ["overflow", "overflow-store", "overflow-native"] {
        let e = hostile_err(&[("hostile", mode)]);
        assert_eq!(
            e.to_string(),
            "plugin `hostile`: overflowed its stack in `declare` (unbounded or too deep recursion) and was stopped",
            "{mode}"
        );
        let d = shown(&e);
        assert!(
            !d.contains("backtrace:") && !d.contains("wasm function"),
            "{d}"
        );
        assert!(d.contains("hint: look for unbounded recursion"), "{d}");
    }
}

#[test]
fn ten_million_resources_or_a_100_mib_string_stop_at_the_memory_cap() {
    for mode in ["many", "huge-string", "chain", "chain-cycle"] {
        let e = hostile_err(&[("hostile", mode)]);
        assert_eq!(
            e.to_string(),
            "plugin `hostile`: exceeded its memory limit of 32 MiB in `declare` and was stopped",
            "{mode}"
        );
        assert!(
            shown(&e).contains(
                "hint: raise memory-mb under [limits] (every plugin) or [limits.hostile] (this plugin)"
            ),
            "{mode}"
        );
    }
}

/// With room in the guest, a 100 MiB string is refused by the answer's size, or,
/// when the answer limit is small, by the lift budget (before the host copies it
/// at all).
#[test]
fn a_100_mib_string_with_memory_to_spare_is_refused_by_the_answer_limits() {
    let roomy = |max_output_bytes| Limits {
        memory_bytes: 512 << 20,
        deadline: Duration::from_secs(30),
        max_output_bytes,
    };
    // 16 MiB: the host copies up to 128 MiB, so the string is read, then refused.
    let (r, took) = hostile(roomy(16 << 20), &[("hostile", "huge-string")]);
    let e = r.expect_err("refused").to_string();
    assert!(
        e.starts_with("plugin `hostile`: returned 10485")
            && e.ends_with("bytes from `declare`, more than the limit of 16777216 bytes"),
        "{e}"
    );
    assert!(took < Duration::from_secs(30), "{took:?}");
    let (r, _) = hostile(roomy(1 << 20), &[("hostile", "huge-string")]);
    let e = r.expect_err("refused");
    assert!(
        e.to_string()
            .contains("too large to read: more than 8 MiB of strings and lists"),
        "{e}"
    );
    assert!(
        shown(&e).contains("hint: raise answer-mb under [limits]"),
        "{e}"
    );
}

/// One 16 MiB string under 64 tags: 1 GiB to copy out of 16 MiB of guest memory.
/// The host stops at its lift budget (8 times the answer limit: 8 MiB here).
#[test]
fn strings_that_share_their_bytes_are_refused_before_the_host_copies_them() {
    let e = hostile_err(&[("hostile", "alias-strings")]);
    assert_eq!(
        e.to_string(),
        "plugin `hostile`: returned an answer from `declare` too large to read: more than 8 MiB of strings and lists, so the engine stopped copying it"
    );
    assert!(
        shown(&e).contains("hint: raise answer-mb under [limits]"),
        "{e}"
    );
}

#[test]
fn names_with_path_shell_or_control_characters_are_refused() {
    for (name, printed) in [
        ("../../etc/passwd\n\x1b[31m", "../../etc/passwd\\n\\x1b[31m"),
        ("$(rm -rf /)", "$(rm -rf /)"),
        ("a;b|c", "a;b|c"),
    ] {
        let e = hostile_err(&[("hostile", "name"), ("name", name)]);
        let d = shown(&e);
        assert!(
            d.starts_with(&format!(
                "error: returned an invalid answer: resource name `{printed}` is not valid: \
                 use lowercase letters, digits and `-`, starting with a letter\n  --> plugin `hostile`"
            )),
            "{d}"
        );
    }
    let e = hostile_err(&[("hostile", "name"), ("name", &"x\x1b".repeat(10_000))]);
    assert!(shown(&e).contains("... (19800 more characters)"), "{e}");

    let e = hostile_err(&[("hostile", "ref-path")]);
    assert!(
        shown(&e).contains("bad reference `../../etc/passwd.id`: `..` is not a valid name"),
        "{e}"
    );
    let e = hostile_err(&[("hostile", "output-name")]);
    assert!(
        shown(&e).contains("output name `id\\x1b[31m\\n` is not valid"),
        "{e}"
    );
}

#[test]
fn plugin_messages_and_panics_are_escaped_on_one_line() {
    let d = shown(&hostile_err(&[("hostile", "message")]));
    assert!(
        d.starts_with(
            "error: \\x1b[31mconfig is fine\\nerror: a line the engine never wrote\\x1b[0m\n  --> plugin `hostile`"
        ),
        "{d}"
    );
    let d = shown(&hostile_err(&[("hostile", "panic")]));
    assert!(
        d.starts_with("error: panicked in `declare` at hostile/src/lib.rs:"),
        "{d}"
    );
    assert!(
        d.contains(": \\x1b[31mred panic\\nsecond line\\x1b[0m\n  --> plugin `hostile`"),
        "{d}"
    );
}

fn hostile_graph_errors(mode: &str) -> String {
    let (r, _) = hostile(limits(), &[("hostile", mode)]);
    let text = Graph::build(&[r.expect("declares")])
        .expect_err("refused")
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!text.contains('\x1b'), "{text:?}");
    text
}

#[test]
fn references_outside_the_stack_or_to_a_secret_value_are_refused() {
    let e = hostile_graph_errors("outside");
    assert!(
        e.contains("error: reference to a missing resource `elsewhere/vpc`\n  --> plugin `hostile`, resource `hostile/gw`, field `vpc-id`"),
        "{e}"
    );
    assert!(
        e.contains("error: `depends-on` names a missing resource `elsewhere/queue`"),
        "{e}"
    );

    let e = hostile_graph_errors("secret-password");
    assert!(
        e.contains("error: `hostile/db-credentials` has no attribute `password`\n  --> plugin `hostile`, resource `hostile/alerts`, field `kms-key-id`"),
        "{e}"
    );
    assert!(e.contains("field `output `password``"), "{e}");
    assert!(e.contains("Its password is never exposed"), "{e}");

    let e = hostile_graph_errors("secret-key");
    assert!(
        e.contains("error: a secret holds no key `arn`\n  --> plugin `hostile`, resource `hostile/db`, field `master-password`"),
        "{e}"
    );

    let e = hostile_err(&[("hostile", "secret-outside")]);
    assert_eq!(e.address.as_deref(), Some("hostile/db"));
    assert!(
        e.to_string().contains(
            "`master-password` reads a secret outside the stack: its `secret-id` is the literal \
             `arn:aws:secretsmanager:us-east-1:123456789012:secret:prod-root`"
        ),
        "{e}"
    );

    let e = hostile_graph_errors("aws-name");
    assert!(
        e.contains("two resources would create the same kinesis-stream `orders\\x1b[31m`"),
        "{e}"
    );
    let e = hostile_graph_errors("attr");
    assert!(e.contains("has no attribute `id\\x1b[31m\\nx`"), "{e}");
}

/// A plugin that has declared gives its sandbox back and keeps what it said about
/// itself; a later call is refused, not run in a store it no longer has.
#[test]
fn a_released_plugin_keeps_its_name_and_refuses_calls() {
    let rt = runtime();
    let mut p = load(&rt, "storage");
    let ctx = Context {
        stack: "test".into(),
        region: "us-east-1".into(),
        environment: "dev".into(),
        config: Default::default(),
    };
    assert!(p.declare(&ctx).is_ok());
    p.release();
    assert_eq!(p.name(), "storage");
    assert!(p.info().config.is_some());
    let e = p.declare(&ctx).expect_err("released");
    assert_eq!(
        e.to_string(),
        "plugin `storage`: cannot call `declare`: its sandbox was released after it declared"
    );
}

/// The embedded Rego evaluator runs in a plugin's sandbox: it evaluates a module
/// against its input, a rule that builds a huge array is stopped by the memory
/// cap and an endless one by the deadline, each named like a plugin.
#[test]
fn the_rego_evaluator_runs_under_a_plugins_limits() {
    use engine_runtime::rego::{RegoError, RegoModule};
    let rt = runtime();
    let module = |body: &str| {
        vec![RegoModule {
            file: "p.rego".into(),
            source: format!("package main\n\n{body}\n"),
        }]
    };
    let rules = rt
        .evaluate_rego(
            "p",
            &module("deny contains input.x if input.x\nhelper := 1"),
            r#"{"x": "m"}"#,
            "main",
        )
        .unwrap()
        .unwrap();
    assert_eq!(rules.len(), 1, "helpers are left out: {rules:?}");
    assert_eq!(
        (rules[0].name.as_str(), &rules[0].value),
        ("deny", &serde_json::json!(["m"]))
    );
    let no_package = rt
        .evaluate_rego("p", &module("deny := 1"), "{}", "other")
        .unwrap();
    assert_eq!(no_package, Err(RegoError::NoPackage(vec!["main".into()])));

    let huge = module(
        "deny contains \"x\" if {\n\tbig := [i | some i in numbers.range(1, 100000000)]\n\tcount(big) > 0\n}",
    );
    let e = rt.evaluate_rego("p", &huge, "{}", "main").unwrap_err();
    assert_eq!(
        e.to_string(),
        "plugin `p`: exceeded its memory limit of 32 MiB in `evaluate` and was stopped"
    );

    let endless = module(
        "deny contains \"x\" if {\n\tsome a in numbers.range(1, 100000)\n\tsome b in numbers.range(1, 100000)\n\ta + b < 0\n}",
    );
    let started = Instant::now();
    let e = rt.evaluate_rego("p", &endless, "{}", "main").unwrap_err();
    assert_eq!(
        e.to_string(),
        "plugin `p`: did not finish `evaluate` within its deadline of 1s and was stopped"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
}
