//! `just bench`: apply against its lower bound, and the API economy of refresh
//! (issue 17, deliverables 5 and 6). Writes the `apply` section of BENCHMARKS.md.
//!
//! Everything runs the release `engine` binary as a whole process against a moto
//! server started here, through the fault proxy (`tests/moto/faultproxy.py`):
//!
//! - **Apply against its bound.** A proxy adds a fixed latency to every call. Each
//!   stack (JapanCart, and the generator guest at [`APPLY_N`] resources) is applied
//!   from nothing at `--parallelism 1`, at the default parallelism ([`RUNS`] times,
//!   median), and with no cap (parallelism = resources). The JSON events are read
//!   as they come, timestamped, and matched with the proxy's request log. The
//!   bound is the critical path: the longest path through the dependency graph
//!   (each resource's `dependencies` in the state) weighted by each operation's
//!   duration at `--parallelism 1`, where nothing competes with it. Beside it, the
//!   longest chain of calls (each operation's calls, counted in the proxy log at
//!   `--parallelism 1`) times the latency, and moto's own serial work (the same
//!   apply at `--parallelism 1` with no proxy).
//! - **API economy.** Each stack (JapanCart, the generator at [`REFRESH_N`]) is
//!   applied, then `engine refresh` runs through a proxy without faults, whose log
//!   gives the calls by service and action. To tell the calls of each kind apart,
//!   the state is split into one state per kind and each is refreshed alone; the
//!   sum must equal the whole refresh.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// a bench: a failed unwrap is a failed run
// One `wait4` call, to read the engine process's CPU time (std has no safe way).
#![allow(unsafe_code)]

#[path = "../common/mod.rs"]
mod common;
#[path = "report.rs"]
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use engine_aws::moto::{FaultProxy, Faults, MotoServer};
use serde_json::Value;

/// Milliseconds the proxy adds to every call in the apply runs.
const LATENCY_MS: u64 = 100;
/// Generator resources applied against the bound. moto runs every call on one
/// Python interpreter, so its own serial work grows with the stack; at 100 it stays
/// below the latency-bound critical path's share of the run.
const APPLY_N: u32 = 100;
/// Generator resources refreshed for the API economy.
const REFRESH_N: u32 = 1000;
/// Runs at the default parallelism (median).
const RUNS: usize = 3;
/// `engine apply --parallelism` by default (`host/cli/src/commands/apply.rs`).
const DEFAULT_PARALLELISM: usize = 10;

fn main() {
    let started = Instant::now();
    let repo = report::repo();
    let japancart = common::japancart();
    let generator =
        engine_build::build_for_tests(&repo.join("tests/guests")).join("generator.wasm");
    let moto = MotoServer::start().expect("moto starts (run `./dev setup`)");
    // One proxy at a time: a proxy's log is named after this process and moto's
    // port, so two would share it.
    let slow = FaultProxy::start(
        &moto,
        &Faults {
            latency_rate: 1.0,
            latency_ms: LATENCY_MS,
            ..Faults::default()
        },
    )
    .expect("the latency proxy starts");
    let cache = tempfile::tempdir().unwrap();
    let env = Env {
        moto: &moto,
        cache: cache.path().to_path_buf(),
    };

    let stacks = [
        Subject::japancart(japancart.clone()),
        Subject::generator(&generator, APPLY_N),
    ];
    // Compiled once before anything is timed (the code cache).
    for s in &stacks {
        let dir = s.dir();
        let mut args = vec!["validate".to_string()];
        args.extend(s.args());
        let out = env
            .engine(dir.path(), &moto.endpoint(), &args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }

    let mut body = String::new();
    body.push_str(&format!(
        "## Apply against its bound, and the calls refresh makes\n\n\
         `cargo bench -p engine --bench apply` (`tests/bench/apply.rs`), the release `engine` \
         binary as a whole process against moto 5 (`tests/moto/launcher.py`, fast profile) \
         through the fault proxy (`tests/moto/faultproxy.py`), on {}.\n\n",
        report::machine()
    ));

    // Deliverable 5.
    let mut bounds = Vec::new();
    for s in &stacks {
        bounds.push(measure_apply(&env, &slow, s));
        eprintln!(
            "[{:.0}s] apply of {} measured",
            started.elapsed().as_secs_f64(),
            s.name
        );
    }
    body.push_str(&apply_section(&bounds));
    drop(slow);
    let counting = FaultProxy::start(&moto, &Faults::default()).expect("the proxy starts");

    // Deliverable 6.
    let big = Subject::generator(&generator, REFRESH_N);
    let mut economies = Vec::new();
    for s in [&stacks[0], &big] {
        economies.push(measure_refresh(&env, &counting, s));
        eprintln!(
            "[{:.0}s] refresh of {} measured",
            started.elapsed().as_secs_f64(),
            s.name
        );
    }
    body.push_str(&economy_section(&economies));
    body.push_str(&format!(
        "\nThe whole bench took {:.0} s.\n",
        started.elapsed().as_secs_f64()
    ));

    println!("{body}");
    if let Some(path) = report::write_target() {
        report::write_section(&path, "apply", &body);
    }
}

/// What the engine runs against.
struct Env<'a> {
    moto: &'a MotoServer,
    /// `ENGINE_CACHE_DIR`: compiled plugins, shared by every run.
    cache: PathBuf,
}

