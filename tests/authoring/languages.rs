//! docs/authoring.md's plugins in other languages (section 5), read from the docs
//! and run as written: the Python plugin built with componentize-py and the
//! JavaScript one with ComponentizeJS, each in an empty directory, then loaded by
//! this engine with `engine plan`, whose output must be the `text` block the docs
//! show after the commands (`...` stands for lines or text left out).
//!
//! Each code block is written to the file the docs name (`app.py`, `alerts.js`,
//! the `// build.mjs` of its first line), and the `sh` blocks run in one bash,
//! with `engine` this test's binary and `$ENGINE_REPO` this repository. What the
//! test does instead of the install the docs mention: componentize-py is the one
//! on `PATH`, and ComponentizeJS the one `scripts/setup` installed in
//! `~/.cache/engine/node` (linked as `node_modules`, as `npm install` there would
//! make it). When a toolchain is missing, the test says it is skipped and why, and
//! passes.
//!
//! Both components are large (they carry CPython and SpiderMonkey) and their
//! builds are not reproducible, so the engine compiles each on every run: that is
//! most of the test's time, printed as it goes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::tutorial::{Block, blocks, line_matches};

/// A line the test harness does not capture: skips and timings show in every run.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "authoring/languages: {line}");
}

/// The subsection of section 5 whose heading starts with `heading`.
fn subsection(doc: &str, heading: &str) -> String {
    let start = doc
        .find("\n## 5. ")
        .expect("docs/authoring.md has a section 5");
    let section = &doc[start..];
    let at = section
        .find(&format!("\n### {heading}"))
        .unwrap_or_else(|| panic!("section 5 has no `### {heading}`"));
    let sub = &section[at + 1..];
    let end = sub.find("\n### ").unwrap_or(sub.len());
    sub[..end].to_string()
}

/// The file a code block is: named on its first line (`// build.mjs`), else the
/// last `NAME.EXT` in backticks in the prose before it.
fn file_name(block: &Block) -> Option<String> {
    let first = block.text.lines().next().unwrap_or("");
    if let Some(name) = first
        .strip_prefix("// ")
        .or_else(|| first.strip_prefix("# "))
        .filter(|n| !n.contains(' ') && n.contains('.'))
    {
        return Some(name.to_string());
    }
    block
        .before
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|w| !w.contains(' ') && [".py", ".js", ".mjs"].iter().any(|ext| w.ends_with(ext)))
        .last()
        .map(str::to_string)
}

/// Checks `actual` against the documented output: its non-blank lines (trimmed)
/// in order, each run between `...` lines contiguous; without `...` at the start
/// (the end) the output starts (ends) as documented.
fn output_matches(expected: &str, actual: &str) -> Result<(), String> {
    let lines = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    };
    let (expected, actual) = (lines(expected), lines(actual));
    let chunks: Vec<&[String]> = expected.split(|l| l == "...").collect();
    let n = chunks.len();
    let mut at = 0;
    for (c, chunk) in chunks.iter().enumerate() {
        if chunk.is_empty() {
            continue;
        }
        let fits = |s: usize| {
            s + chunk.len() <= actual.len()
                && chunk
                    .iter()
                    .zip(&actual[s..])
                    .all(|(e, a)| line_matches(e, a))
        };
        let found = if c == 0 {
            fits(0).then_some(0)
        } else if c == n - 1 {
            actual
                .len()
                .checked_sub(chunk.len())
                .filter(|s| *s >= at && fits(*s))
        } else {
            (at..actual.len()).find(|s| fits(*s))
        };
        match found {
            Some(s) => at = s + chunk.len(),
            None => {
                return Err(format!(
                    "these documented lines are not in the output, in this order:\n  {}",
                    chunk.join("\n  ")
                ));
            }
        }
    }
    Ok(())
}

