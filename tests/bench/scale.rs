//! `just bench`, issue 17 (deliverables 3, 4 and 7): whole-process `engine plan` at
//! 1,000, 10,000 and 100,000 resources, against an empty state and against a full
//! state with 1% changed, beside `terraform plan -refresh=false` of an equivalent
//! configuration measured in the same run; then the cold start (no compiled-code
//! cache) against the warm one.
//!
//! Every run is the release `engine` binary as a user runs it: a stack directory
//! with an `engine.toml`, the plan printed to a file, the process's wall time from
//! spawn to exit and its peak resident memory (`ru_maxrss` from `wait4`). The
//! resources come from the generator guest (`tests/guests/generator`, built from
//! source): groups of ten (a VPC, two subnets, a security group open to the VPC's
//! CIDR, a KMS key, an SNS topic encrypted with it, four alarms notifying it).
//!
//! The full state is made the way an apply makes it, without AWS: the plan of the
//! generator at 0% changed (`engine plan --out`) is executed by `engine-exec` with
//! an in-process provider that answers at once with made-up ids, and the state is
//! written once to the stack's `.engine/` through `engine-state`.
//!
//! Figures go to stdout, and with `--write FILE` to the `scale` section of that file
//! (BENCHMARKS.md). Knobs, for development and for slow machines:
//! - `ENGINE_BENCH_SCALE_SIZES=1000,10000`: the sizes (default 1,000, 10,000, 100,000);
//! - `ENGINE_BENCH_TF_PLUGIN_DIR`: the Terraform provider mirror (default
//!   `/opt/tf-plugins`, holding `registry.terraform.io/hashicorp/aws/VERSION/OS_ARCH`);
//! - `ENGINE_BENCH_TF_BUDGET_SECS` (default 300): Terraform runs at a size only when
//!   one run there is expected (extrapolated from the smaller sizes) to take at most
//!   this long; `ENGINE_BENCH_TF_ALL=1` runs it at every size regardless.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// a bench: a failed unwrap is a failed run
// One `wait4` call, to read a child's peak memory (std has no safe way).
#![allow(unsafe_code)]

#[path = "../common/mod.rs"]
mod common;
#[path = "report.rs"]
mod report;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use engine_core::{Address, Plan, SavedPlan, Spec, State};
use engine_exec::{Options, Stop, execute};
use engine_provider::{
    Attributes, Existing, OpContext, Provider, ProviderError, ReadRequest, ReadResult,
    StackIdentity,
};
use engine_state::{LocalBackend, LockInfo, StateBackend};
use serde_json::json;

/// The stack every run plans.
const STACK: &str = "scale";
const REGION: &str = "us-east-1";
const ENVIRONMENT: &str = "bench";
/// Pinned zones: no AWS call for them (the generator names its own zones).
const ZONES: &str = "availability-zones=us-east-1a,us-east-1b";
/// The share of the full state changed.
const CHANGED_PERCENT: usize = 1;
/// The sizes measured unless `ENGINE_BENCH_SCALE_SIZES` says otherwise.
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
/// The goals of issue 17.
const GOAL_10K: Duration = Duration::from_millis(300);
const GOAL_100K: Duration = Duration::from_secs(3);
const GOAL_100K_RSS_KIB: u64 = 1024 * 1024;
/// Growth counts as near-linear when each tenfold step of N multiplies the time by
/// at most 10^1.1 (about 12.6): a local exponent of at most 1.1.
const LINEAR_EXPONENT: f64 = 1.1;
/// Runs of the cold-start comparison, each way.
const COLD_RUNS: usize = 5;

/// Runs per measurement at size `n`.
fn runs(n: usize) -> usize {
    if n >= 100_000 { 3 } else { 5 }
}

fn main() {
    let started = Instant::now();
    let engine = PathBuf::from(env!("CARGO_BIN_EXE_engine"));
    let repo = report::repo().canonicalize().expect("the repository");
    let sizes = sizes();
    eprintln!("scale: building the test guests and the JapanCart plugins");
    let guests = engine_build::build_for_tests(&repo.join("tests/guests"));
    let generator = guests.join("generator.wasm");
    let japancart: Vec<PathBuf> = common::japancart().into_iter().map(PathBuf::from).collect();
    let tmp = tempfile::Builder::new()
        .prefix("engine-bench-scale")
        .tempdir()
        .expect("a temp dir");
    let tmp = tmp.path();

    let cold = cold_start(&engine, tmp, &generator, &japancart);

    // One code cache for every scale run, warmed by a plan of one group.
    let cache = tmp.join("code");
    let warm_dir = stack_dir(tmp, "warm-up");
    let warm_up = run_engine(&engine, &warm_dir, &cache, &generator, 10, 0, &[]);
    assert_eq!(warm_up.code, Some(0), "warm-up plan: {}", warm_up.err);

    let tf = Terraform::setup(tmp);
    if let Err(why) = &tf {
        eprintln!("scale: Terraform is not measured: {why}");
    }
    let mut rows = Vec::new();
    for &n in &sizes {
        let mut row = Row {
            n,
            runs: runs(n),
            empty: None,
            full: None,
            setup: None,
            terraform: TfCell::Unavailable,
        };
        row.empty = Some(series(
            &format!("engine plan, empty state, N={n}"),
            row.runs,
            || {
                let dir = stack_dir(tmp, &format!("empty-{n}"));
                let s = run_engine(&engine, &dir, &cache, &generator, n, 0, &[]);
                check_engine(
                    &s,
                    &format!("Plan: {n} to create, 0 to update, 0 to replace, 0 to delete."),
                );
                s
            },
        ));
        let dir = stack_dir(tmp, &format!("full-{n}"));
        match full_state(&engine, &dir, &cache, &generator, n) {
            Ok(setup) => {
                eprintln!(
                    "scale: full state of {n} resources in {:.2} s (plan {:.2} s, apply {:.2} s, write {:.2} s, {} MiB)",
                    setup.total().as_secs_f64(),
                    setup.plan.as_secs_f64(),
                    setup.apply.as_secs_f64(),
                    setup.write.as_secs_f64(),
                    setup.bytes / (1024 * 1024)
                );
                row.setup = Some(Ok(setup));
                let updated = n * CHANGED_PERCENT / 100;
                row.full = Some(series(
                    &format!("engine plan, full state, {CHANGED_PERCENT}% changed, N={n}"),
                    row.runs,
                    || {
                        let s =
                            run_engine(&engine, &dir, &cache, &generator, n, CHANGED_PERCENT, &[]);
                        check_engine(
                            &s,
                            &format!(
                                "Plan: 0 to create, {updated} to update, 0 to replace, 0 to delete."
                            ),
                        );
                        s
                    },
                ));
            }
            Err(why) => {
                eprintln!("scale: no full state of {n} resources: {why}");
                row.setup = Some(Err(why));
            }
        }
        if let Ok(tf) = &tf {
            row.terraform = tf.measure(tmp, n, &rows, row.runs);
        }
        rows.push(row);
    }

    let tf_info = tf.as_ref().map(|t| t.describe()).map_err(Clone::clone);
    let md = section(&rows, &tf_info, &cold, started.elapsed());
    println!("{md}");
    if let Some(path) = report::write_target() {
        report::write_section(&path, "scale", &md);
    }
}

