//! Plugin load + instantiate + declare, cold (compiling) and warm (precompiled code
//! from the cache), for each JapanCart plugin and for the whole stack with planning,
//! side by side in one run. `cargo bench -p engine-runtime --bench plugins -- --write
//! BENCHMARKS.md` also writes the figures and the method there.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use engine_core::{Context, Graph, State};
use engine_runtime::{Limits, Runtime};

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
    let stack = |rt: &Runtime| {
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
        std::hint::black_box(plan);
        start.elapsed()
    };
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
        "| **whole stack** (6 plugins + merge + validate + plan, 40 resources) | | {} | {} | {} | {} |",
        ms(stack_cold.0),
        ms(stack_cold.1),
        ms(stack_warm.0),
        ms(stack_warm.1)
    );
    println!("{table}");

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
             planned against an empty state.\n"
        );
        report::write_section(&path, "plugins", &body);
    }
}
