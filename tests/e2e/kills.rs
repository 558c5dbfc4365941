//! SIGKILL at many points of JapanCart's apply and destroy, under the realistic
//! emulator (operations take time, as on AWS), with the engine talking to it
//! through the fault proxy (which can hold back one answer).
//!
//! Each point is one cycle, from nothing: `apply` (killed at the point, or not),
//! `apply` again to completion, `destroy` (killed at the point, or not), `destroy`
//! again to completion. After every kill the state file is valid JSON of the same
//! lineage, its serial has not gone back, and no lock is left (`engine state list`
//! works). After every completing run the emulator is counted through the SDK by
//! the ownership tags ([`census`]): after apply, each address of the state lives
//! exactly once (no duplicate) and nothing tagged lives outside the state (no
//! orphan); after destroy nothing lives.
//!
//! Kill points are chosen three ways:
//! - by event: a line of the engine's progress ("rds/postgres: creating"), then an
//!   optional delay (during the first step, during the RDS create, during the last
//!   step);
//! - between an AWS create and the state save: the proxy forwards the call, AWS
//!   acts, and the answer is held back until the engine is killed, so the engine
//!   never hears of what it made;
//! - by time: a fraction of the longest complete run of the command so far.
//!
//! The cycles run in four threads, each against its own emulator and proxy.

use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use engine_aws::moto::{FaultProxy, Faults, MotoServer, Profile};
use serde_json::Value;

use super::Stack;
use super::census::census;

const STACK_FILE: &str = r#"[stack]
name = "japancart"
region = "us-east-1"
environment = "kill"

[config]
rds-skip-final-snapshot = "true"
# On outside `dev`: off, so that destroy can delete the database.
rds-deletion-protection = "false"
"#;

/// Durations of the realistic profile, scaled (1.0: RDS creates in about 6 s).
const SCALE: f64 = 0.5;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Command {
    Apply,
    Destroy,
}

/// Where a run is killed.
#[derive(Clone, Copy, Debug)]
enum Trigger {
    /// After a progress line starting with the text, and then the delay.
    Line(&'static str, Duration),
    /// While the answer of the first call of this AWS action is held back.
    Held(&'static str),
    /// At this fraction of the longest complete run of the command so far.
    Fraction(f64),
}

#[derive(Clone, Copy, Debug)]
struct Point {
    command: Command,
    trigger: Trigger,
}

const fn apply(trigger: Trigger) -> Point {
    Point {
        command: Command::Apply,
        trigger,
    }
}

const fn destroy(trigger: Trigger) -> Point {
    Point {
        command: Command::Destroy,
        trigger,
    }
}

const NOW: Duration = Duration::ZERO;

/// Every kill point, in four groups of cycles (one thread each). A group's points
/// pair up: apply points and destroy points run in the same cycles.
fn groups() -> Vec<Vec<Point>> {
    use Trigger::{Fraction, Held, Line};
    vec![
        vec![
            apply(Line("vpc/main: creating", NOW)), // during the first step
            apply(Held("CreateVpc")),
            apply(Held("CreateSubnet")),
            apply(Held("CreateSecurityGroup")),
            apply(Held("CreateRouteTable")),
            destroy(Held("DeleteAlarms")), // the first step of destroy
            destroy(Held("DeleteVpc")),    // the last one
        ],
        vec![
            apply(Held("CreateKey")),
            apply(Held("CreateAlias")),
            apply(Held("CreateStream")),
            apply(Held("CreateSecret")),
            apply(Held("CreateVpcEndpoint")),
            destroy(Held("DeleteStream")),
            destroy(Held("ScheduleKeyDeletion")),
        ],
        vec![
            apply(Held("CreateRole")),
            apply(Held("CreateDBSubnetGroup")),
            apply(Held("CreateDBInstance")),
            apply(Line("rds/postgres: creating", Duration::from_millis(1500))),
            apply(Fraction(0.5)),
            destroy(Held("DeleteDBInstance")),
            destroy(Line("rds/postgres: deleting", Duration::from_millis(1000))),
        ],
        vec![
            apply(Held("CreateReplicationGroup")),
            apply(Held("CreateTopic")),
            apply(Held("PutMetricAlarm")),
            apply(Line("monitoring/rds-cpu: creating", NOW)), // during the last step
            apply(Fraction(0.8)),
            destroy(Held("DeleteReplicationGroup")),
            destroy(Fraction(0.5)),
        ],
    ]
}

/// What one group saw, for the figures.
#[derive(Default)]
struct Tally {
    kills: usize,
    checked: usize,
    adopted: usize,
    duplicates: usize,
    orphans: usize,
    lines: Vec<String>,
}

struct Run {
    stack: Stack,
    proxy_stats: Option<String>,
    lineage: Option<String>,
    serial: u64,
    last: [Duration; 2],
    longest: [Duration; 2],
}

impl Run {
    fn args(&self, command: Command) -> Vec<String> {
        match command {
            Command::Apply => {
                let mut a = vec!["apply".to_string(), "--yes".into()];
                a.extend(self.stack.plugins.iter().cloned());
                a
            }
            Command::Destroy => vec!["destroy".into(), "--yes".into()],
        }
    }

    fn proxy(&self) -> &FaultProxy {
        self.stack.proxy.as_ref().expect("a proxy")
    }

    /// Runs `command` and kills it at `trigger`; returns when it was killed.
    fn killed(&mut self, command: Command, trigger: Trigger) -> Option<Duration> {
        if let Trigger::Held(action) = trigger {
            self.proxy().hold(action).expect("arms the hold");
        }
        let args = self.args(command);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let start = Instant::now();
        let super::Watched {
            mut child,
            lines: rx,
            reader,
        } = self.stack.spawn_watched(&args);
        let limit = Duration::from_secs(180);
        match trigger {
            Trigger::Line(prefix, delay) => {
                loop {
                    match rx.recv_timeout(limit) {
                        Ok(line) if line.starts_with(prefix) => break,
                        Ok(_) => {}
                        Err(e) => panic!(
                            "{command:?} never printed `{prefix}` ({e}):\n{}",
                            reader.join().unwrap_or_default()
                        ),
                    }
                }
                std::thread::sleep(delay);
            }
            Trigger::Held(action) => loop {
                let stats: Value =
                    serde_json::from_str(&self.proxy().stats().expect("proxy stats")).unwrap();
                if stats["holding"] == action {
                    break;
                }
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "{command:?} ended ({status}) without calling {action}:\n{}",
                        reader.join().unwrap_or_default()
                    );
                }
                assert!(start.elapsed() < limit, "{action} was never called");
                std::thread::sleep(Duration::from_millis(20));
            },
            Trigger::Fraction(f) => {
                let longest = self.longest[command as usize];
                assert!(
                    longest > Duration::ZERO,
                    "a complete {command:?} ran before"
                );
                std::thread::sleep(longest.mul_f64(f));
            }
        }
        let at = start.elapsed();
        let alive = child.try_wait().expect("try_wait").is_none();
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("waits");
        if let Trigger::Held(_) = trigger {
            self.proxy().release().expect("releases the held answer");
        }
        let stderr = reader.join().expect("reader");
        // A fraction of the longest run so far can come after the end of a run
        // that had less to do (warm caches, less contention): a kill point missed,
        // not a failure; the total of kill points is checked at the end.
        if matches!(trigger, Trigger::Fraction(_)) && !alive && status.success() {
            return None;
        }
        assert!(
            alive && status.signal() == Some(9),
            "{command:?} at {trigger:?} was still running when killed ({status}):\n{stderr}"
        );
        Some(at)
    }

