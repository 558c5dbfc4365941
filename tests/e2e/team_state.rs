//! A team's state on S3 (issue 16), with the real `engine` binary against the
//! emulator's S3, checked through the AWS SDK:
//!
//! - two applies started together on one S3 stack: exactly one proceeds, the other
//!   names the holder; with `--lock-timeout` the second waits, then proceeds; the
//!   serial counts every write (one object version per serial);
//! - a lock left by a killed apply is reported with its details and cleared with
//!   `engine state unlock LOCK_ID`;
//! - a state object changed behind the engine's back between its read and its
//!   write is refused, and nothing is overwritten;
//! - `state migrate` local -> S3 -> local keeps the resources, outputs, lineage and
//!   serial exactly; `state history` and `state rollback`.
//!
//! The stacks are the `vpc` and `kinesis` plugins of JapanCart (25 resources), so
//! that each case runs in seconds. moto's S3 evaluates conditional writes as AWS
//! documents them, made atomic by `tests/moto/launcher.py` (patch 13):
//! <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>.

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use engine_aws::moto::{MotoServer, Profile};
use serde_json::Value;

use super::{Stack, text};

const PROJECT: &str = r#"[stack]
name = "japancart"
region = "us-east-1"
"#;

const BUCKET: &str = "team-state";

/// A stack `dev` of the `vpc` and `kinesis` plugins whose state is in
/// `s3://team-state/japancart` (versioned), set with `engine config set state`.
fn team_stack(moto: MotoServer, plugins: &[&str]) -> Stack {
    let mut stack = Stack::japancart(moto, PROJECT);
    stack.plugins.retain(|p| {
        plugins
            .iter()
            .any(|name| p.ends_with(&format!("/{name}.wasm")))
    });
    assert_eq!(stack.plugins.len(), plugins.len(), "{:?}", stack.plugins);
    s3(&stack, |s3| async move {
        s3.create_bucket().bucket(BUCKET).send().await.unwrap();
        s3.put_bucket_versioning()
            .bucket(BUCKET)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    stack.bare(&["stack", "init", "dev"], 0);
    stack
}

/// Runs `f` with an S3 client of the stack's emulator.
fn s3<F, Fut, T>(stack: &Stack, f: F) -> T
where
    F: FnOnce(aws_sdk_s3::Client) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sdk = stack.moto.sdk_config().await;
        let client = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        f(client).await
    })
}

/// The object's body, if it exists.
fn object(stack: &Stack, key: &str) -> Option<String> {
    let key = key.to_string();
    s3(stack, |c| async move {
        let out = c.get_object().bucket(BUCKET).key(key).send().await.ok()?;
        let bytes = out.body.collect().await.ok()?.into_bytes();
        Some(String::from_utf8(bytes.to_vec()).unwrap())
    })
}

/// How many versions of the object S3 keeps.
fn versions(stack: &Stack, key: &str) -> usize {
    let key = key.to_string();
    s3(stack, |c| async move {
        let out = c
            .list_object_versions()
            .bucket(BUCKET)
            .prefix(&key)
            .send()
            .await
            .unwrap();
        out.versions()
            .iter()
            .filter(|v| v.key() == Some(key.as_str()))
            .count()
    })
}

/// The stored state's serial (from the S3 object itself).
fn serial(stack: &Stack) -> u64 {
    let body = object(stack, "japancart/dev/state.json").expect("a state in S3");
    serde_json::from_str::<Value>(&body).unwrap()["serial"]
        .as_u64()
        .unwrap()
}

/// `engine ARGS PLUGINS` started now, with its output captured.
fn start(stack: &Stack, args: &[&str]) -> std::process::Child {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(stack.plugins.iter().map(String::as_str));
    stack
        .command(&all)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs engine")
}

fn finish(child: std::process::Child) -> Output {
    child.wait_with_output().expect("waits for engine")
}

