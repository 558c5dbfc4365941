//! The authoring kit, end to end: `engine new` scaffolds a component and a policy
//! plugin, `engine build` builds and checks them, and `engine plan` / `engine check`
//! use them beside the JapanCart plugins; the scaffolds' own unit tests pass with
//! plain `cargo test`. Also: docs/authoring.md's WIT reference matches the WIT and
//! the host schema, and the SDK shows an example of every kind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

#[path = "../common/mod.rs"]
mod common;
mod languages;
mod reference;
mod tutorial;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use engine_core::Kind;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository")
}

/// Runs `engine` in `dir` with a private code cache and no colour.
fn engine(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(args)
        .current_dir(dir)
        .env("ENGINE_CACHE_DIR", dir.join(".cache"))
        .env("NO_COLOR", "1")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("ENGINE_LOG")
        .env_remove("ENGINE_STATE")
        // No test here may reach AWS, or look for credentials off this machine.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("runs engine")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts that `out` exited with `code`, showing both streams when not.
#[track_caller]
fn expect(out: &Output, code: i32) -> (String, String) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    (stdout, stderr)
}

/// `cargo test` in a scaffolded crate, on the host, as its author would run it
/// (without the environment of the cargo that runs this test).
fn cargo_test(dir: &Path) -> Output {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if (k.starts_with("CARGO_") && k != "CARGO_HOME")
            || matches!(
                k.as_str(),
                "RUSTC" | "RUSTDOC" | "RUSTFLAGS" | "RUSTC_WRAPPER" | "RUSTC_BOOTSTRAP"
            )
        {
            cmd.env_remove(&k);
        }
    }
    // One target dir for both scaffolds, kept between runs.
    cmd.env(
        "CARGO_TARGET_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("authoring-host"),
    );
    cmd.arg("test")
        .current_dir(dir)
        .output()
        .expect("runs cargo")
}

/// The JapanCart components, sorted (as the shell expands `plugins/*.wasm`).
fn japancart() -> Vec<String> {
    let mut wasm = common::japancart();
    wasm.sort();
    wasm
}