/// The sizes: `ENGINE_BENCH_SCALE_SIZES` (comma-separated), else [`SIZES`].
fn sizes() -> Vec<usize> {
    match std::env::var("ENGINE_BENCH_SCALE_SIZES") {
        Ok(list) if !list.trim().is_empty() => list
            .split(',')
            .map(|s| {
                s.trim()
                    .replace('_', "")
                    .parse()
                    .expect("ENGINE_BENCH_SCALE_SIZES: numbers")
            })
            .collect(),
        _ => SIZES.to_vec(),
    }
}

// ---------------------------------------------------------------------------------
// Running a process and measuring it.

/// One whole-process run.
#[derive(Clone, Debug)]
struct Sample {
    wall: Duration,
    /// `ru_maxrss` of the process (its largest waited-for descendant's, if higher).
    peak_kib: u64,
    /// The highest sum of the resident memory of the process and its descendants,
    /// sampled every 50 ms (only when asked for: Terraform runs its provider as a
    /// second process).
    tree_peak_kib: u64,
    code: Option<i32>,
    /// The end of its stdout.
    tail: String,
    /// The end of its stderr.
    err: String,
}

/// Runs `cmd` with its stdout to `out` (and stderr beside it), and measures it.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which std does not see
fn measure(mut cmd: Command, out: &Path, sample_tree: bool) -> Sample {
    let stdout = std::fs::File::create(out).expect("creates the output file");
    let err_path = out.with_extension("stderr");
    let stderr = std::fs::File::create(&err_path).expect("creates the error file");
    cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    let started = Instant::now();
    let child = cmd.spawn().expect("runs the command");
    let pid = child.id();
    let done = Arc::new(AtomicBool::new(false));
    let tree_peak = Arc::new(AtomicU64::new(0));
    let sampler = sample_tree.then(|| {
        let (done, peak) = (done.clone(), tree_peak.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                peak.fetch_max(tree_rss_kib(pid), Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    });
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in; `pid` is our child, not
    // yet waited for (std's `Child` is never waited on after this).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
    let wall = started.elapsed();
    done.store(true, Ordering::SeqCst);
    if let Some(s) = sampler {
        s.join().expect("the sampler");
    }
    drop(child);
    Sample {
        wall,
        // Linux reports KiB.
        peak_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        tree_peak_kib: tree_peak.load(Ordering::SeqCst),
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        tail: tail(out, 16 * 1024),
        err: tail(&err_path, 16 * 1024),
    }
}

/// The last `bytes` of a file, as text.
fn tail(path: &Path, bytes: u64) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    f.seek(SeekFrom::Start(len.saturating_sub(bytes))).ok();
    let mut v = Vec::new();
    f.read_to_end(&mut v).ok();
    String::from_utf8_lossy(&v).into_owned()
}

/// The resident memory of `root` and every descendant, in KiB (from /proc).
fn tree_rss_kib(root: u32) -> u64 {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces, so split after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut total = 0;
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        total += status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0);
        todo.extend(children.get(&pid).into_iter().flatten());
    }
    total
}

/// Several runs of one measurement.
#[derive(Clone, Debug)]
struct Series {
    samples: Vec<Sample>,
    /// The first failed run (a non-zero exit), with its error.
    failed: Option<String>,
}

impl Series {
    fn median(&self) -> Option<Duration> {
        (self.failed.is_none() && !self.samples.is_empty())
            .then(|| report::stats(self.samples.iter().map(|s| s.wall).collect()).0)
    }

    /// The highest peak of the runs.
    fn peak_kib(&self) -> Option<u64> {
        (self.failed.is_none()).then(|| self.samples.iter().map(|s| s.peak_kib).max())?
    }

    /// The highest peak of the process trees.
    fn tree_peak_kib(&self) -> Option<u64> {
        (self.failed.is_none()).then(|| self.samples.iter().map(|s| s.tree_peak_kib).max())?
    }
}

/// `runs` runs of `one`, stopping at the first that fails.
fn series(what: &str, runs: usize, one: impl FnMut() -> Sample) -> Series {
    let mut s = Series {
        samples: Vec::new(),
        failed: None,
    };
    more_runs(&mut s, what, runs, one);
    s
}

/// Adds runs of `one` to `s` until it holds `total` (or one fails).
fn more_runs(s: &mut Series, what: &str, total: usize, mut one: impl FnMut() -> Sample) {
    while s.failed.is_none() && s.samples.len() < total {
        let sample = one();
        eprintln!(
            "scale: {what}: run {}/{total}: {:.3} s, peak RSS {}",
            s.samples.len() + 1,
            sample.wall.as_secs_f64(),
            mib(sample.peak_kib.max(sample.tree_peak_kib))
        );
        if sample.code != Some(0) {
            s.failed = Some(first_error(&sample.err));
            eprintln!("scale: {what} failed: {}", sample.err.trim());
            break;
        }
        s.samples.push(sample);
    }
}

/// The error line of a failed run's stderr (its first line that says error).
fn first_error(err: &str) -> String {
    let line = err
        .lines()
        .find(|l| l.to_lowercase().contains("error"))
        .or_else(|| err.lines().find(|l| !l.trim().is_empty()))
        .unwrap_or("(no message)");
    let line = line.trim();
    if line.chars().count() > 200 {
        format!("{}...", line.chars().take(200).collect::<String>())
    } else {
        line.to_string()
    }
}

// ---------------------------------------------------------------------------------
// The engine.