impl Env<'_> {
    /// `engine ARGS` in `dir`, talking to `endpoint`.
    fn engine(&self, dir: &Path, endpoint: &str, args: &[String]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_engine"));
        c.args(args)
            .current_dir(dir)
            .env("ENGINE_CACHE_DIR", &self.cache)
            .env("NO_COLOR", "1")
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("ENGINE_STACK")
            .env_remove("ENGINE_STATE")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_REGION");
        c
    }
}

/// A stack to apply: its name, its plugins and its `engine.toml`.
struct Subject {
    name: String,
    plugins: Vec<String>,
    config: Vec<String>,
    stack_file: &'static str,
}

impl Subject {
    fn japancart(plugins: Vec<String>) -> Subject {
        Subject {
            name: "JapanCart".into(),
            plugins,
            config: vec![],
            stack_file: "[stack]\nname = \"japancart\"\nregion = \"us-east-1\"\n\
                         environment = \"bench\"\n\n[config]\n\
                         rds-skip-final-snapshot = \"true\"\ndb-secret-recovery-days = \"0\"\n",
        }
    }

    fn generator(wasm: &Path, n: u32) -> Subject {
        Subject {
            name: format!("generator, {n} resources"),
            plugins: vec![wasm.display().to_string()],
            config: vec!["-c".into(), format!("generator-count={n}")],
            stack_file: "[stack]\nname = \"generator\"\nregion = \"us-east-1\"\n\
                         environment = \"bench\"\n",
        }
    }

    fn args(&self) -> Vec<String> {
        self.config.iter().chain(&self.plugins).cloned().collect()
    }

    /// A fresh directory with the stack's `engine.toml` and no state.
    fn dir(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("engine.toml"), self.stack_file).unwrap();
        dir
    }
}

/// One operation of an apply, as the bench saw it.
#[derive(Clone, Debug)]
struct Op {
    /// When its `started` and `finished` events arrived, from the process's start.
    start: Duration,
    finish: Duration,
    /// Its duration as the engine measured it.
    elapsed: Duration,
    /// Lines in the proxy's log when its `started` and `finished` events arrived.
    log_at_start: usize,
    log_at_finish: usize,
}

/// One apply from nothing.
struct Applied {
    wall: Duration,
    /// The engine process's CPU time (user and system).
    cpu: Duration,
    /// The state's size at the end.
    state_bytes: u64,
    ops: BTreeMap<String, Op>,
    /// Each resource's dependencies, from the state.
    deps: BTreeMap<String, Vec<String>>,
    /// Calls the proxy saw (0 without one).
    calls: usize,
    /// The state, for the refresh.
    dir: tempfile::TempDir,
}

impl Applied {
    fn first_start(&self) -> Duration {
        self.ops.values().map(|o| o.start).min().unwrap_or_default()
    }

    fn last_finish(&self) -> Duration {
        self.ops
            .values()
            .map(|o| o.finish)
            .max()
            .unwrap_or_default()
    }

    /// From the first operation's start to the last one's end.
    fn span(&self) -> Duration {
        self.last_finish().saturating_sub(self.first_start())
    }

    fn durations(&self) -> BTreeMap<String, f64> {
        self.ops
            .iter()
            .map(|(a, o)| (a.clone(), o.elapsed.as_secs_f64()))
            .collect()
    }

    /// Operations in flight on average: their summed durations over the span.
    fn concurrency(&self) -> f64 {
        let sum: f64 = self.durations().values().sum();
        sum / self.span().as_secs_f64().max(1e-9)
    }

