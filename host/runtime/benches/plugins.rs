//! Plugin load + instantiate + declare, cold (compiling) and warm (precompiled code
//! from the cache), for each JapanCart plugin and for the whole stack with planning,
//! side by side in one run; then the security baseline over the JapanCart plan as a
//! policy plugin (Rust) and as Rego through the embedded evaluator, cold and warm.
//! `cargo bench -p engine-runtime --bench plugins -- --write BENCHMARKS.md` also
//! writes the figures and the method there.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use engine_core::{Context, Graph, Plan, State};
use engine_runtime::rego::RegoModule;
use engine_runtime::{Limits, PolicyResource, Runtime};

#[path = "../../../tests/bench/report.rs"]
mod report;
use report::{ms, stats};

const PLUGINS: &[&str] = &[
    "vpc",
    "kinesis",
    "secrets",
    "elasticache",
    "rds",
    "monitoring",
];
const COLD_RUNS: usize = 10;
const WARM_RUNS: usize = 200;

fn ctx() -> Context {
    Context {
        stack: "japancart".into(),
        region: "us-east-1".into(),
        environment: "dev".into(),
        config: BTreeMap::new(),
    }
}

/// Load (compile or cache hit) + instantiate + metadata + declare of one plugin.
fn once(rt: &Runtime, path: &Path) -> Duration {
    let start = Instant::now();
    let mut p = rt.load(path).expect("loads");
    let d = p.declare(&ctx()).expect("declares");
    std::hint::black_box(d);
    start.elapsed()
}

/// The plan's resources as a policy plugin sees them (what `engine-policy` hands
/// to `check`).
fn policy_resources(plan: &Plan) -> Vec<PolicyResource> {
    plan.changes
        .iter()
        .map(|c| PolicyResource {
            address: c.address.clone(),
            action: c.action.into(),
            spec: c.spec().expect("reads back"),
            unknown: c.unknown.clone(),
        })
        .collect()
}

/// One baseline's row: its name, its size and one timed run.
type Row<'a> = (&'a str, u64, &'a dyn Fn(&Runtime) -> Duration);

/// The security baseline over `plan`, as the Rust policy plugin and as Rego (the
/// plan rendered as JSON, then evaluated), each cold and warm: its table.
fn policies(plan: &Plan, limits: &Limits, cache: &Path) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let baseline = engine_build::build_for_tests(&repo.join("policies")).join("baseline.wasm");
    let rego = vec![RegoModule {
        file: "policies/baseline.rego".into(),
        source: std::fs::read_to_string(repo.join("policies/baseline.rego")).expect("reads"),
    }];
    let resources = policy_resources(plan);
    let rust = |rt: &Runtime| {
        let start = Instant::now();
        let found = rt
            .load(&baseline)
            .expect("loads")
            .check(&ctx(), &resources)
            .expect("checks");
        assert!(found.is_empty(), "JapanCart passes the baseline: {found:?}");
        start.elapsed()
    };
    let regorus = |rt: &Runtime| {
        let start = Instant::now();
        let input = engine_core::render::json(plan, &ctx());
        let rules = rt
            .evaluate_rego("baseline", &rego, &input, "main")
            .expect("runs")
            .expect("evaluates");
        let found: usize = rules
            .iter()
            .map(|r| r.value.as_array().map_or(1, Vec::len))
            .sum();
        assert_eq!(found, 0, "JapanCart passes the Rego baseline: {rules:?}");
        start.elapsed()
    };
    let warm_rt = Runtime::new(limits.clone(), Some(cache.to_path_buf())).expect("runtime");
    let mut table = String::from(
        "| baseline | size | cold median | cold p90 | warm median | warm p90 |\n|---|---:|---:|---:|---:|---:|\n",
    );
    let rego_size = rego[0].source.len() as u64;
    let rows: [Row; 2] = [
        (
            "policy plugin (`baseline.wasm`)",
            std::fs::metadata(&baseline).map(|m| m.len()).unwrap_or(0),
            &rust,
        ),
        (
            "Rego (`baseline.rego`, embedded evaluator)",
            rego_size,
            &regorus,
        ),
    ];
    for (name, size, run) in rows {
        let cold = stats(
            (0..COLD_RUNS)
                .map(|_| run(&Runtime::new(limits.clone(), None).expect("runtime")))
                .collect(),
        );
        run(&warm_rt);
        let warm = stats((0..WARM_RUNS / 4).map(|_| run(&warm_rt)).collect());
        let _ = writeln!(
            table,
            "| {name} | {} KiB | {} | {} | {} | {} |",
            size / 1024,
            ms(cold.0),
            ms(cold.1),
            ms(warm.0),
            ms(warm.1)
        );
    }
    table
}