/// One language's example, run in `dir` as the docs say. `prepare` stands in for
/// the install the docs describe. Returns the problems found.
fn run_example(heading: &str, dir: &Path, prepare: impl FnOnce(&Path)) -> Vec<String> {
    let doc = super::authoring_md();
    let section = subsection(&doc, heading);
    let blocks = blocks(&section);
    std::fs::create_dir_all(dir).expect("mkdir");
    prepare(dir);

    let mut script = String::from("set -e\nexec 2>&1\n");
    let mut files = Vec::new();
    for b in &blocks {
        match b.lang.as_str() {
            "python" | "js" => {
                let name = file_name(b).unwrap_or_else(|| {
                    panic!(
                        "docs/authoring.md names no file for this block:\n{}",
                        b.text
                    )
                });
                std::fs::write(dir.join(&name), format!("{}\n", b.text)).expect("write");
                files.push(name);
            }
            "sh" => {
                script.push_str(&b.text);
                script.push('\n');
            }
            _ => {}
        }
    }
    let expected = blocks
        .iter()
        .rposition(|b| b.lang == "sh")
        .and_then(|i| blocks.get(i + 1))
        .filter(|b| b.follows && b.lang == "text")
        .unwrap_or_else(|| panic!("`### {heading}` shows no output after its last command"));
    say(&format!(
        "{heading}: wrote {} from the docs",
        files.join(", ")
    ));

    let engine_dir = Path::new(env!("CARGO_BIN_EXE_engine"))
        .parent()
        .expect("the binary's directory");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![engine_dir.to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    let started = Instant::now();
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir)
        .env("PATH", std::env::join_paths(paths).expect("PATH"))
        .env("ENGINE_REPO", super::repo())
        .env("ENGINE_CACHE_DIR", dir.join(".cache"))
        .env("NO_COLOR", "1")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("ENGINE_LOG")
        .env_remove("ENGINE_STATE")
        // No AWS: the plan warns that it cannot read the zones, and goes on.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("runs bash");
    let output = super::text(&out.stdout) + &super::text(&out.stderr);
    say(&format!(
        "{heading}: built and planned in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    let mut problems = Vec::new();
    if !out.status.success() {
        problems.push(format!(
            "the commands of `### {heading}` failed ({}):\n{script}\n--- output:\n{output}---",
            out.status
        ));
    } else if let Err(e) = output_matches(&expected.text, &output) {
        problems.push(format!(
            "the output of `### {heading}` is not as documented: {e}\n--- the output:\n{output}---"
        ));
    }
    problems
}

/// The plugin in `dir` reads its config: a plan with the deletion window set
/// (the compiled code is cached by now).
fn config_reaches(dir: &Path, plugin: &str, key: &str) -> Result<(), String> {
    let out = super::engine(dir, &["plan", "-c", &format!("{key}=7"), plugin]);
    let stdout = super::text(&out.stdout);
    if out.status.success() && stdout.contains("+ deletion-window-days = 7") {
        Ok(())
    } else {
        Err(format!(
            "`engine plan -c {key}=7 {plugin}` did not plan a 7-day window:\n{stdout}\n{}",
            super::text(&out.stderr)
        ))
    }
}

/// The version a command prints, if it runs.
fn version(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| super::text(&out.stdout).trim().to_string())
}

#[test]
fn the_python_example_builds_and_plans_as_documented() {
    let Some(v) = version("componentize-py", &["--version"]) else {
        say(
            "skipped the Python example: componentize-py not installed (scripts/setup installs it)",
        );
        return;
    };
    say(&format!("the Python example, with {v}"));
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("py-alerts");
    let mut problems = run_example("Python", &dir, |_| {});
    if problems.is_empty()
        && let Err(e) = config_reaches(&dir, "py-alerts.wasm", "py-alerts-key-deletion-days")
    {
        problems.push(e);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

/// Where scripts/setup installs ComponentizeJS.
fn node_prefix() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .expect("HOME is set")
        .join(".cache/engine/node")
}

#[test]
fn the_javascript_example_builds_and_plans_as_documented() {
    let Some(node) = version("node", &["--version"]) else {
        say("skipped the JavaScript example: node not installed (scripts/setup needs it)");
        return;
    };
    let modules = node_prefix().join("node_modules");
    let package = modules.join("@bytecodealliance/componentize-js/package.json");
    let Ok(manifest) = std::fs::read_to_string(&package) else {
        say(&format!(
            "skipped the JavaScript example: @bytecodealliance/componentize-js not installed \
             in {} (scripts/setup installs it)",
            node_prefix().display()
        ));
        return;
    };
    let v = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"version\": \""))
        .and_then(|l| l.split('"').next())
        .unwrap_or("?")
        .to_string();
    say(&format!(
        "the JavaScript example, with componentize-js {v} and node {node}"
    ));
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("js-alerts");
    let mut problems = run_example("JavaScript", &dir, |dir| {
        std::os::unix::fs::symlink(&modules, dir.join("node_modules")).expect("symlink");
    });
    if problems.is_empty()
        && let Err(e) = config_reaches(&dir, "js-alerts.wasm", "js-alerts-key-deletion-days")
    {
        problems.push(e);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_named_by_the_docs() {
        let section = "\nthe plugin, `app.py`:\n\n```python\nx = 1\n```\n\nthen\n\n```js\n// build.mjs\nimport x;\n```\n";
        let b = blocks(section);
        assert_eq!(file_name(&b[0]).as_deref(), Some("app.py"));
        assert_eq!(file_name(&b[1]).as_deref(), Some("build.mjs"));
        assert!(output_matches("a\n...\nc ... d\ne", "a\nb\nc 1 d\n\ne\n").is_ok());
        assert!(output_matches("a\n...\ne", "a\nb\ne\nf").is_err());
        assert!(output_matches("...\nb", "a\nb").is_ok());
    }
}