    /// The state file after a kill or a run: valid, same lineage, serial not back.
    /// Returns its addresses.
    fn check_state(&mut self, when: &str) -> Vec<String> {
        let path = self.stack.dir.path().join(".engine/state.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            assert!(self.lineage.is_none(), "{when}: the state file vanished");
            return Vec::new();
        };
        let state: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{when}: the state file is not valid JSON ({e}):\n{text}"));
        let lineage = state["lineage"].as_str().expect("lineage").to_string();
        assert_eq!(
            self.lineage.get_or_insert_with(|| lineage.clone()),
            &lineage,
            "{when}: lineage changed"
        );
        let serial = state["serial"].as_u64().expect("serial");
        assert!(
            serial >= self.serial,
            "{when}: serial went back from {} to {serial}",
            self.serial
        );
        self.serial = serial;
        // Readable, and not locked by the dead process.
        let out = self.stack.engine(&["state", "list"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{when}: {}",
            super::text(&out.stderr)
        );
        state["resources"]
            .as_object()
            .expect("resources")
            .keys()
            .cloned()
            .collect()
    }

    /// Runs `command` to completion; returns its stderr.
    fn complete(&mut self, command: Command) -> String {
        let args = self.args(command);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let start = Instant::now();
        let out = self.stack.engine(&args);
        let stderr = super::text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{command:?}:\n{stderr}");
        let i = command as usize;
        self.last[i] = start.elapsed();
        self.longest[i] = self.longest[i].max(self.last[i]);
        stderr
    }

    /// Counts what lives; after apply the state's addresses once each, after
    /// destroy nothing.
    fn count(&self, command: Command, state: &[String], tally: &mut Tally) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let c = rt.block_on(async {
            let sdk = self.stack.moto.sdk_config().await;
            census(&sdk, "japancart").await
        });
        tally.checked += c.total();
        tally.duplicates += c.duplicates().len();
        let orphans = c.orphans(state);
        tally.orphans += orphans.len();
        assert!(
            c.duplicates().is_empty(),
            "duplicates: {:?}",
            c.duplicates()
        );
        assert!(orphans.is_empty(), "orphans: {orphans:?}");
        match command {
            Command::Apply => {
                assert_eq!(state.len(), 53, "{state:?}");
                // Every tagged kind of the state lives (aliases, route table
                // associations, the route and the flow-logs role's inline policy take no
                // tags).
                assert_eq!(c.tagged.len(), 41, "{:?}", c.tagged.keys());
                assert_eq!(c.aliases.len(), 6, "{:?}", c.aliases);
            }
            Command::Destroy => {
                assert!(state.is_empty(), "{state:?}");
                assert_eq!(c.total(), 0, "left behind: {c:?}");
            }
        }
    }

