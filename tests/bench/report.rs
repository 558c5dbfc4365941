//! What every benchmark of `just bench` shares: writing its own section of
//! BENCHMARKS.md (between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, so each
//! bench rewrites only its tables), the machine it ran on, and the statistics.

#![allow(dead_code)] // each bench uses its own part

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `--write FILE` from the bench's arguments (relative to the repository), if given.
pub fn write_target() -> Option<PathBuf> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--write")
        .and_then(|i| args.get(i + 1))
        .map(|p| {
            let p = PathBuf::from(p);
            if p.is_relative() { repo().join(p) } else { p }
        })
}

/// Replaces section `name` of the document at `path` with `body` (appending it when
/// the document has none yet). The document's head names the machine.
pub fn write_section(path: &Path, name: &str, body: &str) {
    let (open, close) = (
        format!("<!-- bench:{name} -->"),
        format!("<!-- /bench:{name} -->"),
    );
    let old = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => panic!("cannot read {}: {e}", path.display()),
    };
    // A document without the head this module writes is from before the sections:
    // start it again.
    let old = if old.contains("<!-- /head -->") {
        old
    } else {
        String::new()
    };
    let section = format!("{open}\n{}\n{close}", body.trim_end());
    let mut doc = match (old.find(&open), old.find(&close)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{section}{}", &old[..a], &old[b + close.len()..])
        }
        _ if old.trim().is_empty() => format!("{}\n{section}\n", head()),
        _ => format!("{}\n\n{section}\n", old.trim_end()),
    };
    // The head always names this run's machine.
    if let Some(end) = doc.find("<!-- /head -->") {
        doc = format!("{}{}", head(), &doc[end + "<!-- /head -->".len()..]);
    }
    // Written whole and renamed into place: a bench reading it meanwhile sees the
    // old document or the new one, never half of one.
    let tmp = path.with_extension(format!("md.tmp{}", std::process::id()));
    std::fs::write(&tmp, doc).expect("writes the benchmarks file");
    std::fs::rename(&tmp, path).expect("renames the benchmarks file into place");
    eprintln!("wrote section `{name}` of {}", path.display());
}

fn head() -> String {
    format!(
        "# Benchmarks\n\n\
         Written by `just bench`, which builds the release binary and runs every benchmark\n\
         below; each writes its own section. Figures are from {}.\n\
         <!-- /head -->",
        machine()
    )
}

/// The machine: cores, CPU model and memory.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "an unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / (1024.0 * 1024.0))
        .unwrap_or(0.0);
    format!("{cores} cores ({cpu}), {mem_gib:.0} GiB of memory")
}

/// Median and 90th percentile.
pub fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    assert!(!v.is_empty(), "no runs");
    v.sort();
    (v[v.len() / 2], v[(v.len() * 9 / 10).min(v.len() - 1)])
}

/// Milliseconds with three decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Seconds with three decimals.
pub fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}