    /// How long operations waited for a slot once their dependencies were done
    /// (mean, max), in seconds: the start of each minus the last finish of its
    /// dependencies (the first start for those without).
    fn waits(&self) -> (f64, f64) {
        let first = self.first_start();
        let waits: Vec<f64> = self
            .ops
            .iter()
            .map(|(a, o)| {
                let ready = self.deps[a]
                    .iter()
                    .filter_map(|d| self.ops.get(d))
                    .map(|d| d.finish)
                    .max()
                    .unwrap_or(first);
                o.start.saturating_sub(ready).as_secs_f64()
            })
            .collect();
        let mean = waits.iter().sum::<f64>() / waits.len().max(1) as f64;
        (mean, waits.iter().copied().fold(0.0, f64::max))
    }

    /// The chain of operations that ended the run: from the last to finish back
    /// through, at each step, the dependency that finished last. Its operations,
    /// their summed durations, and the rest of the span (between them: state
    /// saves, events, waiting for a slot), in seconds.
    fn observed_chain(&self) -> (Vec<String>, f64, f64) {
        let Some((last, _)) = self.ops.iter().max_by_key(|(_, o)| o.finish) else {
            return (vec![], 0.0, 0.0);
        };
        let mut chain = vec![last.clone()];
        loop {
            let cur = chain.last().unwrap();
            let prev = self.deps[cur]
                .iter()
                .filter(|d| self.ops.contains_key(*d))
                .max_by_key(|d| self.ops[*d].finish);
            match prev {
                Some(p) => chain.push(p.clone()),
                None => break,
            }
        }
        chain.reverse();
        let work: f64 = chain
            .iter()
            .map(|a| self.ops[a].elapsed.as_secs_f64())
            .sum();
        let span = self.ops[last]
            .finish
            .saturating_sub(self.ops[&chain[0]].start);
        (chain, work, span.as_secs_f64() - work)
    }

    /// Each operation's calls, from the proxy's log: at `--parallelism 1` the
    /// calls between one operation's end and the next one's are the next one's.
    fn calls_per_op(&self) -> BTreeMap<String, usize> {
        let mut by_finish: Vec<(&String, &Op)> = self.ops.iter().collect();
        by_finish.sort_by_key(|(_, o)| o.finish);
        let mut before = by_finish.first().map_or(0, |(_, o)| o.log_at_start);
        by_finish
            .into_iter()
            .map(|(a, o)| {
                let n = o.log_at_finish.saturating_sub(before);
                before = o.log_at_finish;
                (a.clone(), n)
            })
            .collect()
    }
}

/// Waits for `child` with `wait4`: whether it exited 0, and its CPU time.
#[allow(clippy::zombie_processes)] // reaped by wait4, which std does not see
fn wait(child: std::process::Child) -> (bool, Duration) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in; `pid` is our child, not
    // yet waited for (std's `Child` is never waited on after this).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    (ok, tv(usage.ru_utime) + tv(usage.ru_stime))
}

/// Lines in a file (the proxy's request log).
fn lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// Empties the proxy's request log (it appends).
fn clear(log: &Path) {
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(log)
        .unwrap();
}

/// Applies `s` from nothing (moto emptied first), through `proxy` when given, at
/// `parallelism` when given; reads the events as they come.
fn apply(
    env: &Env,
    s: &Subject,
    proxy: Option<&FaultProxy>,
    parallelism: Option<usize>,
) -> Applied {
    apply_at(env, s, proxy, parallelism, None)
}

/// [`apply`] with the state kept in `state` (`--state`) instead of `.engine`.
fn apply_at(
    env: &Env,
    s: &Subject,
    proxy: Option<&FaultProxy>,
    parallelism: Option<usize>,
    state: Option<&Path>,
) -> Applied {
    env.moto.reset().unwrap();
    let log = proxy.map(|p| p.requests().to_path_buf());
    if let Some(log) = &log {
        clear(log);
    }
    let endpoint = proxy.map_or_else(|| env.moto.endpoint(), FaultProxy::endpoint);
    let dir = s.dir();
    let mut args: Vec<String> = ["apply", "--yes", "--json"].map(String::from).to_vec();
    if let Some(p) = parallelism {
        args.extend(["--parallelism".to_string(), p.to_string()]);
    }
    if let Some(state) = state {
        args.extend(["--state".to_string(), state.display().to_string()]);
    }
    args.extend(s.args());
    let state_file = state
        .map_or_else(|| dir.path().join(".engine"), Path::to_path_buf)
        .join("state.json");
    let stderr = std::fs::File::create(dir.path().join("stderr.log")).unwrap();
    let t0 = Instant::now();
    let mut child = env
        .engine(dir.path(), &endpoint, &args)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("runs engine");
    let count = || log.as_deref().map_or(0, lines);
    let mut ops: BTreeMap<String, Op> = BTreeMap::new();
    let mut summary = Value::Null;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if !line.starts_with("{\"event\"") {
            continue;
        }
        let at = t0.elapsed();
        let e: Value = serde_json::from_str(&line).unwrap();
        let address = e["address"].as_str().unwrap_or_default().to_string();
        match e["event"].as_str() {
            Some("started") => {
                ops.insert(
                    address,
                    Op {
                        start: at,
                        finish: at,
                        elapsed: Duration::ZERO,
                        log_at_start: count(),
                        log_at_finish: 0,
                    },
                );
            }
            Some("finished") => {
                let op = ops.get_mut(&address).expect("started before finished");
                op.finish = at;
                op.elapsed = Duration::from_millis(e["elapsed_ms"].as_u64().unwrap());
                op.log_at_finish = count();
            }
            Some("summary") => summary = e,
            _ => {}
        }
    }
    let (success, cpu) = wait(child);
    let wall = t0.elapsed();
    let stderr = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
    assert!(
        success && summary["complete"] == Value::Bool(true),
        "apply of {} failed: {summary}\n{stderr}",
        s.name
    );
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    let deps = state["resources"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(a, r)| {
            let d = r["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str().map(String::from))
                .collect();
            (a.clone(), d)
        })
        .collect();
    let state_bytes =
        std::fs::metadata(dir.path().join(".engine/state.json")).map_or(0, |m| m.len());
    Applied {
        wall,
        cpu,
        state_bytes,
        ops,
        deps,
        calls: count(),
        dir,
    }
}

