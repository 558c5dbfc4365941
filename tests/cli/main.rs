//! End-to-end tests of the `engine` binary: real plugins (built from source in
//! tests/guests), a temporary working directory, stdout and stderr as a user sees them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

#[path = "../common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        engine_build::build_for_tests(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/guests"),
        )
    })
}

fn guest(name: &str) -> String {
    guests().join(format!("{name}.wasm")).display().to_string()
}

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
        .env_remove("AWS_REGION")
        .env_remove("ENGINE_LOG")
        .env_remove("ENGINE_STACK")
        .env_remove("ENGINE_STATE")
        // No test here may reach AWS, or look for credentials off this machine.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env.iter().copied())
        .output()
        .expect("runs engine")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn plan_lists_the_resources_to_create_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = engine(dir.path(), &["plan", &guest("misbehave")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.contains("# misbehave/net will be created\n  + vpc \"misbehave/net\" {"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ internet-gateway \"misbehave/gw\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ vpc-id = (known after apply)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("+ cidr-block           = \"10.0.0.0/16\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("Plan: 2 to create, 0 to update, 0 to replace, 0 to delete."),
        "{stdout}"
    );
}

#[test]
fn the_stack_file_and_flags_reach_the_plugins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("engine.toml"),
        "[stack]\nname = \"shop\"\nregion = \"eu-west-1\"\nenvironment = \"prod\"\n[config]\nmode = \"panic\"\n",
    )
    .unwrap();
    let out = engine(dir.path(), &["plan", &guest("misbehave")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("panicked in `declare`"),
        "{}",
        text(&out.stderr)
    );

    let out = engine(
        dir.path(),
        &["plan", "--config", "mode=ok", &guest("misbehave")],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        stdout.starts_with("Stack shop in eu-west-1 (environment `prod`)"),
        "{stdout}"
    );
}

#[test]
fn a_failing_plugin_does_not_hide_the_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("broken.wasm"), "nope").unwrap();
    let out = engine(
        dir.path(),
        &[
            "plan",
            "--config",
            "mode=panic",
            "broken.wasm",
            &guest("misbehave"),
            &guest("policy-ok"),
        ],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty(), "no plan on stdout");
    assert!(
        stderr.contains("error: broken.wasm is not a WebAssembly file\n  --> plugin `broken.wasm`"),
        "{stderr}"
    );
    assert!(stderr.contains("--> plugin `misbehave`"), "{stderr}");
    assert!(stderr.contains("panicked in `declare` at "), "{stderr}");
    assert!(
        stderr.contains("is a policy plugin, but a component plugin was expected here"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: pass policy plugins with `--policy`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("3 of 3 plugins failed; no plan was made"),
        "{stderr}"
    );
}

#[test]
fn validate_reports_graph_errors_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = engine(
        dir.path(),
        &[
            "validate",
            "--json",
            "-c",
            "mode=cycle",
            &guest("misbehave"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["diagnostics"][0]["summary"], "dependency cycle");
    assert_eq!(v["diagnostics"][0]["plugin"], "misbehave");
}

#[test]
fn help_teaches_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = engine(dir.path(), &["--help"]);
    let help = text(&out.stdout);
    for cmd in ["validate", "plan", "build"] {
        assert!(help.contains(&format!("  {cmd}")), "{help}");
    }
    assert!(help.contains("engine.toml"), "{help}");
    let out = engine(dir.path(), &["plan", "--help"]);
    assert!(text(&out.stdout).contains("engine plan plugins/*.wasm"));
}

#[test]
fn detailed_exitcode_and_saved_plans() {
    let dir = tempfile::tempdir().unwrap();
    let out = engine(
        dir.path(),
        &[
            "plan",
            "--detailed-exitcode",
            "--out",
            "p.json",
            &guest("misbehave"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr)
            .contains("Saved this plan to p.json. Apply exactly it with `engine apply p.json`.")
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("p.json")).unwrap()).unwrap();
    assert_eq!(saved["plan"]["changes"].as_array().unwrap().len(), 2);

    let out = engine(dir.path(), &["plan", "--json", &guest("misbehave")]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["create"], 2);
    assert_eq!(plan["has_changes"], true);
}