#[test]
fn scaffolded_plugins_build_plan_and_check_with_the_japancart_plugins() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    std::fs::write(
        dir.join("engine.toml"),
        "[stack]\nname = \"demo\"\nregion = \"us-east-1\"\nenvironment = \"dev\"\n",
    )
    .expect("engine.toml");

    // Scaffold. The component finds the SDK of the checkout this engine was built
    // from; the policy names it explicitly.
    let (_, stderr) = expect(&engine(dir, &["new", "component", "demo-comp"]), 0);
    assert!(
        stderr.contains("Created component plugin `demo-comp` in demo-comp"),
        "{stderr}"
    );
    assert!(stderr.contains("engine build demo-comp"), "{stderr}");
    let sdk = repo().join("plugins/sdk");
    let sdk = sdk.to_str().expect("utf-8 path");
    expect(
        &engine(dir, &["new", "policy", "demo-policy", "--sdk", sdk]),
        0,
    );
    for crate_dir in ["demo-comp", "demo-policy"] {
        for file in ["Cargo.toml", ".gitignore", "README.md", "src/lib.rs"] {
            assert!(
                dir.join(crate_dir).join(file).is_file(),
                "{crate_dir}/{file}"
            );
        }
        let manifest = std::fs::read_to_string(dir.join(crate_dir).join("Cargo.toml")).unwrap();
        assert!(
            manifest.contains(&format!("engine-sdk = {{ path = \"{sdk}\" }}")),
            "{manifest}"
        );
    }

    // Build both while the JapanCart plugins build: the component, then the
    // policy, which finds the standard library, the SDK and its dependencies
    // compiled in the build directory that every scaffolded crate shares.
    let timed = |crate_dir: &str| {
        let start = std::time::Instant::now();
        let out = engine(dir, &["build", crate_dir]);
        (out, start.elapsed())
    };
    let ((comp, first), (policy, second), japancart) = std::thread::scope(|s| {
        let japancart = s.spawn(japancart);
        let comp = timed("demo-comp");
        let policy = timed("demo-policy");
        (comp, policy, japancart.join().expect("build thread"))
    });
    println!(
        "engine build: the first scaffolded plugin in {:.1} s, the second in {:.1} s",
        first.as_secs_f64(),
        second.as_secs_f64()
    );
    // The second compiled only its own crate. (How long that takes depends on the
    // machine's load, so the time is printed above, not asserted.)
    let compiled: Vec<String> = text(&policy.stderr)
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling "))
        .map(str::to_string)
        .collect();
    assert!(
        compiled.len() == 1 && compiled[0].contains("Compiling demo-policy v"),
        "the second scaffolded plugin compiled more than its own crate: {compiled:?}"
    );
    let (stdout, stderr) = expect(&comp, 0);
    assert!(
        stdout.starts_with("demo-comp/demo-comp.wasm\t")
            && stdout
                .trim_end()
                .ends_with("KiB\tcomponent plugin demo-comp 0.1.0\tengine:plugin@0.4.0"),
        "{stdout}"
    );
    assert!(
        stderr.contains(
            "Built 1 plugin: each loads in this engine (it speaks engine:plugin 0.4.0, 0.3.0, 0.2.0, 0.1.0)."
        ),
        "{stderr}"
    );
    let (stdout, _) = expect(&policy, 0);
    assert!(
        stdout
            .trim_end()
            .ends_with("\tpolicy plugin demo-policy 0.1.0\tengine:plugin@0.4.0"),
        "{stdout}"
    );
    let comp = "demo-comp/demo-comp.wasm";
    let policy = "demo-policy/demo-policy.wasm";

    // Plan the new component alone, then with the JapanCart stack (40 resources).
    let (stdout, _) = expect(&engine(dir, &["plan", comp]), 0);
    assert!(
        stdout.contains("Plan: 3 to create, 0 to update, 0 to replace, 0 to delete."),
        "{stdout}"
    );
    let mut args = vec!["plan", comp];
    args.extend(japancart.iter().map(String::as_str));
    let (stdout, _) = expect(&engine(dir, &args), 0);
    for line in [
        "# demo-comp/key will be created",
        "# demo-comp/key-alias will be created",
        "# demo-comp/topic will be created",
        "+ sns-topic \"demo-comp/topic\" {",
        "+ name       = \"demo-comp-dev\"",
        "# monitoring/alarms will be created",
        "Plan: 56 to create, 0 to update, 0 to replace, 0 to delete.",
    ] {
        assert!(stdout.contains(line), "no `{line}` in:\n{stdout}");
    }
    // Config reaches the new plugin, and its errors name the key.
    let (_, stderr) = expect(
        &engine(dir, &["plan", "-c", "demo-comp-key-deletion-days=3", comp]),
        1,
    );
    assert!(
        stderr.contains("config `demo-comp-key-deletion-days` = `3`: must be 7 to 30"),
        "{stderr}"
    );

    // Check: every topic is encrypted, so the policy passes...
    let mut args = vec!["check", "--policy", policy, comp];
    args.extend(japancart.iter().map(String::as_str));
    let (stdout, stderr) = expect(&engine(dir, &args), 0);
    assert!(!stderr.contains("encryption-at-rest"), "{stdout}\n{stderr}");
    // ...until the alarm topic is left unencrypted: a mandatory violation.
    args.extend(["--config", "alarm-topic-kms-key=none"]);
    let (stdout, stderr) = expect(&engine(dir, &args), 1);
    let all = format!("{stdout}{stderr}");
    assert!(all.contains("encryption-at-rest"), "{all}");
    assert!(all.contains("monitoring/alarms"), "{all}");
    assert!(
        all.contains("SNS topic `japancart-alarms-dev` is not encrypted at rest."),
        "{all}"
    );
    assert!(!all.contains("demo-comp/topic"), "{all}");

    // The scaffolds' own unit tests pass on the host.
    for crate_dir in ["demo-comp", "demo-policy"] {
        let out = cargo_test(&dir.join(crate_dir));
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{crate_dir}: cargo test failed:\n{stdout}\n{}",
            text(&out.stderr)
        );
        assert!(stdout.contains("test result: ok."), "{stdout}");
    }
}

#[test]
fn new_refuses_bad_names_and_existing_directories() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    for bad in ["Demo", "demo_comp", "1demo", "demo-", "std", "engine-sdk"] {
        let (_, stderr) = expect(&engine(dir, &["new", "component", bad]), 1);
        assert!(
            stderr.contains(&format!("error: `{bad}` cannot name a plugin: ")),
            "{stderr}"
        );
        assert!(!dir.join(bad).exists(), "{bad} was created");
    }

    std::fs::create_dir(dir.join("taken")).expect("mkdir");
    std::fs::write(dir.join("taken/keep.txt"), "mine").expect("write");
    let (_, stderr) = expect(&engine(dir, &["new", "policy", "taken"]), 1);
    assert!(stderr.contains("error: taken already exists"), "{stderr}");
    assert!(stderr.contains("hint: choose another name"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("taken/keep.txt")).expect("kept"),
        "mine"
    );
    let (_, stderr) = expect(
        &engine(dir, &["new", "policy", "other", "--dir", "taken"]),
        1,
    );
    assert!(stderr.contains("error: taken already exists"), "{stderr}");

    let (_, stderr) = expect(
        &engine(dir, &["new", "component", "ok", "--sdk", "nowhere"]),
        1,
    );
    assert!(
        stderr.contains("error: nowhere is not the engine-sdk crate"),
        "{stderr}"
    );
    assert!(!dir.join("ok").exists());

    // --dir may name a nested place; the crate keeps its name.
    expect(
        &engine(
            dir,
            &["new", "component", "nested", "--dir", "a/b/nested-crate"],
        ),
        0,
    );
    let manifest = std::fs::read_to_string(dir.join("a/b/nested-crate/Cargo.toml")).unwrap();
    assert!(manifest.contains("name = \"nested\""), "{manifest}");
}