/// A stack directory `tmp/name` with its `engine.toml`.
fn stack_dir(tmp: &Path, name: &str) -> PathBuf {
    let dir = tmp.join(name);
    std::fs::create_dir_all(&dir).expect("creates the stack directory");
    std::fs::write(
        dir.join("engine.toml"),
        format!(
            "[stack]\nname = \"{STACK}\"\nregion = \"{REGION}\"\nenvironment = \"{ENVIRONMENT}\"\n"
        ),
    )
    .expect("writes engine.toml");
    dir
}

/// The `engine` command in `dir`: no colour, the code cache `cache`, no AWS.
fn engine_command(engine: &Path, dir: &Path, cache: &Path) -> Command {
    let mut cmd = Command::new(engine);
    cmd.current_dir(dir)
        .env("ENGINE_CACHE_DIR", cache)
        .env("NO_COLOR", "1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // Any AWS call would fail at once rather than wait (none is expected).
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("ENGINE_LOG")
        .env_remove("ENGINE_STATE")
        .env_remove("ENGINE_STACK")
        .env_remove("ENGINE_PROGRESS");
    cmd
}

/// `engine plan generator.wasm` of `n` resources, `changed` percent changed, in `dir`.
fn run_engine(
    engine: &Path,
    dir: &Path,
    cache: &Path,
    generator: &Path,
    n: usize,
    changed: usize,
    extra: &[&str],
) -> Sample {
    let mut cmd = engine_command(engine, dir, cache);
    cmd.arg("plan")
        .args(extra)
        .arg(generator)
        .args(["-c", &format!("generator-count={n}")])
        .args(["-c", &format!("generator-changed-percent={changed}")])
        .args(["-c", ZONES]);
    measure(cmd, &dir.join("plan.txt"), false)
}

/// A successful run's summary must be `expected`; a failed run is reported, not
/// checked (a limit may stop a large stack).
fn check_engine(s: &Sample, expected: &str) {
    if s.code != Some(0) {
        return;
    }
    let summary = s
        .tail
        .lines()
        .rev()
        .find(|l| l.starts_with("Plan: "))
        .unwrap_or("(no summary)");
    assert_eq!(summary, expected, "the plan's summary; stderr: {}", s.err);
}

/// How the full state was made.
#[derive(Clone, Debug)]
struct Setup {
    /// `engine plan --out` at 0% changed (whole process).
    plan: Duration,
    /// Reading the saved plan and executing it with the in-process provider.
    apply: Duration,
    /// Writing the state to `.engine/`.
    write: Duration,
    /// The state file's size.
    bytes: u64,
}

impl Setup {
    fn total(&self) -> Duration {
        self.plan + self.apply + self.write
    }
}

/// Makes the state of an apply of `n` generated resources in `dir/.engine`.
fn full_state(
    engine: &Path,
    dir: &Path,
    cache: &Path,
    generator: &Path,
    n: usize,
) -> Result<Setup, String> {
    let saved_path = dir.join("setup.plan");
    let saved_arg = saved_path.display().to_string();
    let s = run_engine(engine, dir, cache, generator, n, 0, &["--out", &saved_arg]);
    if s.code != Some(0) {
        return Err(format!(
            "`engine plan --out` failed: {}",
            first_error(&s.err)
        ));
    }
    check_engine(
        &s,
        &format!("Plan: {n} to create, 0 to update, 0 to replace, 0 to delete."),
    );
    let started = Instant::now();
    let text = std::fs::read_to_string(&saved_path).expect("reads the saved plan");
    let plan: Plan = SavedPlan::from_json(&text).expect("a saved plan").plan;
    drop(text);
    std::fs::remove_file(&saved_path).ok();
    let mut state = State::empty();
    state.lineage = engine_state::new_lineage();
    state.environment = Some(ENVIRONMENT.to_string());
    let options = Options {
        parallelism: 64,
        stack: StackIdentity::new(STACK, state.lineage.clone()),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let report = rt.block_on(execute(
        &plan,
        &mut state,
        Arc::new(InstantCloud::default()),
        // The state is written once, below, not after every operation.
        &mut |_: &mut State| Ok(()),
        &options,
        Arc::new(|_: &engine_exec::Event| {}),
        &Stop::default(),
    ));
    assert!(report.complete(), "the setup apply: {report:?}");
    assert_eq!(state.resources.len(), n, "resources in the full state");
    let apply = started.elapsed();
    drop(plan);

    let started = Instant::now();
    let backend = LocalBackend::new(dir.join(engine_state::local::DEFAULT_DIR));
    let lock = backend
        .lock(LockInfo::current(
            "engine bench setup (tests/bench/scale.rs)",
        ))
        .map_err(|e| e.to_string())?;
    backend
        .write(&lock, &mut state)
        .map_err(|e| e.to_string())?;
    drop(lock);
    let write = started.elapsed();
    let bytes = std::fs::metadata(backend.state_path())
        .map(|m| m.len())
        .unwrap_or(0);
    Ok(Setup {
        plan: s.wall,
        apply,
        write,
        bytes,
    })
}

/// A provider that answers every call at once: creates get made-up ids and ARNs
/// (attributes that echo a property echo it), nothing exists beforehand.
#[derive(Default)]
struct InstantCloud {
    next_id: AtomicUsize,
}

#[async_trait]
impl Provider for InstantCloud {
    async fn create(
        &self,
        address: &Address,
        spec: &Spec,
        _cx: &OpContext,
    ) -> Result<Attributes, ProviderError> {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let kind = spec.kind();
        let props = spec.properties();
        let mut a = Attributes::new();
        for (name, ty) in kind.schema().attributes {
            let v = match props.get(*name) {
                Some(v) if !v.is_null() => v.clone(),
                _ if *ty == engine_core::schema::AttrType::Number => json!(n),
                _ if *name == "arn" => json!(format!(
                    "arn:aws:{}:{REGION}:123456789012:{}",
                    kind.as_str(),
                    address.name
                )),
                _ => json!(format!("{}-{n:012x}", kind.as_str())),
            };
            a.insert(name.to_string(), v);
        }
        Ok(a)
    }

    async fn read_batch(
        &self,
        _kind: engine_core::Kind,
        requests: &[ReadRequest],
    ) -> Result<Vec<ReadResult>, ProviderError> {
        Ok(requests.iter().map(|_| ReadResult::Gone).collect())
    }

    async fn update(
        &self,
        _address: &Address,
        _old: &Spec,
        _new: &Spec,
        attributes: &Attributes,
        _cx: &OpContext,
    ) -> Result<Attributes, ProviderError> {
        Ok(attributes.clone())
    }

    async fn delete(
        &self,
        _address: &Address,
        _spec: &Spec,
        _attributes: &Attributes,
        _cx: &OpContext,
    ) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn find_existing(
        &self,
        _address: &Address,
        _spec: &Spec,
        _stack: &StackIdentity,
    ) -> Result<Option<Existing>, ProviderError> {
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------
// Terraform.

/// Terraform, initialised in a working directory of its own.
struct Terraform {
    bin: PathBuf,
    dir: PathBuf,
    cli_config: PathBuf,
    version: String,
    provider: String,
    mirror: PathBuf,
}

/// Terraform's figures at one size.
#[derive(Clone, Debug)]
enum TfCell {
    /// Not on this machine (the reason is said once, above the table).
    Unavailable,
    /// Not run at this size, and why.
    NotRun(String),
    Measured(Series),
}

impl Terraform {
    /// Finds `terraform` and the AWS provider mirror and runs `terraform init`;
    /// `Err` says what is missing.
    fn setup(tmp: &Path) -> Result<Terraform, String> {
        let bin = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join("terraform"))
            .find(|p| p.is_file())
            .ok_or("`terraform` is not on the PATH")?;
        let mirror = std::env::var_os("ENGINE_BENCH_TF_PLUGIN_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/opt/tf-plugins"));
        let aws = mirror.join("registry.terraform.io/hashicorp/aws");
        let mut versions: Vec<String> = std::fs::read_dir(&aws)
            .map_err(|_| {
                format!(
                    "the hashicorp/aws provider is not in {} (set ENGINE_BENCH_TF_PLUGIN_DIR to a \
                     provider mirror: registry.terraform.io/hashicorp/aws/VERSION/OS_ARCH)",
                    mirror.display()
                )
            })?
            .flatten()
            .filter(|e| e.path().join(platform()).is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        versions.sort_by_key(|v| {
            v.split('.')
                .map(|p| p.parse::<u64>().unwrap_or(0))
                .collect::<Vec<_>>()
        });
        let provider = versions.pop().ok_or_else(|| {
            format!(
                "no hashicorp/aws provider for {} in {}",
                platform(),
                aws.display()
            )
        })?;
        let dir = tmp.join("terraform");
        std::fs::create_dir_all(&dir).expect("creates the Terraform directory");
        // An empty CLI configuration: nothing from the user's (plugin caches, mirrors).
        let cli_config = tmp.join("terraform.tfrc");
        std::fs::write(&cli_config, "").expect("writes the CLI configuration");
        std::fs::write(dir.join("providers.tf"), providers_tf(&provider))
            .expect("writes providers.tf");
        let mut t = Terraform {
            bin,
            dir,
            cli_config,
            version: String::new(),
            provider,
            mirror,
        };
        let out = t
            .command()
            .arg("version")
            .output()
            .map_err(|e| format!("`terraform version` failed: {e}"))?;
        t.version = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("Terraform (unknown version)")
            .trim()
            .to_string();
        let mut init = t.command();
        init.arg("init")
            .arg(format!("-plugin-dir={}", t.mirror.display()))
            .args(["-input=false", "-no-color"]);
        let s = measure(init, &tmp.join("terraform-init.txt"), false);
        if s.code != Some(0) {
            return Err(format!(
                "`terraform init -plugin-dir={}` failed: {}",
                t.mirror.display(),
                first_error(&s.err)
            ));
        }
        eprintln!(
            "scale: {} with hashicorp/aws {} from {} (init {:.1} s)",
            t.version,
            t.provider,
            t.mirror.display(),
            s.wall.as_secs_f64()
        );
        Ok(t)
    }

    /// `terraform` in its directory, isolated from the user's settings and the network.
    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("TF_LOG")
            .env_remove("TF_DATA_DIR")
            .env_remove("TF_PLUGIN_CACHE_DIR")
            .env_remove("TF_WORKSPACE")
            .env_remove("AWS_PROFILE");
        cmd
    }

    /// One `terraform plan -refresh=false` of `n` resources.
    fn plan(&self, tmp: &Path, n: usize) -> Sample {
        let mut cmd = self.command();
        cmd.args([
            "plan",
            "-refresh=false",
            "-input=false",
            "-lock=false",
            "-no-color",
        ]);
        let s = measure(cmd, &tmp.join(format!("terraform-plan-{n}.txt")), true);
        if s.code == Some(0) {
            let summary = s
                .tail
                .lines()
                .find(|l| l.starts_with("Plan: "))
                .unwrap_or("(no summary)");
            assert_eq!(
                summary,
                format!("Plan: {n} to add, 0 to change, 0 to destroy."),
                "terraform's summary; stderr: {}",
                s.err
            );
        }
        s
    }

    /// Terraform at size `n`, unless the sizes before say it would take too long
    /// or too much memory.
    fn measure(&self, tmp: &Path, n: usize, before: &[Row], runs: usize) -> TfCell {
        if std::env::var_os("ENGINE_BENCH_TF_ALL").is_none()
            && let Some(why) = tf_skip(n, before)
        {
            eprintln!("scale: terraform plan at N={n} not run: {why}");
            return TfCell::NotRun(why);
        }
        std::fs::write(self.dir.join("main.tf"), terraform_config(n)).expect("writes main.tf");
        let what = format!("terraform plan -refresh=false, N={n}");
        let mut all = series(&what, 1, || self.plan(tmp, n));
        if all.failed.is_none() {
            // As many runs as the engine's, fewer when one run is long.
            let wall = all.samples[0].wall;
            let total = if wall < Duration::from_secs(30) {
                runs
            } else if wall < Duration::from_secs(120) {
                runs.min(3)
            } else {
                1
            };
            more_runs(&mut all, &what, total, || self.plan(tmp, n));
        }
        std::fs::remove_file(self.dir.join("main.tf")).ok();
        TfCell::Measured(all)
    }

    fn describe(&self) -> TfInfo {
        TfInfo {
            version: self.version.clone(),
            provider: self.provider.clone(),
            mirror: self.mirror.display().to_string(),
        }
    }
}

/// What the section says about the Terraform used.
#[derive(Clone, Debug)]
struct TfInfo {
    version: String,
    provider: String,
    mirror: String,
}

/// The provider directory's platform name.
fn platform() -> String {
    let os = std::env::consts::OS;
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}_{arch}")
}

/// Why Terraform should not run at `n`, from its figures at the smaller sizes:
/// one run's time and memory extrapolated with the growth measured between the
/// two largest sizes run (at least linear; linear from one size).
fn tf_skip(n: usize, before: &[Row]) -> Option<String> {
    let budget = std::env::var("ENGINE_BENCH_TF_BUDGET_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(300.0);
    let measured: Vec<(usize, f64, f64)> = before
        .iter()
        .filter_map(|r| match &r.terraform {
            TfCell::Measured(s) => Some((
                r.n,
                s.median()?.as_secs_f64(),
                s.tree_peak_kib()?.max(s.peak_kib()?) as f64,
            )),
            _ => None,
        })
        .collect();
    if let Some(prev) = before.last()
        && !matches!(prev.terraform, TfCell::Measured(_))
    {
        return Some(format!("not run at {} either", thousands(prev.n)));
    }
    let (time, rss, how) = match measured.as_slice() {
        [] => return None,
        [.., (n1, t1, m1), (n2, t2, m2)] => {
            let measured = (t2 / t1).ln() / (*n2 as f64 / *n1 as f64).ln();
            let k = measured.max(1.0);
            let km = ((m2 / m1).ln() / (*n2 as f64 / *n1 as f64).ln()).max(1.0);
            let f = n as f64 / *n2 as f64;
            let growth = if measured < 1.0 {
                format!(
                    "linear from {}; it grew as N^{measured:.2} from {}, counted as linear",
                    thousands(*n2),
                    thousands(*n1)
                )
            } else {
                format!(
                    "growing as N^{k:.2} from {} to {}",
                    thousands(*n1),
                    thousands(*n2)
                )
            };
            (t2 * f.powf(k), m2 * f.powf(km), growth)
        }
        [(n1, t1, m1)] => {
            let f = n as f64 / *n1 as f64;
            (t1 * f, m1 * f, format!("linear from {}", thousands(*n1)))
        }
    };
    let available = mem_available_kib() as f64;
    if time > budget {
        return Some(format!(
            "one run would take about {time:.0} s ({how}), over the budget of {budget:.0} s; \
             ENGINE_BENCH_TF_BUDGET_SECS sets it, ENGINE_BENCH_TF_ALL=1 runs it anyway"
        ));
    }
    if available > 0.0 && rss > 0.8 * available {
        return Some(format!(
            "it would need about {} of memory ({how}), more than 80% of the {} available \
             (ENGINE_BENCH_TF_ALL=1 runs it anyway)",
            mib(rss as u64),
            mib(available as u64)
        ));
    }
    None
}

/// The `MemAvailable` of /proc/meminfo, in KiB (0 when unknown).
fn mem_available_kib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse().ok())
        })
        .unwrap_or(0)
}