    /// One cycle: apply (killed at `a`), apply, destroy (killed at `d`), destroy.
    fn cycle(&mut self, a: Option<Trigger>, d: Option<Trigger>, tally: &mut Tally) {
        for (command, trigger) in [(Command::Apply, a), (Command::Destroy, d)] {
            if let Some(trigger) = trigger {
                match self.killed(command, trigger) {
                    Some(at) => {
                        let state =
                            self.check_state(&format!("after {command:?} killed at {trigger:?}"));
                        tally.kills += 1;
                        tally.lines.push(format!(
                            "{command:?} killed at {trigger:?} after {:.1}s: {} resources in state",
                            at.as_secs_f64(),
                            state.len()
                        ));
                    }
                    None => {
                        self.check_state(&format!("after {command:?} finished at {trigger:?}"));
                        tally.lines.push(format!(
                            "{command:?} at {trigger:?}: finished before the kill point"
                        ));
                    }
                }
            }
            let stderr = self.complete(command);
            let adopted = stderr.matches("adopted").count();
            tally.adopted += adopted;
            let state = self.check_state(&format!("after {command:?} completed"));
            self.count(command, &state, tally);
            tally.lines.push(format!(
                "  {command:?} again: {:.1}s, {adopted} adopted, converged",
                self.last[command as usize].as_secs_f64()
            ));
        }
        self.proxy_stats = self.proxy().stats().ok();
    }
}

fn run_group(points: Vec<Point>) -> Tally {
    let moto = MotoServer::start_with(&Profile::realistic(SCALE))
        .expect("the realistic emulator starts (run `./dev setup`)");
    let proxy = FaultProxy::start(&moto, &Faults::default()).expect("the fault proxy starts");
    let mut stack = Stack::japancart(moto, STACK_FILE);
    stack.proxy = Some(proxy);
    let mut run = Run {
        stack,
        proxy_stats: None,
        lineage: None,
        serial: 0,
        last: [Duration::ZERO; 2],
        longest: [Duration::ZERO; 2],
    };
    let mut tally = Tally::default();
    let applies: Vec<Trigger> = points
        .iter()
        .filter(|p| p.command == Command::Apply)
        .map(|p| p.trigger)
        .collect();
    let destroys: Vec<Trigger> = points
        .iter()
        .filter(|p| p.command == Command::Destroy)
        .map(|p| p.trigger)
        .collect();
    // A fraction needs a complete run to measure first: such points go last.
    let cycles = applies.len().max(destroys.len());
    for i in 0..cycles {
        run.cycle(
            applies.get(i).copied(),
            destroys.get(i).copied(),
            &mut tally,
        );
    }
    if let Some(stats) = &run.proxy_stats {
        tally.lines.push(format!("  proxy: {stats}"));
    }
    tally
}

#[test]
fn japancart_survives_sigkill_at_every_point_of_apply_and_destroy() {
    let start = Instant::now();
    let threads: Vec<_> = groups()
        .into_iter()
        .map(|g| std::thread::spawn(move || run_group(g)))
        .collect();
    let mut total = Tally::default();
    let mut failed = Vec::new();
    for (i, t) in threads.into_iter().enumerate() {
        match t.join() {
            Ok(tally) => {
                eprintln!("group {}:", i + 1);
                for l in &tally.lines {
                    eprintln!("  {l}");
                }
                total.kills += tally.kills;
                total.checked += tally.checked;
                total.adopted += tally.adopted;
                total.duplicates += tally.duplicates;
                total.orphans += tally.orphans;
            }
            Err(_) => failed.push(i + 1),
        }
    }
    assert!(failed.is_empty(), "groups {failed:?} failed (see above)");
    eprintln!(
        "kill test: {} kill points, {} live resources counted, {} adoptions, \
         {} duplicates, {} orphans, in {:.0}s",
        total.kills,
        total.checked,
        total.adopted,
        total.duplicates,
        total.orphans,
        start.elapsed().as_secs_f64()
    );
    assert!(total.kills >= 20, "{} kill points", total.kills);
}