fn resources(stack: &Stack) -> Vec<String> {
    let (stdout, _) = stack.bare(&["state", "list"], 0);
    stdout.lines().map(str::to_string).collect()
}

/// The history's serials, newest first, and each one's command.
fn history(stack: &Stack) -> Vec<(u64, String)> {
    let (stdout, _) = stack.bare(&["state", "history", "--json"], 0);
    let list: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    list.iter()
        .map(|v| {
            (
                v["serial"].as_u64().unwrap(),
                v["command"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Acceptance 2.
#[test]
fn two_applies_at_once_one_proceeds_and_no_write_is_lost() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let stack = team_stack(moto, &["vpc", "kinesis"]);
    stack.bare(
        &[
            "config",
            "set",
            "state",
            &format!("s3://{BUCKET}/japancart"),
        ],
        0,
    );

    // Without --lock-timeout: one proceeds, the other is refused at once, naming
    // the holder, and writes nothing.
    let (a, b) = (
        start(&stack, &["apply", "--yes"]),
        start(&stack, &["apply", "--yes"]),
    );
    let (a, b) = (finish(a), finish(b));
    let (won, lost) = match (a.status.code(), b.status.code()) {
        (Some(0), Some(1)) => (a, b),
        (Some(1), Some(0)) => (b, a),
        other => panic!(
            "exactly one apply must proceed: {other:?}\nA:\n{}\nB:\n{}",
            text(&a.stderr),
            text(&b.stderr)
        ),
    };
    let refused = text(&lost.stderr);
    assert!(
        text(&won.stderr).contains("Apply complete"),
        "{}",
        text(&won.stderr)
    );
    assert!(
        refused.contains(&format!(
            "the state at s3://{BUCKET}/japancart/dev is locked by"
        )) && refused.contains("running `engine apply`")
            && refused.contains("lock id ")
            && refused.contains("--lock-timeout"),
        "{refused}"
    );
    assert!(
        !refused.contains("created"),
        "the refused one did nothing: {refused}"
    );
    let all = resources(&stack);
    assert_eq!(all.len(), 25, "{all:?}");
    let after_first = serial(&stack);
    assert_eq!(
        versions(&stack, "japancart/dev/state.json") as u64,
        after_first,
        "one version per serial: every write built on the one before"
    );
    assert!(
        object(&stack, "japancart/dev/state.lock").is_none(),
        "released"
    );

    // With --lock-timeout: the second waits for the first, then plans from the
    // state the first left (so it has nothing left to do), and proceeds.
    let args = [
        "apply",
        "--yes",
        "--lock-timeout",
        "2m",
        "-c",
        "kinesis-retention-hours=48",
    ];
    let (a, b) = (start(&stack, &args), start(&stack, &args));
    let (a, b) = (finish(a), finish(b));
    let (ea, eb) = (text(&a.stderr), text(&b.stderr));
    assert_eq!(
        (a.status.code(), b.status.code()),
        (Some(0), Some(0)),
        "both proceed:\nA:\n{ea}\nB:\n{eb}"
    );
    let waited: Vec<&String> = [&ea, &eb]
        .into_iter()
        .filter(|e| e.contains("waiting up to 2m for it (--lock-timeout)"))
        .collect();
    assert_eq!(waited.len(), 1, "exactly one waited:\nA:\n{ea}\nB:\n{eb}");
    assert!(
        waited[0].contains("is locked by") && waited[0].contains("running `engine apply`"),
        "the waiting one named the holder: {}",
        waited[0]
    );
    let updated = [&ea, &eb]
        .into_iter()
        .filter(|e| e.contains("1 updated"))
        .count();
    assert_eq!(updated, 1, "the update was made once:\nA:\n{ea}\nB:\n{eb}");

    let all_after = resources(&stack);
    assert_eq!(all_after, all, "every resource is in the final state");
    let last = serial(&stack);
    assert!(last > after_first);
    assert_eq!(
        versions(&stack, "japancart/dev/state.json") as u64,
        last,
        "the serial counts every write"
    );
    let serials: Vec<u64> = history(&stack).iter().map(|(s, _)| *s).collect();
    assert_eq!(
        serials,
        (1..=last).rev().collect::<Vec<_>>(),
        "no gap, no repeat"
    );
    let (stdout, _) = stack.run(
        &[
            "plan",
            "--detailed-exitcode",
            "-c",
            "kinesis-retention-hours=48",
        ],
        0,
    );
    assert!(stdout.contains("No changes."), "{stdout}");
}

/// Acceptance 3.
#[test]
fn a_lock_left_by_a_killed_apply_is_reported_and_cleared_with_unlock() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let stack = team_stack(moto, &["vpc", "kinesis"]);
    stack.bare(
        &[
            "config",
            "set",
            "state",
            &format!("s3://{BUCKET}/japancart"),
        ],
        0,
    );

    // Killed once the apply has written the state (its first pending create).
    let mut child = start(&stack, &["apply", "--yes"]);
    let pid = child.id();
    let started = Instant::now();
    while object(&stack, "japancart/dev/state.json").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the apply never wrote the state"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    assert_eq!(finish(child).status.code(), None, "killed by a signal");
    let lock: Value = serde_json::from_str(
        &object(&stack, "japancart/dev/state.lock").expect("the lock stays behind"),
    )
    .unwrap();
    assert_eq!(lock["pid"], pid);
    let id = lock["id"].as_str().unwrap().to_string();

    // The next apply is refused with every detail of the lock and how to clear it.
    let (_, stderr) = stack.run(&["apply", "--yes"], 1);
    for part in [
        format!("pid {pid}"),
        "running `engine apply`".to_string(),
        format!("lock id {id}"),
        lock["since"].as_str().unwrap().to_string(),
        format!(
            "{}@{}",
            lock["user"].as_str().unwrap(),
            lock["host"].as_str().unwrap()
        ),
        format!("engine state unlock {id}"),
    ] {
        assert!(stderr.contains(&part), "`{part}` missing from:\n{stderr}");
    }

    // Only its id clears it.
    let (_, stderr) = stack.bare(&["state", "unlock", "not-the-id"], 1);
    assert!(
        stderr.contains("whose lock id is not `not-the-id`")
            && stderr.contains(&format!("engine state unlock {id}")),
        "{stderr}"
    );
    assert!(object(&stack, "japancart/dev/state.lock").is_some());
    let (_, stderr) = stack.bare(&["state", "unlock", &id], 0);
    assert!(
        stderr.contains(&format!(
            "Unlocked the state at s3://{BUCKET}/japancart/dev"
        )) && stderr.contains(&format!("pid {pid}")),
        "{stderr}"
    );
    assert!(object(&stack, "japancart/dev/state.lock").is_none());
    let (_, stderr) = stack.bare(&["state", "unlock", &id], 1);
    assert!(stderr.contains("is not locked"), "{stderr}");

    // The stack completes from where the killed apply stopped.
    let (_, stderr) = stack.run(&["apply", "--yes"], 0);
    assert!(stderr.contains("Apply complete"), "{stderr}");
    assert_eq!(resources(&stack).len(), 25);
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
    assert_eq!(
        versions(&stack, "japancart/dev/state.json") as u64,
        serial(&stack)
    );
}

/// Acceptance 4, end to end: the realistic emulator keeps a Kinesis stream
/// `UPDATING` for a while after a change, between the engine's read of the state
/// and its next write; the state object is changed then.
#[test]
fn a_state_changed_behind_the_engines_back_is_refused_and_kept() {
    let moto = MotoServer::start_with(&Profile::realistic(1.0))
        .expect("the realistic emulator starts (run `./dev setup`)");
    let stack = team_stack(moto, &["kinesis"]);
    let state_arg = format!("s3://{BUCKET}/japancart");
    stack.run(&["apply", "--yes", "--state", &state_arg], 0);
    let key = "japancart/dev/state.json";
    let before = object(&stack, key).unwrap();

    let child = start(
        &stack,
        &[
            "apply",
            "--yes",
            "--state",
            &state_arg,
            "-c",
            "kinesis-retention-hours=48",
        ],
    );
    // Wait until the change is under way.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kinesis = aws_sdk_kinesis::Client::new(&rt.block_on(stack.moto.sdk_config()));
    let started = Instant::now();
    loop {
        let status = rt
            .block_on(
                kinesis
                    .describe_stream_summary()
                    .stream_name("japancart-transactions-dev")
                    .send(),
            )
            .ok()
            .and_then(|d| {
                d.stream_description_summary()
                    .map(|s| s.stream_status().as_str().to_string())
            });
        if status.as_deref() == Some("UPDATING") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the stream never went UPDATING"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Behind its back: someone edits the state (same serial, one more output).
    let mut edited: Value = serde_json::from_str(&before).unwrap();
    edited["outputs"]["edited_by_hand"] = Value::Bool(true);
    let edited = format!("{}\n", serde_json::to_string_pretty(&edited).unwrap());
    let body = edited.clone();
    s3(&stack, |c| async move {
        c.put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from(body.into_bytes()))
            .send()
            .await
            .unwrap();
    });

    let out = finish(child);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "the state at s3://{BUCKET}/japancart/dev changed since it was read"
        )) && stderr.contains("rewritten by someone else (its S3 ETag changed)")
            && stderr.contains("refusing to overwrite it"),
        "{stderr}"
    );
    assert_eq!(
        object(&stack, key).unwrap(),
        edited,
        "nothing was overwritten"
    );
}