/// The provider, pinned to the mirror's version, with credentials that are never
/// checked (a plan with `-refresh=false` makes no AWS call).
fn providers_tf(version: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "{version}"
    }}
  }}
}}

provider "aws" {{
  region                      = "{REGION}"
  access_key                  = "bench"
  secret_key                  = "bench"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}}
"#
    )
}

/// The generator's stack in HCL: the same resources in the same groups of ten, the
/// same properties, tags and references (the key policy the engine writes for a
/// key with service principals, with a made-up account).
fn terraform_config(n: usize) -> String {
    let mut s = String::with_capacity(n * 800);
    let tags = |name: &str| {
        format!(
            "  tags = {{\n    project       = \"{STACK}\"\n    environment   = \"{ENVIRONMENT}\"\n    \"managed-by\"  = \"engine\"\n    Name          = \"{name}\"\n  }}\n"
        )
    };
    let mut left = n;
    let mut g = 0usize;
    while left > 0 {
        let count = left.min(10);
        left -= count;
        let (a, b) = ((g >> 8) & 0xff, g & 0xff);
        let mut blocks: Vec<String> = Vec::with_capacity(10);
        blocks.push(format!(
            "resource \"aws_vpc\" \"g{g}_vpc\" {{\n  cidr_block           = \"10.{a}.{b}.0/24\"\n  enable_dns_support   = true\n  enable_dns_hostnames = true\n{}}}\n",
            tags(&format!("g{g}-vpc"))
        ));
        for (i, (half, zone)) in [("0/25", "a"), ("128/25", "b")].iter().enumerate() {
            blocks.push(format!(
                "resource \"aws_subnet\" \"g{g}_subnet_{i}\" {{\n  vpc_id                  = aws_vpc.g{g}_vpc.id\n  cidr_block              = \"10.{a}.{b}.{half}\"\n  availability_zone       = \"{REGION}{zone}\"\n  map_public_ip_on_launch = false\n{}}}\n",
                tags(&format!("g{g}-subnet-{i}"))
            ));
        }
        blocks.push(format!(
            "resource \"aws_security_group\" \"g{g}_sg\" {{\n  name        = \"g{g}-sg-{ENVIRONMENT}\"\n  description = \"HTTPS from inside the VPC\"\n  vpc_id      = aws_vpc.g{g}_vpc.id\n  ingress {{\n    description = \"HTTPS from the VPC\"\n    protocol    = \"tcp\"\n    from_port   = 443\n    to_port     = 443\n    cidr_blocks = [aws_vpc.g{g}_vpc.cidr_block]\n  }}\n  egress = []\n{}}}\n",
            tags(&format!("g{g}-sg"))
        ));
        blocks.push(format!(
            "resource \"aws_kms_key\" \"g{g}_key\" {{\n  description             = \"Encrypts group {g}'s notifications\"\n  enable_key_rotation     = true\n  deletion_window_in_days = 7\n  policy = jsonencode({{\n    Version = \"2012-10-17\"\n    Id      = \"engine-key-policy\"\n    Statement = [\n      {{ Sid = \"AccountAdministersTheKey\", Effect = \"Allow\", Principal = {{ AWS = \"arn:aws:iam::123456789012:root\" }}, Action = \"kms:*\", Resource = \"*\" }},\n      {{ Sid = \"ServicesUseTheKey\", Effect = \"Allow\", Principal = {{ Service = [\"cloudwatch.amazonaws.com\"] }}, Action = [\"kms:Decrypt\", \"kms:GenerateDataKey*\"], Resource = \"*\" }},\n    ]\n  }})\n{}}}\n",
            tags(&format!("g{g}-key"))
        ));
        blocks.push(format!(
            "resource \"aws_sns_topic\" \"g{g}_topic\" {{\n  name              = \"g{g}-topic-{ENVIRONMENT}\"\n  kms_master_key_id = aws_kms_key.g{g}_key.arn\n{}}}\n",
            tags(&format!("g{g}-topic"))
        ));
        for alarm in 0..4 {
            blocks.push(format!(
                "resource \"aws_cloudwatch_metric_alarm\" \"g{g}_alarm_{alarm}\" {{\n  alarm_name          = \"g{g}-alarm-{alarm}-{ENVIRONMENT}\"\n  alarm_description   = \"Alarm {alarm} of group {g}\"\n  namespace           = \"AWS/EC2\"\n  metric_name         = \"CPUUtilization\"\n  dimensions          = {{ AutoScalingGroupName = \"g{g}-asg\" }}\n  statistic           = \"Average\"\n  period              = 300\n  evaluation_periods  = 2\n  threshold           = 80\n  comparison_operator = \"GreaterThanThreshold\"\n  treat_missing_data  = \"notBreaching\"\n  alarm_actions       = [aws_sns_topic.g{g}_topic.arn]\n  ok_actions          = [aws_sns_topic.g{g}_topic.arn]\n{}}}\n",
                tags(&format!("g{g}-alarm-{alarm}"))
            ));
        }
        for block in blocks.iter().take(count) {
            s.push_str(block);
            s.push('\n');
        }
        g += 1;
    }
    s
}

