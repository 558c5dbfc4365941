//! Hostile plugins against the real `engine` binary (issue 14): ten million
//! resources, a 100 MiB string, strings that share their bytes, a chain of 100,000
//! references, names with path, shell or control characters, references outside
//! the stack or to a secret value, a stack overflow. Each is refused with a clear
//! error naming the plugin, in bounded wall time and bounded peak memory of the
//! engine process (its `ru_maxrss`, from `wait4`), and the other plugins are still
//! reported. What a plugin says reaches the terminal with its control characters
//! escaped, in the human, JSON and SARIF output alike.
//!
//! The guests are built from source: `tests/guests/hostile` (its `hostile` config
//! picks the attack), `tests/guests/misbehave`, `tests/policy-guests`. Every run
//! prints its figures (`hostile figures: ...` on stderr); see them with
//! `cargo test -p engine --test hostile -- --nocapture --test-threads 1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// tests: a failed unwrap is a failed test
// One `wait4` call, to read the child's peak memory (std has no safe way).
#![allow(unsafe_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// What any refusal may take: generous for a loaded 2-core machine, but a
/// runaway (a quadratic walk, a copy per reference) or an unbounded allocation
/// would break them.
const WALL: Duration = Duration::from_secs(30);
const PEAK_MIB: f64 = 1024.0;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository")
}

fn guest(name: &str) -> String {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| engine_build::build_for_tests(&repo().join("tests/guests")));
    dir.join(format!("{name}.wasm")).display().to_string()
}

fn policy_guest(name: &str) -> String {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir =
        DIR.get_or_init(|| engine_build::build_for_tests(&repo().join("tests/policy-guests")));
    dir.join(format!("{name}.wasm")).display().to_string()
}

/// One run of the engine, as a user sees it, with what it cost.
struct Run {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    wall: Duration,
    peak_mib: f64,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The first error line on stderr.
    fn error(&self) -> String {
        self.stderr()
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_default()
            .to_string()
    }

    /// No raw control character but the line breaks the engine writes.
    fn assert_printable(&self, case: &str) {
        for (stream, bytes) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            if let Some(b) = bytes.iter().find(|b| b.is_ascii_control() && **b != b'\n') {
                panic!(
                    "{case}: a raw control byte {b:#04x} on {stream}:\n{}",
                    String::from_utf8_lossy(bytes)
                );
            }
        }
    }

    /// Within [`WALL`] and [`PEAK_MIB`], with its figures printed.
    fn assert_bounded(&self, case: &str) {
        self.assert_within(case, WALL, PEAK_MIB);
    }

    /// Within `wall` and `peak_mib`, with its figures printed.
    fn assert_within(&self, case: &str, wall: Duration, peak_mib: f64) {
        eprintln!(
            "hostile figures: {case}: {:.2} s, peak RSS {:.0} MiB, exit {:?}: {}",
            self.wall.as_secs_f64(),
            self.peak_mib,
            self.code,
            self.error()
        );
        assert!(self.wall < wall, "{case}: took {:?}", self.wall);
        assert!(
            self.peak_mib < peak_mib,
            "{case}: peak RSS {:.0} MiB",
            self.peak_mib
        );
    }
}

/// One code cache for the runs of this process (each plugin compiles once).
fn code_cache() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// Runs `engine ARGS` in `dir` (no colour, a private code cache, no AWS) and
/// waits for it with `wait4`, which reports its peak resident memory.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which std does not see
fn engine(dir: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_engine"))
        .args(args)
        .current_dir(dir)
        .env("ENGINE_CACHE_DIR", code_cache())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("AWS_REGION")
        .env_remove("ENGINE_LOG")
        .env_remove("ENGINE_STATE")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs engine");
    let started = Instant::now();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).expect("reads");
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in; `pid` is our child,
    // not yet waited for (std's `Child` is never waited on after this).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let wall = started.elapsed();
    Run {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout: out.join().expect("stdout"),
        stderr: err.join().expect("stderr"),
        wall,
        // Linux reports KiB.
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
    }
}

/// A working directory with `engine.toml` holding `limits` (and the zones
/// pinned, so that `plan` asks AWS nothing).
fn stack(limits: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("engine.toml"),
        format!(
            "[stack]\nname = \"hostile\"\n[config]\navailability-zones = \"us-east-1a,us-east-1b\"\n\
             [limits]\n{limits}"
        ),
    )
    .unwrap();
    dir
}