/// The longest path through the dependency graph with `weight` per operation:
/// its length and its operations, first to last.
fn critical_path(
    weight: &BTreeMap<String, f64>,
    deps: &BTreeMap<String, Vec<String>>,
) -> (f64, Vec<String>) {
    // Longest path ending at each operation, memoized; dependencies first.
    fn longest(
        a: &str,
        weight: &BTreeMap<String, f64>,
        deps: &BTreeMap<String, Vec<String>>,
        memo: &mut BTreeMap<String, (f64, Option<String>)>,
    ) -> f64 {
        if let Some((l, _)) = memo.get(a) {
            return *l;
        }
        let mut best = (0.0, None);
        for d in deps.get(a).into_iter().flatten() {
            if weight.contains_key(d) {
                let l = longest(d, weight, deps, memo);
                if l > best.0 {
                    best = (l, Some(d.clone()));
                }
            }
        }
        let total = best.0 + weight[a];
        memo.insert(a.to_string(), (total, best.1));
        total
    }
    let mut memo = BTreeMap::new();
    let mut end = (0.0, String::new());
    for a in weight.keys() {
        let l = longest(a, weight, deps, &mut memo);
        if l > end.0 {
            end = (l, a.clone());
        }
    }
    let mut chain = vec![end.1.clone()];
    while let Some((_, Some(prev))) = memo.get(chain.last().unwrap()) {
        chain.push(prev.clone());
    }
    chain.reverse();
    (end.0, chain)
}

/// The measurements of one stack against its bound.
struct Bound {
    name: String,
    resources: usize,
    /// `--parallelism 1` with no proxy: moto's serial work.
    bare: Applied,
    /// `--parallelism 1` through the latency proxy.
    serial: Applied,
    /// The default parallelism, [`RUNS`] times.
    default: Vec<Applied>,
    /// No cap: parallelism = resources.
    wide: Applied,
    /// No cap, the state on a tmpfs (`/dev/shm`), where a save's fsync costs
    /// nothing; when there is one.
    wide_tmpfs: Option<Applied>,
}

fn measure_apply(env: &Env, slow: &FaultProxy, s: &Subject) -> Bound {
    let bare = apply(env, s, None, Some(1));
    let serial = apply(env, s, Some(slow), Some(1));
    let resources = serial.ops.len();
    let default = (0..RUNS).map(|_| apply(env, s, Some(slow), None)).collect();
    let wide = apply(env, s, Some(slow), Some(resources));
    let wide_tmpfs = tempfile::tempdir_in("/dev/shm")
        .ok()
        .map(|shm| apply_at(env, s, Some(slow), Some(resources), Some(shm.path())));
    Bound {
        name: s.name.clone(),
        resources,
        bare,
        serial,
        default,
        wide,
        wide_tmpfs,
    }
}

fn secs(s: f64) -> String {
    format!("{s:.2} s")
}

