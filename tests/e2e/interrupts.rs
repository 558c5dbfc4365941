//! An apply stopped halfway, under the realistic emulator (the database takes
//! seconds to create, so there is something in flight to stop):
//!
//! - one Ctrl-C (SIGINT): no new operation starts, the ones in flight finish and
//!   are recorded, the exit code is 1 and the message says how to resume;
//! - two: it stops at once, what is in flight stays recorded as pending, and the
//!   next apply adopts what the abandoned operation made;
//! - SIGKILL: the lock dies with the process, the state file is valid, and the
//!   next apply adopts what the killed one made.
//!
//! Every case ends with an apply that completes the stack, and one DB instance
//! (no duplicate) counted through the SDK.

use std::process::Command;
use std::time::Duration;

use engine_aws::moto::{MotoServer, Profile};

use super::{Stack, text};

const STACK_FILE: &str = r#"[stack]
name = "japancart"
region = "us-east-1"
environment = "stop"

[config]
rds-skip-final-snapshot = "true"
# On outside `dev`: off, so that destroy can delete the database.
rds-deletion-protection = "false"
"#;

/// How the running apply is stopped once the database create is in flight.
#[derive(Clone, Copy, Debug)]
enum Interrupt {
    CtrlC,
    CtrlCTwice,
    Kill,
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("runs kill")
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// Starts `engine apply --yes`, waits for the database create to start, stops it
/// with `how`, and returns (exit code, stderr).
fn stopped_apply(stack: &Stack, how: Interrupt) -> (Option<i32>, String) {
    let mut args = vec!["apply", "--yes"];
    args.extend(stack.plugins.iter().map(String::as_str));
    let super::Watched {
        mut child,
        lines: rx,
        reader,
    } = stack.spawn_watched(&args);
    let pid = child.id();
    loop {
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) if line.starts_with("rds/postgres: creating") => break,
            Ok(_) => {}
            Err(e) => panic!("the database create never started: {e}"),
        }
    }
    // The create call is made; stop while AWS works on it.
    std::thread::sleep(Duration::from_millis(500));
    match how {
        Interrupt::CtrlC => signal(pid, "-INT"),
        Interrupt::CtrlCTwice => {
            signal(pid, "-INT");
            std::thread::sleep(Duration::from_millis(300));
            signal(pid, "-INT");
        }
        Interrupt::Kill => signal(pid, "-KILL"),
    }
    let status = child.wait().expect("waits");
    let stderr = reader.join().expect("reader");
    (status.code(), stderr)
}

/// DB instances in the emulator.
fn db_instances(stack: &Stack) -> usize {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sdk = stack.moto.sdk_config().await;
        aws_sdk_rds::Client::new(&sdk)
            .describe_db_instances()
            .send()
            .await
            .unwrap()
            .db_instances()
            .len()
    })
}

fn stopped_then_resumed(how: Interrupt) {
    let moto = MotoServer::start_with(&Profile::realistic(1.0))
        .expect("the realistic emulator starts (run `./dev setup`)");
    let stack = Stack::japancart(moto, STACK_FILE);
    let (code, stderr) = stopped_apply(&stack, how);
    match how {
        Interrupt::CtrlC => {
            assert_eq!(code, Some(1), "{stderr}");
            assert!(
                stderr.contains("Stopping: no new operations start")
                    && stderr.contains("rds/postgres: created")
                    && stderr.contains("Apply did not finish")
                    && stderr.contains("run `engine apply` again to finish"),
                "in flight finished, and the way on is said: {stderr}"
            );
        }
        Interrupt::CtrlCTwice => {
            assert_eq!(code, Some(1), "{stderr}");
            assert!(
                stderr.contains("Stopping now")
                    && stderr.contains("abandoned in flight")
                    && stderr.contains("rds/postgres"),
                "{stderr}"
            );
        }
        Interrupt::Kill => assert_eq!(code, None, "killed by a signal: {stderr}"),
    }
    // The state is valid and not locked: it reads, and names the database (done
    // or pending).
    let out = stack.engine(&["state", "list"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("rds/postgres"),
        "{}",
        text(&out.stdout)
    );

    // Resumed: the stack completes, adopting what was abandoned, with one database.
    let (_, stderr) = stack.run(&["apply", "--yes"], 0);
    assert!(stderr.contains("Apply complete"), "{stderr}");
    if !matches!(how, Interrupt::CtrlC) {
        assert!(
            stderr.contains("rds/postgres: created") && stderr.contains("adopted"),
            "the abandoned create is adopted: {stderr}"
        );
    }
    assert_eq!(db_instances(&stack), 1, "no duplicate database");
    let (stdout, _) = stack.run(&["plan", "--detailed-exitcode"], 0);
    assert!(stdout.contains("No changes."), "{stdout}");
    let out = stack.engine(&["destroy", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn one_ctrl_c_finishes_what_is_in_flight_and_says_how_to_resume() {
    stopped_then_resumed(Interrupt::CtrlC);
}

#[test]
fn two_ctrl_c_stop_at_once_and_the_next_apply_adopts() {
    stopped_then_resumed(Interrupt::CtrlCTwice);
}

#[test]
fn a_killed_apply_leaves_no_lock_and_the_next_apply_adopts() {
    stopped_then_resumed(Interrupt::Kill);
}