// ---------------------------------------------------------------------------------
// Cold start.

/// One stack's cold and warm runs.
struct Cold {
    stack: String,
    plugins: usize,
    resources: usize,
    cold: Series,
    warm: Series,
    cache_bytes: u64,
}

/// The first `engine plan` with no compiled-code cache (a new, empty cache
/// directory every run) against the same plan with the cache that run filled.
fn cold_start(engine: &Path, tmp: &Path, generator: &Path, japancart: &[PathBuf]) -> Vec<Cold> {
    let stacks: Vec<(String, Vec<PathBuf>, Vec<String>)> = vec![
        (
            "JapanCart (`plugins/*.wasm`)".into(),
            japancart.to_vec(),
            vec![],
        ),
        (
            "generator, 1,000 resources".into(),
            vec![generator.to_path_buf()],
            vec!["-c".into(), "generator-count=1000".into()],
        ),
    ];
    let mut out = Vec::new();
    for (k, (name, plugins, config)) in stacks.into_iter().enumerate() {
        let dir = stack_dir(tmp, &format!("cold-{k}"));
        let plan = |cache: &Path| {
            let mut cmd = engine_command(engine, &dir, cache);
            cmd.arg("plan")
                .args(&plugins)
                .args(&config)
                .args(["-c", ZONES]);
            measure(cmd, &dir.join("plan.txt"), false)
        };
        let mut r = 0;
        let mut cache = PathBuf::new();
        let cold = series(&format!("cold start, {name}"), COLD_RUNS, || {
            r += 1;
            cache = tmp.join(format!("cold-{k}-code-{r}"));
            plan(&cache)
        });
        let resources = cold
            .samples
            .first()
            .map(|s| created(&s.tail).expect("the plan's summary"))
            .unwrap_or(0);
        let warm = series(&format!("warm start, {name}"), COLD_RUNS, || plan(&cache));
        let cache_bytes = dir_bytes(&cache);
        out.push(Cold {
            stack: name,
            plugins: plugins.len(),
            resources,
            cold,
            warm,
            cache_bytes,
        });
    }
    out
}