#[test]
fn build_explains_a_path_that_is_not_a_crate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let (_, stderr) = expect(&engine(dir, &["build", "nowhere"]), 1);
    assert!(
        stderr.contains("error: nowhere is not a directory"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: `engine build DIR`"), "{stderr}");
    std::fs::create_dir(dir.join("empty")).expect("mkdir");
    let (_, stderr) = expect(&engine(dir, &["build", "empty"]), 1);
    assert!(
        stderr.contains("error: empty has no Cargo.toml"),
        "{stderr}"
    );
}

fn authoring_md() -> String {
    std::fs::read_to_string(repo().join("docs/authoring.md")).expect("docs/authoring.md")
}

/// The generated part of docs/authoring.md is what the WIT and the schema say now.
/// `ENGINE_BLESS=1` rewrites it.
#[test]
fn the_wit_reference_in_the_docs_is_current() {
    let wit = reference::Wit::load(&repo().join("wit"));
    let generated = wit.markdown();
    let doc = authoring_md();
    let (Some(start), Some(end)) = (doc.find(reference::BEGIN), doc.find(reference::END)) else {
        panic!("docs/authoring.md lacks the generated-reference markers");
    };
    let current = &doc[start + reference::BEGIN.len()..end];
    let wanted = format!("\n{generated}");
    if current != wanted {
        if std::env::var_os("ENGINE_BLESS").is_some() {
            let updated = format!(
                "{}{wanted}{}",
                &doc[..start + reference::BEGIN.len()],
                &doc[end..]
            );
            std::fs::write(repo().join("docs/authoring.md"), updated).expect("write the docs");
        } else {
            panic!(
                "docs/authoring.md's WIT reference is stale: run \
                 `ENGINE_BLESS=1 cargo test -p engine --test authoring` and commit the result"
            );
        }
    }
}

/// Belt and braces, independent of the generator: every kind and attribute is in
/// the docs, and the WIT's own "Attributes:" notes agree with the host schema.
#[test]
fn the_docs_list_every_kind_and_attribute_and_the_wit_agrees_with_the_schema() {
    let doc = authoring_md();
    let wit = reference::Wit::load(&repo().join("wit"));
    for kind in Kind::ALL {
        let heading = format!("\n### `{kind}`\n");
        let at = doc
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/authoring.md has no section {heading:?}"));
        let section = &doc[at..];
        let section = &section[..section[1..].find("\n### ").map_or(section.len(), |e| e + 1)];
        let attributes: Vec<&str> = kind.attribute_names();
        for a in &attributes {
            assert!(
                section.contains(&format!("`{a}` (")),
                "docs/authoring.md does not list attribute `{a}` of `{kind}`"
            );
        }
        assert_eq!(
            wit.documented_attributes(kind.as_str()),
            attributes,
            "wit/engine.wit documents other attributes for `{kind}` than host/core/src/schema.rs has"
        );
    }
}

/// The SDK's `kinds` module has an example of every kind, with its attributes.
#[test]
fn the_sdk_docs_show_every_kind() {
    let kinds = std::fs::read_to_string(repo().join("plugins/sdk/src/kinds.rs")).expect("kinds.rs");
    for kind in Kind::ALL {
        let heading = format!("//! ## `{kind}`: [`{}`]", reference::camel(kind.as_str()));
        let at = kinds
            .find(&heading)
            .unwrap_or_else(|| panic!("plugins/sdk/src/kinds.rs has no section for `{kind}`"));
        let section = &kinds[at + heading.len()..];
        let section = &section[..section.find("//! ## ").unwrap_or(section.len())];
        let attrs = section
            .split_once("Attributes:")
            .and_then(|(_, rest)| rest.split_once("Replaces:"))
            .map(|(attrs, _)| attrs)
            .unwrap_or_else(|| panic!("no `Attributes: ... Replaces:` for `{kind}`"));
        for a in kind.attribute_names() {
            assert!(
                attrs.contains(&format!("`{a}`")),
                "`{kind}`: no `{a}` in {attrs}"
            );
        }
        assert!(
            section.contains(&format!("{} {{", reference::camel(kind.as_str()))),
            "plugins/sdk/src/kinds.rs has no example of `{kind}`"
        );
    }
}