#[test]
fn graph_prints_dot_and_state_list_works_on_an_empty_stack() {
    let dir = tempfile::tempdir().unwrap();
    let out = engine(dir.path(), &["graph", &guest("misbehave")]);
    assert!(
        text(&out.stdout).contains("\"misbehave/gw\" -> \"misbehave/net\";"),
        "{}",
        text(&out.stdout)
    );
    let out = engine(dir.path(), &["state", "list"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let out = engine(dir.path(), &["state", "show", "vpc/main"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no resource `vpc/main` in the state"));
}

#[test]
fn a_saved_plan_is_refused_once_the_state_changed() {
    use engine_state::StateBackend as _;
    let dir = tempfile::tempdir().unwrap();
    let out = engine(
        dir.path(),
        &["plan", "--out", "p.json", &guest("misbehave")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Someone else applies meanwhile: the state moves to a new serial.
    let backend = engine_state::LocalBackend::new(dir.path().join(".engine"));
    let lock = backend
        .lock(engine_state::LockInfo::current("test"))
        .unwrap();
    let mut state = backend.read_or_empty().unwrap();
    backend.write(&lock, &mut state).unwrap();
    drop(lock);

    let out = engine(dir.path(), &["apply", "p.json"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: refusing to apply p.json"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the state changed since this plan was made"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: run `engine plan --out FILE` again"),
        "{stderr}"
    );
}

#[test]
fn apply_refuses_to_ask_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let out = engine(dir.path(), &["apply", &guest("misbehave")]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refusing to apply without confirmation"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: pass --yes to apply without asking"),
        "{stderr}"
    );
    assert!(
        !dir.path().join(".engine/state.json").exists(),
        "nothing was recorded"
    );
}

#[test]
fn a_second_writer_is_refused_with_the_holder_named() {
    use engine_state::StateBackend as _;
    let dir = tempfile::tempdir().unwrap();
    let backend = engine_state::LocalBackend::new(dir.path().join(".engine"));
    let _held = backend
        .lock(engine_state::LockInfo::current("engine apply (elsewhere)"))
        .unwrap();
    let out = engine(dir.path(), &["destroy", "--yes"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("engine apply (elsewhere)"), "{stderr}");
}

/// A state made before named stacks existed is the `default` stack's, where it
/// was, unchanged; other stacks live beside it.
#[test]
fn an_existing_state_becomes_the_default_stack_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join(".engine");
    std::fs::create_dir_all(&state_dir).unwrap();
    let old = "{\n  \"lineage\": \"b2c1\",\n  \"outputs\": {},\n  \"resources\": {},\n  \"serial\": 7,\n  \"version\": 1\n}\n";
    std::fs::write(state_dir.join("state.json"), old).unwrap();

    let ls = |dir: &Path| -> serde_json::Value {
        let out = engine(dir, &["stack", "ls", "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let list = ls(dir.path());
    assert_eq!(list[0]["name"], "default", "{list}");
    assert_eq!(list[0]["serial"], 7, "{list}");
    assert_eq!(list[0]["current"], true, "{list}");

    let out = engine(dir.path(), &["stack", "init", "dev"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list = ls(dir.path());
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "dev"], "{list}");
    assert_eq!(list[1]["current"], true, "{list}");
    assert!(dir.path().join("engine.dev.toml").is_file());
    assert!(state_dir.join("stacks/dev").is_dir());
    // Chosen per command, and refused when unknown.
    let out = engine(dir.path(), &["state", "list", "--stack", "default"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = engine(dir.path(), &["state", "list", "--stack", "qa"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no stack named `qa`"),
        "{}",
        text(&out.stderr)
    );
    // A misspelt alias is just a key; the reference's spellings map to engine's.
    let out = engine(dir.path(), &["config", "set", "aws:region", "eu-west-1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = engine(dir.path(), &["config", "get", "region"]);
    assert_eq!(text(&out.stdout).trim(), "eu-west-1");
    let out = engine(
        dir.path(),
        &["config", "get", "region", "--region", "us-west-2"],
    );
    assert_eq!(text(&out.stdout).trim(), "us-west-2", "a flag wins");

    assert_eq!(
        std::fs::read_to_string(state_dir.join("state.json")).unwrap(),
        old,
        "the old state is untouched"
    );
}

/// Shell completions and man pages come from the same definitions as `--help`.
#[test]
fn completions_and_man_pages_cover_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "_engine()"),
        ("zsh", "#compdef engine"),
        ("fish", "complete -c engine"),
    ] {
        let out = engine(dir.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["plan", "apply", "stack", "config", "completions"] {
            assert!(script.contains(command), "{shell} completes `{command}`");
        }
    }
    let out = engine(dir.path(), &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown shell");

    let out = engine(dir.path(), &["man"]);
    let page = text(&out.stdout);
    assert!(
        page.contains(".TH engine 1") && page.contains("stack"),
        "{page}"
    );
    let pages = dir.path().join("man1");
    let out = engine(dir.path(), &["man", "--out", pages.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for page in [
        "engine.1",
        "engine-plan.1",
        "engine-stack-init.1",
        "engine-config-set.1",
    ] {
        assert!(pages.join(page).is_file(), "{page}");
    }
}

/// Issue 15, acceptance 4: a misspelt key and an out-of-range value are refused
/// before any plugin declares, naming the key, the plugin and a suggestion; and
/// `config ls` lists every key the plugins read.
#[test]
fn config_is_checked_against_the_keys_plugins_list_before_they_declare() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("engine.toml"),
        "[stack]\nname = \"japancart\"\n",
    )
    .unwrap();
    let plugins = common::japancart();
    let run = |extra: &[&str]| {
        let mut args = vec!["validate"];
        args.extend(extra);
        args.extend(plugins.iter().map(String::as_str));
        // Debug logs show each plugin's `declare`.
        let out = engine_with(dir.path(), &args, &[("ENGINE_LOG", "engine=debug")]);
        (out.status.code(), text(&out.stderr))
    };

    // Every plugin declares when the config is right.
    let (code, stderr) = run(&["-c", "vpc-cidr=10.1.0.0/16"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stderr.matches("declared").count(), 6, "{stderr}");

    let (code, stderr) = run(&["-c", "vpc-cidrr=10.1.0.0/16"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("unknown config key `vpc-cidrr`")
            && stderr.contains("did you mean `vpc-cidr` (plugin `vpc`)?"),
        "{stderr}"
    );
    assert!(!stderr.contains("declared"), "no plugin declared: {stderr}");

    let (code, stderr) = run(&["-c", "kinesis-shard-count=0"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("config `kinesis-shard-count` = `0`: must be 1 to 500")
            && stderr.contains("kinesis")
            && stderr.contains("default `1`"),
        "{stderr}"
    );
    assert!(!stderr.contains("declared"), "no plugin declared: {stderr}");

    // config ls: engine's keys, every plugin key with its default and
    // description, and where each value came from.
    let mut args = vec!["config", "ls", "-c", "redis-num-nodes=3"];
    args.extend(plugins.iter().map(String::as_str));
    let out = engine(dir.path(), &args);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let row = |key: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("{key} in:\n{stdout}"))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        row("redis-num-nodes"),
        "redis-num-nodes 3 flag elasticache,monitoring"
    );
    assert_eq!(
        row("kinesis-shard-count"),
        "kinesis-shard-count 1 default kinesis"
    );
    assert!(
        row("region").starts_with("region us-east-1 default engine"),
        "{stdout}"
    );
    assert!(
        stdout.contains("integer 1 to 500, default `1`: "),
        "{stdout}"
    );

    let mut args = vec!["config", "ls", "--json"];
    args.extend(plugins.iter().map(String::as_str));
    let out = engine(dir.path(), &args);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let keys = doc["config"].as_array().unwrap();
    let listed = keys.iter().filter(|k| k["plugins"][0] != "engine").count();
    assert!(listed >= 30, "every plugin key is listed: {doc}");
    for k in keys.iter().filter(|k| k["plugins"][0] != "engine") {
        assert!(
            !k["description"].as_str().unwrap_or_default().is_empty(),
            "{k}"
        );
    }
}