fn apply_section(bounds: &[Bound]) -> String {
    let mut out = format!(
        "### Apply against its bound\n\n\
         Every call goes through the fault proxy with {LATENCY_MS} ms of latency added \
         (`--latency-ms {LATENCY_MS} --latency-rate 1`). Each stack is applied from \
         nothing (moto emptied, a new state) at `--parallelism 1`, at the default \
         parallelism ({DEFAULT_PARALLELISM}; median of {RUNS} runs), and with no cap \
         (`--parallelism` = resources). The bench reads the `--json` events as they \
         come and timestamps them.\n\n\
         - **Bound**: the critical path, i.e. the longest path through the dependency \
         graph (each resource's `dependencies` in the state, which are the plan's step \
         dependencies for a create) weighted by each operation's duration \
         (`elapsed_ms` of its `finished` event) at `--parallelism 1`, where nothing \
         competes with it. No schedule can finish the operations sooner.\n\
         - **Calls on the longest chain**: the same longest path weighted by each \
         operation's calls (counted in the proxy's log between the events at \
         `--parallelism 1`), and those calls times the latency: the part of the bound \
         that is latency alone.\n\
         - **Execution** is from the first operation's start to the last one's end; \
         **wall** is the whole process (loading and declaring, the STS identity call and \
         the zones before the first operation). The goal (within 15% of the bound) is \
         judged on the execution at the default parallelism.\n\
         - **moto's serial work**: the summed operation durations of the same apply at \
         `--parallelism 1` with no proxy. moto answers on one Python interpreter, so no \
         apply on this machine can take less, whatever the latency.\n\n"
    );
    out.push_str(
        "| stack | resources | calls | bound (critical path) | calls on the longest chain | \
         × latency | moto's serial work | `--parallelism 1` execution (wall) | \
         default parallelism execution (wall) | ratio to bound | no cap execution (wall) | \
         ratio to bound | goal (≤ 1.15) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    let mut notes = String::new();
    for b in bounds {
        let serial_d = b.serial.durations();
        let (bound, chain) = critical_path(&serial_d, &b.serial.deps);
        let calls = b.serial.calls_per_op();
        let calls_f: BTreeMap<String, f64> =
            calls.iter().map(|(a, n)| (a.clone(), *n as f64)).collect();
        let (chain_calls, _) = critical_path(&calls_f, &b.serial.deps);
        let bare_work: f64 = b.bare.durations().values().sum();
        let spans: Vec<Duration> = b.default.iter().map(Applied::span).collect();
        let walls: Vec<Duration> = b.default.iter().map(|a| a.wall).collect();
        let (span, _) = report::stats(spans.clone());
        let (wall, _) = report::stats(walls);
        let median_run = b
            .default
            .iter()
            .find(|a| a.span() == span)
            .expect("the median run");
        let ratio = span.as_secs_f64() / bound;
        let wide_ratio = b.wide.span().as_secs_f64() / bound;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} ({}) | {:.2} | {} ({}) | {:.2} | {} |\n",
            b.name,
            b.resources,
            median_run.calls,
            secs(bound),
            chain_calls,
            secs(chain_calls * LATENCY_MS as f64 / 1000.0),
            secs(bare_work),
            report::secs(b.serial.span()),
            report::secs(b.serial.wall),
            report::secs(span),
            report::secs(wall),
            ratio,
            report::secs(b.wide.span()),
            report::secs(b.wide.wall),
            wide_ratio,
            if ratio <= 1.15 { "met" } else { "not met" },
        ));
        let (wait, wait_max) = median_run.waits();
        let (wide_wait, wide_wait_max) = b.wide.waits();
        let mean = |a: &Applied| {
            let d = a.durations();
            d.values().sum::<f64>() / d.len().max(1) as f64 * 1000.0
        };
        let shown: Vec<String> = chain
            .iter()
            .map(|a| format!("`{a}` ({:.0} ms, {} calls)", serial_d[a] * 1000.0, calls[a]))
            .collect();
        notes.push_str(&format!(
            "- **{}**: critical path {}. Mean operation {:.0} ms at `--parallelism 1`, \
             {:.0} ms at the default parallelism and {:.0} ms with no cap; operations in \
             flight on average {:.1} and {:.1}; an operation whose dependencies were done \
             waited for a slot {:.0} ms on average (at most {:.0} ms) at the default \
             parallelism, {:.0} ms (at most {:.0} ms) with no cap. The engine's CPU: {} \
             at the default parallelism, {} with no cap. Runs at the default \
             parallelism: {}. {}\n",
            b.name,
            shown.join(" → "),
            mean(&b.serial),
            mean(median_run),
            mean(&b.wide),
            median_run.concurrency(),
            b.wide.concurrency(),
            wait * 1000.0,
            wait_max * 1000.0,
            wide_wait * 1000.0,
            wide_wait_max * 1000.0,
            report::secs(median_run.cpu),
            report::secs(b.wide.cpu),
            spans
                .iter()
                .map(|d| report::secs(*d))
                .collect::<Vec<_>>()
                .join(", "),
            chains(&b.serial, median_run, &b.wide, b.wide_tmpfs.as_ref()),
        ));
    }
    out.push('\n');
    out.push_str(&notes);
    out.push_str("\nWhat stands between the runs and the bound, from the figures above:\n\n");
    for b in bounds {
        out.push_str(&findings(b));
    }
    out.push('\n');
    out
}