/// `N` of a plan summary's `Plan: N to create, ...`.
fn created(tail: &str) -> Option<usize> {
    tail.lines()
        .rev()
        .find_map(|l| l.strip_prefix("Plan: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

// ---------------------------------------------------------------------------------
// The section.

/// One size's figures.
struct Row {
    n: usize,
    runs: usize,
    empty: Option<Series>,
    full: Option<Series>,
    setup: Option<Result<Setup, String>>,
    terraform: TfCell,
}

/// 12,345.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// A series' median time, or why there is none.
fn time_cell(s: Option<&Series>) -> String {
    match s {
        None => "not measured".into(),
        Some(s) => match (&s.failed, s.median()) {
            (Some(e), _) => format!("failed: {}", e.replace('|', "\\|")),
            (None, Some(m)) => report::secs(m),
            (None, None) => "no run".into(),
        },
    }
}

fn rss_cell(s: Option<&Series>) -> String {
    s.and_then(Series::peak_kib)
        .map(mib)
        .unwrap_or_else(|| "".into())
}

/// `a / b` of two medians, as `12.3×`.
fn ratio(a: Option<Duration>, b: Option<Duration>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if !b.is_zero() => {
            format!("{:.1}×", a.as_secs_f64() / b.as_secs_f64())
        }
        _ => "".into(),
    }
}

fn section(rows: &[Row], tf: &Result<TfInfo, String>, cold: &[Cold], elapsed: Duration) -> String {
    let mut md = String::new();
    let w = &mut md;
    let runs: Vec<String> = {
        let mut by_runs: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for r in rows {
            by_runs.entry(r.runs).or_default().push(thousands(r.n));
        }
        by_runs
            .iter()
            .rev()
            .map(|(k, ns)| format!("{k} at {}", ns.join(" and ")))
            .collect()
    };
    let updated_example = rows.first().map(|r| r.n).unwrap_or(1000);
    writeln!(w, "## Plan at scale\n").unwrap();
    writeln!(
        w,
        "Written by `cargo bench -p engine --bench scale -- --write BENCHMARKS.md` (`tests/bench/scale.rs`), \
         on {}, in {:.0} s.\n",
        report::machine(),
        elapsed.as_secs_f64()
    )
    .unwrap();
    writeln!(
        w,
        "Whole-process `engine plan` of the generator guest (`tests/guests/generator`, built from source): \
         resources in groups of ten with a real stack's references (a VPC, two subnets in it, a security \
         group open to the VPC's CIDR block, a KMS key, an SNS topic encrypted with it, four CloudWatch \
         alarms notifying the topic). The release binary runs as a user runs it, in a stack directory with \
         an `engine.toml`, the plan printed to a file, the code cache warm (the cold start is below). Time \
         is wall time from spawn to exit, the median of several runs ({}); peak RSS is the process's \
         `ru_maxrss` (from `wait4`), the highest of the runs.\n",
        runs.join(", ")
    )
    .unwrap();
    writeln!(
        w,
        "- **empty state**: `engine plan generator.wasm -c generator-count=N -c {ZONES}`: N to create.\n\
         - **full state, {CHANGED_PERCENT}% changed**: the same plan with `-c generator-changed-percent={CHANGED_PERCENT}` \
         against the state an apply of it at 0% leaves: N/100 alarms to update in place and nothing else \
         (checked on every run; {} at {}). The state is made without AWS: the saved plan of \
         `engine plan --out` is executed by `engine-exec` with an in-process provider that answers at once \
         with made-up ids, and written once to the stack's `.engine/state.json`.\n\
         - **terraform**: `terraform plan -refresh=false -input=false -lock=false` of the same stack in HCL \
         (`aws_vpc`, two `aws_subnet`, `aws_security_group` with an ingress rule from the VPC's \
         `cidr_block`, `aws_kms_key` with the engine's key policy, `aws_sns_topic` with \
         `kms_master_key_id`, four `aws_cloudwatch_metric_alarm` with `alarm_actions` and `ok_actions` on \
         the topic's ARN, the same names and tags), empty state, measured in the same run. Its peak RSS \
         is the highest sum of the resident memory of `terraform` and its provider process, sampled every \
         50 ms.\n",
        thousands(updated_example * CHANGED_PERCENT / 100),
        thousands(updated_example),
    )
    .unwrap();
    match tf {
        Ok(t) => writeln!(
            w,
            "Terraform: {}, hashicorp/aws {} (from the mirror {}, `terraform init -plugin-dir`). Terraform \
             against a full state is not measured: making its state file means writing every attribute \
             of every resource the AWS provider records, as large a piece of work as this bench; \
             `-refresh=false` keeps its plan offline like the engine's.\n",
            t.version, t.provider, t.mirror
        )
        .unwrap(),
        Err(why) => writeln!(
            w,
            "**Terraform was not measured on this machine: {why}.** The engine's figures are.\n"
        )
        .unwrap(),
    }

    // The table.
    let mut table = String::new();
    let t = &mut table;
    writeln!(
        t,
        "| resources | engine, empty state | peak RSS | engine, full state, {CHANGED_PERCENT}% changed | peak RSS | terraform plan -refresh=false | peak RSS | terraform / engine, time | terraform / engine, RSS |"
    )
    .unwrap();
    writeln!(t, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    let mut notes = Vec::new();
    for r in rows {
        let (tf_time, tf_rss, tf_ratio, tf_rss_ratio) = match &r.terraform {
            TfCell::Unavailable => (
                "not available".into(),
                String::new(),
                String::new(),
                String::new(),
            ),
            TfCell::NotRun(why) => {
                notes.push(format!("Terraform at {}: not run: {why}.", thousands(r.n)));
                (
                    "not run (below)".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                )
            }
            TfCell::Measured(s) => {
                let rss = s.tree_peak_kib().zip(s.peak_kib()).map(|(a, b)| a.max(b));
                let engine_rss = r.empty.as_ref().and_then(Series::peak_kib);
                let rss_ratio = match (rss, engine_rss) {
                    (Some(a), Some(b)) if b > 0 => format!("{:.1}×", a as f64 / b as f64),
                    _ => String::new(),
                };
                if s.samples.len() < r.runs && s.failed.is_none() {
                    notes.push(format!(
                        "Terraform at {}: {} run{} (one run takes {}).",
                        thousands(r.n),
                        s.samples.len(),
                        if s.samples.len() == 1 { "" } else { "s" },
                        report::secs(s.samples[0].wall)
                    ));
                }
                (
                    time_cell(Some(s)),
                    rss.map(mib).unwrap_or_default(),
                    ratio(s.median(), r.empty.as_ref().and_then(Series::median)),
                    rss_ratio,
                )
            }
        };
        if let Some(Err(why)) = &r.setup {
            notes.push(format!("No full state at {}: {why}.", thousands(r.n)));
        }
        writeln!(
            t,
            "| {} ({} runs) | {} | {} | {} | {} | {} | {} | {} | {} |",
            thousands(r.n),
            r.runs,
            time_cell(r.empty.as_ref()),
            rss_cell(r.empty.as_ref()),
            time_cell(r.full.as_ref()),
            rss_cell(r.full.as_ref()),
            tf_time,
            tf_rss,
            tf_ratio,
            tf_rss_ratio,
        )
        .unwrap();
    }
    w.push_str(&table);
    w.push('\n');
    for n in &notes {
        writeln!(w, "- {n}").unwrap();
    }
    if !notes.is_empty() {
        w.push('\n');
    }

    // Growth.
    writeln!(w, "### Growth\n").unwrap();
    writeln!(
        w,
        "Time per resource, and the step from the size before: the ratio of the medians and the local \
         exponent k of N^k (k = 1 is linear; a fixed start-up cost makes it lower at small N).\n"
    )
    .unwrap();
    writeln!(
        w,
        "| resources | engine, empty: per resource | step | k | engine, full {CHANGED_PERCENT}%: per resource | step | k | terraform: per resource | step | k |"
    )
    .unwrap();
    writeln!(w, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    let tf_series = |r: &Row| match &r.terraform {
        TfCell::Measured(s) => Some(s.clone()),
        _ => None,
    };
    for (i, r) in rows.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| &rows[j]);
        let cells = |now: Option<Series>, before: Option<Series>, n0: Option<usize>| {
            let m = now.as_ref().and_then(Series::median);
            let per = m
                .map(|m| format!("{:.1} µs", m.as_secs_f64() * 1e6 / r.n as f64))
                .unwrap_or_default();
            let b = before.as_ref().and_then(Series::median);
            let (step, k) = match (m, b, n0) {
                (Some(m), Some(b), Some(n0)) => (
                    ratio(Some(m), Some(b)),
                    format!("{:.2}", exponent(b, m, n0, r.n)),
                ),
                _ => (String::new(), String::new()),
            };
            format!("{per} | {step} | {k}")
        };
        writeln!(
            w,
            "| {} | {} | {} | {} |",
            thousands(r.n),
            cells(
                r.empty.clone(),
                prev.and_then(|p| p.empty.clone()),
                prev.map(|p| p.n)
            ),
            cells(
                r.full.clone(),
                prev.and_then(|p| p.full.clone()),
                prev.map(|p| p.n)
            ),
            cells(tf_series(r), prev.and_then(tf_series), prev.map(|p| p.n)),
        )
        .unwrap();
    }
    w.push('\n');

    // Goals.
    writeln!(w, "### Goals (issue 17)\n").unwrap();
    let at = |n: usize| rows.iter().find(|r| r.n == n);
    let both_times = |r: &Row| -> Vec<(&'static str, Option<Duration>, Option<u64>)> {
        vec![
            (
                "empty state",
                r.empty.as_ref().and_then(Series::median),
                r.empty.as_ref().and_then(Series::peak_kib),
            ),
            (
                "full state",
                r.full.as_ref().and_then(Series::median),
                r.full.as_ref().and_then(Series::peak_kib),
            ),
        ]
    };
    let time_goal = |n: usize, goal: Duration| -> String {
        match at(n) {
            None => "not measured in this run".into(),
            Some(r) => {
                let figures = both_times(r);
                let met = figures.iter().all(|(_, t, _)| t.is_some_and(|t| t < goal));
                let said: Vec<String> = figures
                    .iter()
                    .map(|(what, t, _)| {
                        format!(
                            "{} ({what})",
                            t.map(report::secs).unwrap_or("failed".into())
                        )
                    })
                    .collect();
                format!(
                    "**{}**: {}",
                    if met { "met" } else { "not met" },
                    said.join(", ")
                )
            }
        }
    };
    writeln!(
        w,
        "- 10,000 resources in under {}: {}",
        report::secs(GOAL_10K),
        time_goal(10_000, GOAL_10K)
    )
    .unwrap();
    writeln!(
        w,
        "- 100,000 resources in under {}: {}",
        report::secs(GOAL_100K),
        time_goal(100_000, GOAL_100K)
    )
    .unwrap();
    let rss_goal = match at(100_000) {
        None => "not measured in this run".into(),
        Some(r) => {
            let figures = both_times(r);
            let met = figures
                .iter()
                .all(|(_, _, m)| m.is_some_and(|m| m < GOAL_100K_RSS_KIB));
            let said: Vec<String> = figures
                .iter()
                .map(|(what, _, m)| format!("{} ({what})", m.map(mib).unwrap_or("failed".into())))
                .collect();
            format!(
                "**{}**: {}",
                if met { "met" } else { "not met" },
                said.join(", ")
            )
        }
    };
    writeln!(
        w,
        "- 100,000 resources in under 1 GiB of peak RSS: {rss_goal}"
    )
    .unwrap();
    let mut steps = Vec::new();
    let mut all_linear = true;
    for pair in rows.windows(2) {
        for (what, a, b) in [
            ("empty state", &pair[0].empty, &pair[1].empty),
            ("full state", &pair[0].full, &pair[1].full),
        ] {
            match (
                a.as_ref().and_then(Series::median),
                b.as_ref().and_then(Series::median),
            ) {
                (Some(a), Some(b)) => {
                    let k = exponent(a, b, pair[0].n, pair[1].n);
                    all_linear &= k <= LINEAR_EXPONENT;
                    steps.push(format!(
                        "k = {k:.2} from {} to {} ({what})",
                        thousands(pair[0].n),
                        thousands(pair[1].n)
                    ));
                }
                _ => {
                    all_linear = false;
                    steps.push(format!(
                        "not measured from {} to {} ({what})",
                        thousands(pair[0].n),
                        thousands(pair[1].n)
                    ));
                }
            }
        }
    }
    writeln!(
        w,
        "- Growth close to linear (every step's k at most {LINEAR_EXPONENT}): {}\n",
        if steps.is_empty() {
            "not measured in this run (one size)".into()
        } else {
            format!(
                "**{}**: {}",
                if all_linear { "met" } else { "not met" },
                steps.join(", ")
            )
        }
    )
    .unwrap();

    // Setup.
    writeln!(w, "### Making the full states\n").unwrap();
    writeln!(
        w,
        "| resources | `engine plan --out` (0% changed) | executed in process | state written | total | state file |"
    )
    .unwrap();
    writeln!(w, "|---:|---:|---:|---:|---:|---:|").unwrap();
    for r in rows {
        match &r.setup {
            Some(Ok(s)) => writeln!(
                w,
                "| {} | {} | {} | {} | {} | {:.1} MiB |",
                thousands(r.n),
                report::secs(s.plan),
                report::secs(s.apply),
                report::secs(s.write),
                report::secs(s.total()),
                s.bytes as f64 / (1024.0 * 1024.0)
            )
            .unwrap(),
            Some(Err(why)) => {
                writeln!(w, "| {} | failed: {why} | | | | |", thousands(r.n)).unwrap()
            }
            None => writeln!(w, "| {} | not made | | | | |", thousands(r.n)).unwrap(),
        }
    }
    w.push('\n');

    // Cold start.
    writeln!(w, "## Cold start\n").unwrap();
    writeln!(
        w,
        "The first `engine plan` after a build, with no compiled-code cache (`ENGINE_CACHE_DIR` a new, empty \
         directory on every run, so every plugin is compiled by cranelift and its code written to the \
         cache), against the next plans, which load that code (warm). Whole process, release build, \
         zones pinned, median of {COLD_RUNS} runs each way, in the same run; peak RSS the highest of the runs.\n"
    )
    .unwrap();
    writeln!(
        w,
        "| stack | plugins | resources | cold | peak RSS | warm | peak RSS | compile cost (cold − warm) | cold / warm | code cache |"
    )
    .unwrap();
    writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|").unwrap();
    for c in cold {
        let (cm, wm) = (c.cold.median(), c.warm.median());
        let diff = match (cm, wm) {
            (Some(a), Some(b)) => report::secs(a.saturating_sub(b)),
            _ => String::new(),
        };
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} MiB |",
            c.stack,
            c.plugins,
            thousands(c.resources),
            time_cell(Some(&c.cold)),
            rss_cell(Some(&c.cold)),
            time_cell(Some(&c.warm)),
            rss_cell(Some(&c.warm)),
            diff,
            ratio(cm, wm),
            c.cache_bytes as f64 / (1024.0 * 1024.0)
        )
        .unwrap();
    }
    md
}

/// The local exponent k of t = c·N^k between (n0, t0) and (n1, t1).
fn exponent(t0: Duration, t1: Duration, n0: usize, n1: usize) -> f64 {
    (t1.as_secs_f64() / t0.as_secs_f64()).ln() / (n1 as f64 / n0 as f64).ln()
}