/// Acceptance 5, and the history: local -> S3 -> local keeps resources, outputs,
/// lineage and serial; a rollback restores an earlier serial as a new one.
#[test]
fn state_migrates_to_s3_and_back_exactly_and_rolls_back() {
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    let stack = team_stack(moto, &["vpc", "kinesis"]);
    stack.run(&["apply", "--yes"], 0);
    let dir = stack.dir.path();
    let local = dir.join(".engine/stacks/dev/state.json");
    let original = std::fs::read_to_string(&local).unwrap();
    let (outputs, _) = stack.bare(&["output", "--json"], 0);
    let (listed, _) = stack.bare(&["state", "list", "--json"], 0);
    let same_state = |stack: &Stack| {
        assert_eq!(stack.bare(&["output", "--json"], 0).0, outputs);
        assert_eq!(stack.bare(&["state", "list", "--json"], 0).0, listed);
    };

    // To S3: the object is the local file, byte for byte (lineage and serial too).
    let to = format!("s3://{BUCKET}/japancart");
    let (_, stderr) = stack.bare(&["state", "migrate", "--to", &to], 0);
    assert!(
        stderr.contains(&format!("Moved the state of stack `dev` to {to}/dev")),
        "{stderr}"
    );
    assert_eq!(
        object(&stack, "japancart/dev/state.json").unwrap(),
        original
    );
    let config = std::fs::read_to_string(dir.join("engine.dev.toml")).unwrap();
    assert!(config.contains(&format!("state = \"{to}\"")), "{config}");
    assert!(!local.exists());
    assert_eq!(
        std::fs::read_to_string(dir.join(".engine/stacks/dev/state.json.migrated")).unwrap(),
        original,
        "the source stays as a backup"
    );
    same_state(&stack);
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
    // The old location refuses to be used, naming the new one.
    let (_, stderr) = stack.bare(&["state", "list", "--state", ".engine"], 1);
    assert!(
        stderr.contains(&format!("was moved to {to}/dev")),
        "{stderr}"
    );

    // History and rollback on S3: an update, then back to the serial before it.
    let (_, stderr) = stack.run(&["apply", "--yes", "-c", "kinesis-retention-hours=48"], 0);
    assert!(stderr.contains("1 updated"), "{stderr}");
    let before_update = serde_json::from_str::<Value>(&original).unwrap()["serial"]
        .as_u64()
        .unwrap();
    let kept = history(&stack);
    assert_eq!(kept[0].1, "engine apply");
    assert!(kept.iter().any(|(s, _)| *s == before_update), "{kept:?}");
    let current = kept[0].0;
    let (_, stderr) = stack.bare(&["state", "rollback", &before_update.to_string()], 1);
    assert!(
        stderr.contains("refusing to roll back without confirmation")
            && stderr.contains(&format!("to the state of serial {before_update}")),
        "{stderr}"
    );
    let (_, stderr) = stack.bare(
        &["state", "rollback", &before_update.to_string(), "--yes"],
        0,
    );
    assert!(
        stderr.contains(&format!(
            "serial {} is the state of serial {before_update}",
            current + 1
        )),
        "{stderr}"
    );
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode"], 0);
    assert!(
        stdout.contains("No changes."),
        "the rolled-back state is the one the default config applies: {stdout}"
    );
    let rolled_back = object(&stack, "japancart/dev/state.json").unwrap();
    let mut expected: Value = serde_json::from_str(&original).unwrap();
    expected["serial"] = Value::from(current + 1);
    assert_eq!(
        serde_json::from_str::<Value>(&rolled_back).unwrap(),
        expected,
        "the old state, as a new serial"
    );
    let (_, _) = stack.bare(&["state", "rollback", &current.to_string(), "--yes"], 0);
    same_state_after(&stack, &listed);

    // `state rm` on S3: the state before is in the history, and comes back.
    let before_rm = serial(&stack);
    let (_, stderr) = stack.bare(&["state", "rm", "vpc/public-a-rta"], 0);
    assert!(
        stderr.contains(&format!(
            "serial {before_rm} in the state's history (engine state rollback {before_rm})"
        )),
        "{stderr}"
    );
    assert_eq!(resources(&stack).len(), 24);
    stack.bare(&["state", "rollback", &before_rm.to_string(), "--yes"], 0);
    same_state_after(&stack, &listed);

    // And back to a directory: the same state again, lineage and serial kept.
    let in_s3 = object(&stack, "japancart/dev/state.json").unwrap();
    let (_, stderr) = stack.bare(&["state", "migrate", "--to", ".engine"], 0);
    assert!(
        stderr.contains("Moved the state of stack `dev` to file://.engine/stacks/dev"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&local).unwrap(), in_s3);
    let config = std::fs::read_to_string(dir.join("engine.dev.toml")).unwrap();
    assert!(!config.contains("state ="), "{config}");
    assert!(object(&stack, "japancart/dev/state.json").is_none());
    assert_eq!(
        object(&stack, "japancart/dev/state.json.migrated").unwrap(),
        in_s3
    );
    let (_, stderr) = stack.bare(&["state", "list", "--state", &to], 1);
    assert!(stderr.contains("was moved to"), "{stderr}");
    assert_eq!(stack.bare(&["state", "list", "--json"], 0).0, listed);
    let (stdout, _) = stack.run(
        &[
            "plan",
            "--detailed-exitcode",
            "-c",
            "kinesis-retention-hours=48",
        ],
        0,
    );
    assert!(stdout.contains("No changes."), "{stdout}");
    assert!(!Path::new(&dir.join(".engine/stacks/dev/moved.json")).exists());
}

/// After rolling forward again, the same resources are recorded.
fn same_state_after(stack: &Stack, listed: &str) {
    let (now, _) = stack.bare(&["state", "list", "--json"], 0);
    let addresses = |s: &str| -> Vec<String> {
        serde_json::from_str::<Vec<Value>>(s)
            .unwrap()
            .iter()
            .map(|r| r["address"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(addresses(&now), addresses(listed));
}