fn main() {
    let write = report::write_target();
    let dir =
        engine_build::build_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins"));
    let cache = tempfile::tempdir().expect("temp dir");
    let limits = Limits::default();

    let mut rows = Vec::new();
    for name in PLUGINS {
        let path = dir.join(format!("{name}.wasm"));
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        // Cold: a fresh runtime without a cache compiles every time.
        let cold: Vec<Duration> = (0..COLD_RUNS)
            .map(|_| once(&Runtime::new(limits.clone(), None).expect("runtime"), &path))
            .collect();
        // Warm: precompiled code from the cache (populated by the first load).
        let rt = Runtime::new(limits.clone(), Some(cache.path().to_path_buf())).expect("runtime");
        once(&rt, &path);
        let warm: Vec<Duration> = (0..WARM_RUNS).map(|_| once(&rt, &path)).collect();
        rows.push((name.to_string(), size, stats(cold), stats(warm)));
    }

    // The whole stack: six plugins loaded and declared, merged, validated and planned
    // against an empty state, as `engine plan` does.
    let stack_and_plan = |rt: &Runtime| {
        let start = Instant::now();
        let decls: Vec<_> = PLUGINS
            .iter()
            .map(|n| {
                rt.load(&dir.join(format!("{n}.wasm")))
                    .expect("loads")
                    .declare(&ctx())
                    .expect("declares")
            })
            .collect();
        let graph = Graph::build(&decls).expect("valid");
        let plan = engine_core::plan(&graph, &State::empty(), &BTreeMap::new());
        (start.elapsed(), plan)
    };
    let stack = |rt: &Runtime| stack_and_plan(rt).0;
    let plan = stack_and_plan(&Runtime::new(limits.clone(), None).expect("runtime")).1;
    let stack_cold = stats(
        (0..COLD_RUNS)
            .map(|_| stack(&Runtime::new(limits.clone(), None).expect("rt")))
            .collect(),
    );
    let warm_rt = Runtime::new(limits.clone(), Some(cache.path().to_path_buf())).expect("runtime");
    let stack_warm = stats((0..WARM_RUNS / 4).map(|_| stack(&warm_rt)).collect());

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| plugin | size | cold median | cold p90 | warm median | warm p90 |"
    );
    let _ = writeln!(table, "|---|---:|---:|---:|---:|---:|");
    for (name, size, (cm, cp), (wm, wp)) in &rows {
        let _ = writeln!(
            table,
            "| {name} | {} KiB | {} | {} | {} | {} |",
            size / 1024,
            ms(*cm),
            ms(*cp),
            ms(*wm),
            ms(*wp)
        );
    }
    let _ = writeln!(
        table,
        "| **whole stack** (6 plugins + merge + validate + plan, {} resources) | | {} | {} | {} | {} |",
        plan.changes.len(),
        ms(stack_cold.0),
        ms(stack_cold.1),
        ms(stack_warm.0),
        ms(stack_warm.1)
    );
    println!("{table}");
    let policy_table = policies(&plan, &limits, cache.path());
    println!("{policy_table}");

    if let Some(path) = write {
        let body = format!(
            "## Plugin load + instantiate + declare\n\n\
             `cargo bench -p engine-runtime --bench plugins`. Each figure is one plugin's full\n\
             path from file to declared resources: read the file, compile it (cold) or load its\n\
             precompiled code from the cache (warm), check its world and imports, instantiate it\n\
             in a fresh `Store` with its limits, call `metadata` and `declare`, and convert the\n\
             answer to the host model.\n\n\
             - **cold**: a new `Runtime` with no code cache, so cranelift compiles the component\n\
               ({COLD_RUNS} runs);\n\
             - **warm**: a `Runtime` whose code cache already holds the component, which is what\n\
               every `engine` run after the first sees ({WARM_RUNS} runs).\n\n\
             Both are measured in the same run, side by side; median and 90th percentile.\n\n\
             {table}\n\
             The *whole stack* row is what `engine plan plugins/*.wasm` does before printing:\n\
             the six JapanCart plugins loaded and declared, merged into one graph, validated, and\n\
             planned against an empty state.\n\n\
             ### The baseline as a policy plugin and as Rego\n\n\
             The security baseline over that plan ({} resources, all passing), as `engine check`\n\
             runs it: the Rust policy plugin loaded, instantiated and called with the planned\n\
             resources; and `policies/baseline.rego`, the plan rendered as JSON and evaluated by\n\
             the embedded Rego evaluator (regorus, instantiated in a fresh sandbox each time).\n\
             Cold compiles the component (the plugin, or the evaluator) without a code cache\n\
             ({COLD_RUNS} runs); warm loads it from the cache ({} runs). A size is the policy's\n\
             file; the Rego policy runs in the evaluator, a {} KiB component, whose compile is\n\
             most of the cold figure. Warm, the Rego row is rendering the plan as JSON, parsing\n\
             the policy and interpreting it; the plugin's is compiled code over typed records.\n\n\
             {policy_table}",
            plan.changes.len(),
            WARM_RUNS / 4,
            engine_runtime::rego::evaluator_size() / 1024
        );
        report::write_section(&path, "plugins", &body);
    }
}