/// Why a stack's apply is off its bound, from its measurements.
fn findings(b: &Bound) -> String {
    let (bound, _) = critical_path(&b.serial.durations(), &b.serial.deps);
    let spans: Vec<Duration> = b.default.iter().map(Applied::span).collect();
    let (span, _) = report::stats(spans);
    let default = span.as_secs_f64();
    let wide = b.wide.span().as_secs_f64();
    let bare: f64 = b.bare.durations().values().sum();
    let mut out = Vec::new();
    if default - wide > 0.05 * bound {
        out.push(format!(
            "the cap of {DEFAULT_PARALLELISM} operations in flight costs {} (default {} \
             against {} with no cap): ready operations wait for a slot, and the executor \
             starts them in address order, not the longest remaining chain first",
            secs(default - wide),
            secs(default),
            secs(wide)
        ));
    } else {
        out.push(format!(
            "the cap of {DEFAULT_PARALLELISM} costs nothing here (default {} against {} with \
             no cap)",
            secs(default),
            secs(wide)
        ));
    }
    if bare > bound {
        out.push(format!(
            "moto's serial work ({}) is more than the bound ({}): on this machine the \
             emulator, one Python interpreter, limits the apply, and the run with no cap \
             took {:.2}× that work",
            secs(bare),
            secs(bound),
            wide / bare
        ));
    }
    let (chain, work, between) = b.wide.observed_chain();
    let serial_d = b.serial.durations();
    let alone: f64 = chain.iter().filter_map(|x| serial_d.get(x)).sum();
    if work > alone * 1.05 {
        out.push(format!(
            "with no cap, the operations of the chain that ended the run took {} against {} \
             for the same at `--parallelism 1`: under concurrent load the emulator and the \
             proxy (Python processes on the same {} cores as the engine) answer each call \
             later",
            secs(work),
            secs(alone),
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ));
    }
    let mut saves = format!(
        "with no cap, {} of the chain that ended the run passed between its operations: \
         the executor saves the state on its loop, synchronously, before each create and \
         after each operation, and only then releases the dependents; each save re-reads \
         the state, writes it and its backup, and fsyncs both",
        secs(between)
    );
    if let Some(t) = &b.wide_tmpfs {
        let (_, _, shm) = t.observed_chain();
        saves.push_str(&format!(
            " ({} with the state on a tmpfs, whose fsync is free)",
            secs(shm)
        ));
    }
    out.push(saves);
    format!("- **{}**: {}.\n", b.name, out.join("; "))
}

/// What the chain that ended each run spent in its operations and between them.
fn chains(serial: &Applied, default: &Applied, wide: &Applied, tmpfs: Option<&Applied>) -> String {
    let serial_d = serial.durations();
    let one = |what: &str, a: &Applied| {
        let (chain, work, between) = a.observed_chain();
        let alone: f64 = chain.iter().filter_map(|x| serial_d.get(x)).sum();
        format!(
            "{what}: {} operations ({}), {} in them ({} for the same at `--parallelism 1`), \
             {} between them",
            chain.len(),
            chain
                .iter()
                .map(|x| format!("`{x}`"))
                .collect::<Vec<_>>()
                .join(" → "),
            secs(work),
            secs(alone),
            secs(between),
        )
    };
    let mut parts = vec![
        one("at the default parallelism", default),
        one("with no cap", wide),
    ];
    if let Some(t) = tmpfs {
        parts.push(format!(
            "{}; that run took {} of execution ({} of wall)",
            one(
                "with no cap and the state on a tmpfs (`/dev/shm`: a save's fsync is free)",
                t
            ),
            report::secs(t.span()),
            report::secs(t.wall)
        ));
    }
    format!(
        "The chain of operations that ended the run (from the last to finish, back through the \
         dependency that finished last), {}.",
        parts.join("; ")
    )
}

/// Calls by (service, action).
type Calls = BTreeMap<(String, String), usize>;

/// Calls by (service, action) in the proxy's log.
fn calls_by_action(log: &Path) -> Calls {
    let mut out = BTreeMap::new();
    for line in std::fs::read_to_string(log).unwrap_or_default().lines() {
        let Ok(r) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let Some(service) = r["service"].as_str() else {
            continue; // moto's own paths
        };
        let action = r["action"].as_str().unwrap_or("?").to_string();
        *out.entry((service.to_string(), action)).or_default() += 1;
    }
    out
}