/// `engine plan` of the hostile plugin with `config` (`key=value`) under `limits`.
fn plan_hostile(limits: &str, config: &[&str]) -> Run {
    let dir = stack(limits);
    let mut args = vec!["plan"];
    for c in config {
        args.extend(["--config", c]);
    }
    let plugin = guest("hostile");
    args.push(&plugin);
    engine(dir.path(), &args)
}

/// Each attack, refused: the exit code, the error naming the plugin (and the
/// resource and field where there is one), the hint naming the setting that
/// raises the limit, within the bounds.
#[test]
fn each_attack_is_refused_clearly_in_bounded_time_and_memory() {
    // (case, [limits], --config values, what stderr must say)
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "ten million resources",
            "",
            &["hostile=many"],
            &[
                "error: exceeded its memory limit of 256 MiB in `declare` and was stopped\n  --> plugin `hostile`\n  hint: raise memory-mb under [limits] (every plugin) or [limits.hostile] (this plugin) in engine.toml",
            ],
        ),
        (
            "a 100 MiB string",
            "",
            &["hostile=huge-string"],
            &[
                "bytes from `declare`, more than the limit of 67108864 bytes\n  --> plugin `hostile`\n  hint: raise answer-mb under [limits] (every plugin) or [limits.hostile] (this plugin) in engine.toml",
            ],
        ),
        (
            "a 100 MiB string, [limits.hostile] memory-mb = 64",
            "[limits.hostile]\nmemory-mb = 64\n",
            &["hostile=huge-string"],
            &["error: exceeded its memory limit of 64 MiB in `declare`"],
        ),
        (
            "1 GiB of strings sharing 16 MiB",
            "",
            &["hostile=alias-strings"],
            &[
                "error: returned an answer from `declare` too large to read: more than 512 MiB of strings and lists, so the engine stopped copying it\n  --> plugin `hostile`\n  hint: raise answer-mb under [limits]",
            ],
        ),
        (
            "a chain of 100,000 references, memory-mb = 64",
            "memory-mb = 64\n",
            &["hostile=chain"],
            &["error: exceeded its memory limit of 64 MiB in `declare`"],
        ),
        (
            "a chain of 100,000 references, [limits.hostile] answer-mb = 4",
            "[limits.hostile]\nanswer-mb = 4\n",
            &["hostile=chain"],
            &[
                "--> plugin `hostile`\n  hint: raise answer-mb under [limits] (every plugin) or [limits.hostile] (this plugin) in engine.toml",
            ],
        ),
        (
            "a cycle of 100,000 references",
            "",
            &["hostile=chain-cycle"],
            &[
                "error: dependency cycle\n  --> plugin `hostile`, resource `hostile/r0`\n  hostile/r0 -> hostile/r99999 -> hostile/r99998 -> hostile/r99997 -> hostile/r99996 -> hostile/r99995 -> ... (99989 more) ... -> hostile/r5 -> hostile/r4 -> hostile/r3 -> hostile/r2 -> hostile/r1 -> hostile/r0\n",
            ],
        ),
        (
            "a path, newline and ESC in a name",
            "",
            &["hostile=name"],
            &[
                "error: returned an invalid answer: resource name `../../etc/passwd\\n\\x1b[31m` is not valid: use lowercase letters, digits and `-`, starting with a letter\n  --> plugin `hostile`\n",
            ],
        ),
        (
            "a shell command in a name",
            "",
            &["hostile=name", "name=$(rm -rf /)"],
            &["resource name `$(rm -rf /)` is not valid"],
        ),
        (
            "shell operators in a name",
            "",
            &["hostile=name", "name=a;b|c"],
            &["resource name `a;b|c` is not valid"],
        ),
        (
            "a path as a reference",
            "",
            &["hostile=ref-path"],
            &[
                "bad reference `../../etc/passwd.id`: `..` is not a valid name",
                "--> plugin `hostile`, resource `hostile/gw`",
            ],
        ),
        (
            "references outside the stack",
            "",
            &["hostile=outside"],
            &[
                "error: reference to a missing resource `elsewhere/vpc`\n  --> plugin `hostile`, resource `hostile/gw`, field `vpc-id`",
                "error: `depends-on` names a missing resource `elsewhere/queue`\n  --> plugin `hostile`, resource `hostile/gw`, field `depends-on`",
            ],
        ),
        (
            "the secret's password as a field and an output",
            "",
            &["hostile=secret-password"],
            &[
                "error: `hostile/db-credentials` has no attribute `password`\n  --> plugin `hostile`, resource `hostile/alerts`, field `kms-key-id`\n  A secret exposes: arn, name, username. Its password is never exposed",
                "--> plugin `hostile`, field `output `password``",
            ],
        ),
        (
            "a secret outside the stack",
            "",
            &["hostile=secret-outside"],
            &[
                "error: returned an invalid answer: `master-password` reads a secret outside the stack: its `secret-id` is the literal `arn:aws:secretsmanager:us-east-1:123456789012:secret:prod-root`",
                "--> plugin `hostile`, resource `hostile/db`",
            ],
        ),
        (
            "a key the secret does not hold",
            "",
            &["hostile=secret-key"],
            &[
                "error: a secret holds no key `arn`\n  --> plugin `hostile`, resource `hostile/db`, field `master-password`",
            ],
        ),
        (
            "a stack overflow",
            "",
            &["hostile=overflow"],
            &[
                "error: overflowed its stack in `declare` (unbounded or too deep recursion) and was stopped\n  --> plugin `hostile`\n  hint: look for unbounded recursion in the plugin; its wasm backtrace is in the debug log (-vv)\n",
            ],
        ),
        (
            "a stack overflow (wasm's call stack)",
            "",
            &["hostile=overflow-native"],
            &["error: overflowed its stack in `declare`"],
        ),
    ];
    let mut failed = Vec::new();
    for (case, limits, config, says) in cases {
        let run = plan_hostile(limits, config);
        let stderr = run.stderr();
        run.assert_bounded(case);
        run.assert_printable(case);
        if run.code != Some(1) {
            failed.push(format!("{case}: exit {:?}\n{stderr}", run.code));
        }
        for s in *says {
            if !stderr.contains(s) {
                failed.push(format!("{case}: stderr lacks {s:?}:\n{stderr}"));
            }
        }
        if stderr.contains("wasm backtrace:") || stderr.contains("wasm function") {
            failed.push(format!("{case}: a backtrace reached the user:\n{stderr}"));
        }
        if !run.stdout.is_empty() {
            failed.push(format!("{case}: a plan on stdout:\n{}", run.stdout()));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// A chain of 100,000 references is no attack: with the default limits it plans,
/// in bounded time. (Planning 100,000 resources takes about 900 MiB in a debug
/// build, hence a bound of its own; `just bench` measures the release build.)
#[test]
fn a_chain_of_100_000_references_plans_with_the_default_limits() {
    let run = plan_hostile("", &["hostile=chain"]);
    run.assert_within(
        "a chain of 100,000 references, planned",
        Duration::from_secs(60),
        2048.0,
    );
    assert_eq!(run.code, Some(0), "{}", run.stderr());
    let stdout = run.stdout();
    assert!(
        stdout.contains("Plan: 100000 to create, 0 to update, 0 to replace, 0 to delete."),
        "{}",
        &stdout[stdout.len().saturating_sub(500)..]
    );
}

/// One hostile plugin among others: every plugin's problem is still reported,
/// and the count says how many failed.
#[test]
fn the_other_plugins_are_still_reported() {
    for attack in [
        "many",
        "alias-strings",
        "overflow",
        "name",
        "secret-outside",
    ] {
        let dir = stack("");
        let (hostile, misbehave) = (guest("hostile"), guest("misbehave"));
        let config = format!("hostile={attack}");
        let run = engine(
            dir.path(),
            &[
                "plan",
                "--config",
                &config,
                "--config",
                "mode=panic",
                &hostile,
                &misbehave,
            ],
        );
        run.assert_bounded(&format!("{attack}, beside a panicking plugin"));
        run.assert_printable(attack);
        let stderr = run.stderr();
        assert_eq!(run.code, Some(1), "{attack}: {stderr}");
        assert!(
            stderr.contains("--> plugin `hostile`"),
            "{attack}: {stderr}"
        );
        assert!(
            stderr.contains("panicked in `declare` at misbehave/src/lib.rs:")
                && stderr.contains(
                    "the configured CIDR block `10.0.0.0/99` is not valid\n  --> plugin `misbehave`"
                ),
            "{attack}: {stderr}"
        );
        assert!(
            stderr.contains("error: 2 of 2 plugins failed; no plan was made"),
            "{attack}: {stderr}"
        );

        // Beside a good plugin: its declaration counts, the hostile one fails.
        let run = engine(
            dir.path(),
            &[
                "validate", "--json", "--config", &config, "--config", "mode=ok", &hostile,
                &misbehave,
            ],
        );
        let report: Value = serde_json::from_slice(&run.stdout).expect("JSON");
        assert_eq!(report["valid"], false, "{attack}");
        let loaded: Vec<&str> = report["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(loaded, ["misbehave"], "{attack}");
        assert!(
            report["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|d| d["plugin"] == "hostile"),
            "{attack}: {report:#}"
        );
    }
}

/// The name a new user tried, `../../etc/passwd\n\x1b[31m`, and the other places
/// a plugin's text reaches people: its error, its panic, its log, an AWS name, an
/// attribute, an output name, a policy's violation. No raw ESC or line break of
/// theirs in human output. A diagnostic is text for people in JSON too (the
/// plugin's text escaped where quoted); a violation is data, which JSON and SARIF
/// carry as it is, escaped by serde (`\u001b`).
#[test]
fn control_characters_are_escaped_in_human_json_and_sarif_output() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "name",
            &[],
            "resource name `../../etc/passwd\\n\\x1b[31m` is not valid",
        ),
        (
            "message",
            &[],
            "error: \\x1b[31mconfig is fine\\nerror: a line the engine never wrote\\x1b[0m\n",
        ),
        ("panic", &[], ": \\x1b[31mred panic\\nsecond line\\x1b[0m\n"),
        (
            "log",
            &["-v"],
            "\\x1b[31ma warning\\nerror: a line the engine never wrote",
        ),
        (
            "aws-name",
            &[],
            "both set `name` to `orders\\x1b[31m`; AWS allows one.",
        ),
        ("attr", &[], "has no attribute `id\\x1b[31m\\nx`"),
        (
            "output-name",
            &[],
            "output name `id\\x1b[31m\\n` is not valid",
        ),
    ];
    let hostile = guest("hostile");
    for (mode, flags, says) in cases {
        let dir = stack("");
        let config = format!("hostile={mode}");
        let mut args = vec!["validate"];
        args.extend_from_slice(flags);
        args.extend(["--config", &config, &hostile]);
        let run = engine(dir.path(), &args);
        run.assert_printable(mode);
        let stderr = run.stderr();
        assert!(stderr.contains(says), "{mode}: {stderr}");
        assert!(
            !stderr
                .lines()
                .any(|l| l.starts_with("error: a line the engine never wrote")),
            "{mode}: a faked line: {stderr}"
        );

        // JSON: a diagnostic is text for people in every output, the plugin's
        // text quoted in it escaped where it was written.
        let mut args = vec!["validate", "--json"];
        args.extend(["--config", &config, &hostile]);
        let run = engine(dir.path(), &args);
        run.assert_printable(mode);
        let text = run.stdout();
        let report: Value = serde_json::from_str(&text).expect("JSON");
        if *mode != "log" {
            assert_eq!(report["valid"], false, "{mode}");
            assert!(text.contains("\\\\x1b[31m"), "{mode}: {text}");
            assert!(!text.contains("\\u001b"), "{mode}: {text}");
        }
    }

    // A policy's violation: the report for people, JSON and SARIF.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("engine.toml"),
        "[stack]\nname = \"policy-hostile\"\n",
    )
    .unwrap();
    let (policy, plugin) = (policy_guest("policy-misbehave"), guest("misbehave"));
    let run = engine(dir.path(), &["check", "--policy", &policy, &plugin]);
    run.assert_bounded("a policy's violation with control characters");
    run.assert_printable("check");
    let stdout = run.stdout();
    assert_eq!(run.code, Some(1), "{stdout}{}", run.stderr());
    assert!(
        stdout.contains(
            "  mandatory: rule\\x1b[31m (misbehaving-policy)\n    \\x1b[2Jscreen cleared\n    \
             second line\\r\\x1b[32mPassed: all good\\x1b[0m\n    \
             hint: run \\x1b]8;;http://evil\\x07this\\x1b]8;;\\x07\\nnow\n"
        ),
        "{stdout}"
    );
    for format in ["--json", "--sarif"] {
        let run = engine(dir.path(), &["check", format, "--policy", &policy, &plugin]);
        run.assert_printable(format);
        let text = run.stdout();
        assert!(
            text.contains("\\u001b[2Jscreen cleared\\n"),
            "{format}: {text}"
        );
        let v: Value = serde_json::from_str(&text).expect("JSON");
        let message = match format {
            "--json" => v["violations"][0]["message"].as_str().unwrap().to_string(),
            _ => v["runs"][0]["results"][0]["message"]["text"]
                .as_str()
                .unwrap()
                .to_string(),
        };
        assert!(
            message.starts_with("\x1b[2Jscreen cleared\nsecond line\r"),
            "{format}: the data is the plugin's own: {message:?}"
        );
    }
}