/// `engine refresh` through `proxy` in `dir` (`--state` when given): its time and
/// its calls by service and action.
fn refresh(env: &Env, proxy: &FaultProxy, dir: &Path, state: Option<&Path>) -> (Duration, Calls) {
    clear(proxy.requests());
    let mut args: Vec<String> = vec!["refresh".into(), "--json".into()];
    if let Some(state) = state {
        args.extend(["--state".into(), state.display().to_string()]);
    }
    let t0 = Instant::now();
    let out = env.engine(dir, &proxy.endpoint(), &args).output().unwrap();
    let took = t0.elapsed();
    assert!(
        out.status.success(),
        "refresh failed: {}",
        text(&out.stderr)
    );
    let drift: Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(
        drift,
        serde_json::json!([]),
        "no drift right after an apply"
    );
    (took, calls_by_action(proxy.requests()))
}

/// The calls of one stack's refresh.
struct Economy {
    name: String,
    /// The apply before the refresh (no latency, the default parallelism).
    applied: Applied,
    refresh_wall: Duration,
    whole: Calls,
    /// Per kind: resources, and calls by (service, action).
    kinds: BTreeMap<String, (usize, Calls)>,
}

fn measure_refresh(env: &Env, counting: &FaultProxy, s: &Subject) -> Economy {
    let applied = apply(env, s, None, None);
    let dir = applied.dir.path();
    let (refresh_wall, whole) = refresh(env, counting, dir, None);
    // One state per kind, refreshed alone.
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".engine/state.json")).unwrap())
            .unwrap();
    let resources = state["resources"].as_object().unwrap();
    let kinds: BTreeSet<&str> = resources
        .values()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    let mut per_kind = BTreeMap::new();
    for kind in kinds {
        let mut one = state.clone();
        let only: serde_json::Map<String, Value> = resources
            .iter()
            .filter(|(_, r)| r["kind"] == kind)
            .map(|(a, r)| (a.clone(), r.clone()))
            .collect();
        let n = only.len();
        one["resources"] = Value::Object(only);
        let at = dir.join("kinds").join(kind);
        std::fs::create_dir_all(&at).unwrap();
        std::fs::write(at.join("state.json"), serde_json::to_vec(&one).unwrap()).unwrap();
        let (_, calls) = refresh(env, counting, dir, Some(&at));
        per_kind.insert(kind.to_string(), (n, calls));
    }
    Economy {
        name: s.name.clone(),
        applied,
        refresh_wall,
        whole,
        kinds: per_kind,
    }
}

/// Where the AWS API reference says whether a read that is made once per resource
/// could be batched.
fn batching(kind: &str, service: &str, action: &str) -> &'static str {
    match (service, action) {
        ("kms", "DescribeKey") if kind == "kms-alias" => {
            "yes, as a list: `ListAliases` returns every alias with its `TargetKeyId`, up to \
             100 per page (https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html); \
             the provider reads by alias on purpose, because lists lag right after a change \
             (docs/architecture.md), which a refresh long after the apply could accept"
        }
        ("ec2", "DescribeVpcAttribute") => {
            "no: one VPC and one attribute per call, and `DescribeVpcs` does not return the \
             DNS attributes \
             (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcAttribute.html)"
        }
        ("kms", "DescribeKey") => {
            "no: one key per call, and `ListKeys` returns only ids and ARNs \
             (https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html, \
             https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeys.html)"
        }
        ("kms", "GetKeyRotationStatus") => {
            "no: one key per call \
             (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyRotationStatus.html)"
        }
        ("iam", "GetRole") | ("iam", "ListAttachedRolePolicies") => {
            "no: one role per call; `ListRoles` returns neither a role's tags nor its \
             attached policies (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListRoles.html)"
        }
        ("logs", "DescribeLogGroups") => {
            "yes on AWS: `logGroupIdentifiers` names up to 50 groups per call \
             (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogGroups.html); \
             moto 5.2.5 ignores it, so the provider reads each group by its name as a prefix"
        }
        ("logs", "ListTagsForResource") => {
            "no: one resource per call \
             (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_ListTagsForResource.html)"
        }
        ("kms", "GetKeyPolicy") => {
            "no: one key per call; read so that a key whose policy was never written (an \
             interrupted create) or was changed is seen to differ \
             (https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html)"
        }
        ("kms", "ListResourceTags")
        | ("monitoring", "ListTagsForResource")
        | ("sns", "ListTagsForResource") => {
            "not in the service's own API (one resource per call), but the Resource Groups \
             Tagging API's `GetResources` returns the tags of every resource of a type \
             (`kms:key`, `cloudwatch:alarm`, `sns`), or with a tag such as \
             `engine:stack-id`, up to 100 per page \
             (https://docs.aws.amazon.com/resourcegroupstagging/latestAPIReference/API_GetResources.html); \
             a list, so it may lag right after a change"
        }
        ("sns", "GetTopicAttributes") => {
            "no: one topic per call, and `ListTopics` returns only ARNs \
             (https://docs.aws.amazon.com/sns/latest/api/API_GetTopicAttributes.html)"
        }
        _ => "see the service's API reference",
    }
}

fn by_action(calls: &Calls) -> String {
    calls
        .iter()
        .map(|((s, a), n)| format!("{s} {a} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn economy_section(economies: &[Economy]) -> String {
    let mut out = String::from(
        "### API economy of refresh\n\n\
         Each stack is applied (moto emptied first, no latency), then `engine refresh` \
         runs through the fault proxy with no fault; its request log gives the calls by \
         service and action. For the calls of each kind, the state is split into one \
         state per kind and each is refreshed alone (`--state`); their sum is checked \
         against the whole refresh. The generator stack has ",
    );
    out.push_str(&format!(
        "{REFRESH_N} resources, the size the issue names: moto applies it (it enforces no \
         VPC limit on its {} VPCs), and its refresh is measured whole and kind by kind \
         within the bench's time.\n\n",
        REFRESH_N / 10
    ));
    let mut per_resource: Vec<String> = Vec::new();
    let mut notes: BTreeMap<String, &str> = BTreeMap::new();
    for e in economies {
        let resources: usize = e.kinds.values().map(|(n, _)| n).sum();
        let whole: usize = e.whole.values().sum();
        let sum: usize = e
            .kinds
            .values()
            .map(|(_, c)| c.values().sum::<usize>())
            .sum();
        out.push_str(&format!(
            "**{}**: {resources} resources, applied in {} (the engine's CPU {}; the state, \
             {} KiB at the end, saved {} times: before each create and after each \
             operation); `engine refresh` made {whole} calls in {} ({:.2} per resource, {:.0} ms \
             per call: it makes them one after another, the kinds in turn and within a kind \
             each per-resource read in turn); the kinds refreshed alone made {sum}{}.\n\n",
            e.name,
            report::secs(e.applied.wall),
            report::secs(e.applied.cpu),
            e.applied.state_bytes / 1024,
            e.applied.ops.len() * 2,
            report::secs(e.refresh_wall),
            whole as f64 / resources.max(1) as f64,
            e.refresh_wall.as_secs_f64() * 1000.0 / whole.max(1) as f64,
            if sum == whole {
                ", the same"
            } else {
                " (they differ)"
            },
        ));
        out.push_str(
            "| kind | resources | calls | calls per resource | calls by service and action |\n\
             |---|---:|---:|---:|---|\n",
        );
        for (kind, (n, calls)) in &e.kinds {
            let c: usize = calls.values().sum();
            out.push_str(&format!(
                "| {kind} | {n} | {c} | {:.2} | {} |\n",
                c as f64 / (*n).max(1) as f64,
                by_action(calls)
            ));
            for ((service, action), k) in calls {
                if *n >= 2 && *k >= *n {
                    per_resource.push(format!(
                        "| {} | {kind} | {service} {action} | {n} | {k} |",
                        e.name
                    ));
                    notes.insert(
                        format!("{kind}: {service} {action}"),
                        batching(kind, service, action),
                    );
                }
            }
        }
        out.push_str(&format!(
            "| **all** | {resources} | {whole} | {:.2} | {} |\n\n",
            whole as f64 / resources.max(1) as f64,
            by_action(&e.whole)
        ));
    }
    out.push_str(&format!(
        "Goal: calls grow with kinds and pages, not with resources. **{}",
        if per_resource.is_empty() {
            "Met**: no kind with two resources or more makes a call per resource.\n".to_string()
        } else {
            format!(
                "Not met**: {} reads are made once per resource (of kinds with two resources \
                 or more):\n\n\
                 | stack | kind | call | resources | calls |\n\
                 |---|---|---|---:|---:|\n{}\n\n\
                 Whether AWS could answer them in batches (its API reference):\n\n{}\n",
                per_resource.len(),
                per_resource.join("\n"),
                notes
                    .iter()
                    .map(|(call, note)| format!("- {call}: {note}."))
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        }
    ));
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
