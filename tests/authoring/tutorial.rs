//! docs/authoring.md's tutorial (section 1), read from the docs and run word for
//! word: every `sh` block in order, in one bash, as a new user would type it; the
//! `text` block after a command block is its output (`...` stands for lines or
//! text left out; durations, key ids and sizes may differ), the `toml` block the
//! file the block wrote, and every `rust` block an excerpt of the template it
//! quotes.
//!
//! What the test does instead of the first block ("Before you start": `./dev
//! setup`, `./dev build`, `./dev plugins` and two exports): `engine` is this
//! test's binary, `$ENGINE_REPO` a directory whose `plugins/*.wasm` are the
//! JapanCart components built for the tests and whose `tests/` is the
//! repository's, and `~` a fresh home (with the real cargo, rustup and guest build
//! caches). The emulator's port, 5056 in the text, is a free one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Commands of the tutorial that must fail (exit 1), by a part of their text:
/// the tutorial shows their errors.
const EXPECTED_FAILURES: &[&str] = &[
    "-c alerts-key-deletion-days=3",
    "-c alarm-topic-kms-key=none",
];

/// A fenced block of a section of the docs: its language, its text, the prose
/// before it, and whether it follows the previous block with nothing but blank
/// lines between (an output). `languages.rs` reads its sections with these too.
#[derive(Debug)]
pub(super) struct Block {
    pub(super) lang: String,
    pub(super) text: String,
    pub(super) before: String,
    pub(super) follows: bool,
}

/// Section 1 of docs/authoring.md.
fn tutorial(doc: &str) -> &str {
    let start = doc
        .find("\n## 1. ")
        .expect("docs/authoring.md has a section 1");
    let end = doc[start..]
        .find("\n## 2. ")
        .map_or(doc.len(), |e| start + e);
    &doc[start..end]
}

/// The fenced blocks of `section`, in order.
pub(super) fn blocks(section: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("\n```") {
        let before = rest[..open].to_string();
        let after = &rest[open + 4..];
        let lang_end = after.find('\n').expect("a fence line");
        let lang = after[..lang_end].trim().to_string();
        let body = &after[lang_end + 1..];
        let close = body.find("\n```").expect("a closing fence");
        out.push(Block {
            lang,
            text: body[..close].to_string(),
            follows: !out.is_empty() && before.trim().is_empty(),
            before,
        });
        rest = &body[close + 4..];
        rest = rest.find('\n').map_or("", |n| &rest[n..]);
    }
    out
}

/// One command's run: exit code, output (stdout and stderr as they came), time.
#[derive(Debug, Default, Clone)]
struct Ran {
    code: i32,
    output: String,
    seconds: f64,
}

/// Durations, key ids and sizes written as placeholders; surrounding blanks cut.
fn normalize(line: &str) -> String {
    let chars: Vec<char> = line.trim().chars().collect();
    let mut out = String::new();
    let mut i = 0;
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    while i < chars.len() {
        let at_start = i == 0 || !is_word(chars[i - 1]);
        // A UUID: 8-4-4-4-12 hexadecimal digits.
        if at_start && chars.len() - i >= 36 {
            let s: String = chars[i..i + 36].iter().collect();
            let uuid = s.char_indices().all(|(k, c)| {
                if [8, 13, 18, 23].contains(&k) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
            if uuid && chars.get(i + 36).is_none_or(|c| !is_word(*c)) {
                out.push_str("<id>");
                i += 36;
                continue;
            }
        }
        if at_start && chars[i].is_ascii_digit() {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let tail: String = chars[j..chars.len().min(j + 5)].iter().collect();
            let ends = |k: usize| chars.get(k).is_none_or(|c| !is_word(*c));
            let unit = if tail.starts_with("ms") && ends(j + 2) {
                Some(2)
            } else if tail.starts_with('s') && ends(j + 1) {
                Some(1)
            } else if tail.starts_with("m ") {
                // `2m 30s`
                let mut k = j + 2;
                while k < chars.len() && chars[k].is_ascii_digit() {
                    k += 1;
                }
                (k > j + 2 && chars.get(k) == Some(&'s') && ends(k + 1)).then_some(k + 1 - j)
            } else if tail.starts_with('m') && ends(j + 1) {
                Some(1)
            } else {
                None
            };
            if let Some(u) = unit {
                out.push_str("<time>");
                i = j + u;
                continue;
            }
            if tail.starts_with(" KiB") {
                out.push_str("<size>");
                i = j + 4;
                continue;
            }
            out.extend(&chars[i..j]);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Whether `actual` is the line `expected`, where `...` in `expected` stands for
/// any text.
pub(super) fn line_matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split("...").collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first)
        || !actual.ends_with(last)
        || actual.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(at) => rest = &rest[at + p.len()..],
            None => return false,
        }
    }
    true
}

/// Checks `actual` against the documented output `expected`: its lines in order;
/// a `...` line stands for any lines, and without one at the start (the end) the
/// output starts (ends) as documented. Blank lines are not compared. Returns what
/// differs.
fn output_matches(expected: &str, actual: &str) -> Result<(), String> {
    let actual = comparable(actual);
    let expected = comparable(expected);
    let mut chunks: Vec<Vec<&str>> = vec![vec![]];
    for l in &expected {
        if l == "..." {
            chunks.push(vec![]);
        } else {
            chunks.last_mut().expect("a chunk").push(l);
        }
    }
    let open_start = expected.first().is_some_and(|l| l == "...");
    let open_end = expected.last().is_some_and(|l| l == "...");
    let n = chunks.len();
    let mut at = 0;
    for (c, chunk) in chunks.iter().enumerate() {
        if chunk.is_empty() {
            continue;
        }
        let fits = |start: usize| {
            start + chunk.len() <= actual.len()
                && chunk
                    .iter()
                    .zip(&actual[start..])
                    .all(|(e, a)| line_matches(e, a))
        };
        let found = if c == 0 && !open_start {
            fits(0).then_some(0)
        } else if c == n - 1 && !open_end {
            let start = actual.len().checked_sub(chunk.len());
            start.filter(|s| *s >= at && fits(*s))
        } else {
            (at..actual.len()).find(|s| fits(*s))
        };
        match found {
            Some(s) => at = s + chunk.len(),
            None => {
                return Err(format!(
                    "these documented lines are not in the output, in this order{}:\n  {}",
                    match (c == 0 && !open_start, c == n - 1 && !open_end) {
                        (true, _) => " (at its start)",
                        (_, true) => " (at its end)",
                        _ => "",
                    },
                    chunk.join("\n  ")
                ));
            }
        }
    }
    if !open_end && chunks.len() == 1 && at != actual.len() {
        return Err("the output has more lines than documented".into());
    }
    Ok(())
}

/// The lines of `text` to compare: normalized, without blank lines, and a run of
/// `test NAME ... ok` lines sorted (cargo runs tests in parallel).
fn comparable(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(normalize)
        .filter(|l| !l.is_empty())
        .collect();
    let is_test = |l: &String| l.starts_with("test ") && l.ends_with(" ... ok");
    let mut i = 0;
    while i < lines.len() {
        let run = lines[i..].iter().take_while(|l| is_test(l)).count();
        lines[i..i + run].sort();
        i += run.max(1);
    }
    lines
}

/// A free TCP port on the loopback interface.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The real home directory's cache for cargo, rustup and the guest builds.
fn real_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .expect("HOME is set")
}

#[test]
fn the_tutorial_runs_word_for_word() {
    let doc = super::authoring_md();
    let blocks = blocks(tutorial(&doc));
    let scripts: Vec<usize> = (0..blocks.len())
        .filter(|&i| blocks[i].lang == "sh")
        .collect();
    assert!(
        blocks[scripts[0]].text.contains("./dev setup"),
        "the tutorial's first block is no longer \"Before you start\": update this test"
    );

    // What "Before you start" does, for this test.
    let tmp = tempfile::tempdir().expect("temp dir");
    let home = tmp.path().join("home");
    let fake_repo = tmp.path().join("engine");
    std::fs::create_dir_all(fake_repo.join("plugins")).expect("mkdir");
    std::fs::create_dir_all(&home).expect("mkdir");
    for wasm in super::japancart() {
        let wasm = Path::new(&wasm);
        std::os::unix::fs::symlink(
            wasm,
            fake_repo
                .join("plugins")
                .join(wasm.file_name().expect("a file")),
        )
        .expect("symlink");
    }
    std::os::unix::fs::symlink(super::repo().join("tests"), fake_repo.join("tests"))
        .expect("symlink");
    let engine_dir = Path::new(env!("CARGO_BIN_EXE_engine"))
        .parent()
        .expect("the binary's directory");
    let guest_cache = std::env::var_os("ENGINE_GUEST_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| real_home().join(".cache/engine/guests"));
    let port = free_port().to_string();

    // The script: each command between markers that give its exit code and time.
    let mut script = String::from("exec 2>&1\ntrap 'kill $(jobs -p) 2>/dev/null' EXIT\n");
    let mut commands: Vec<(usize, String)> = Vec::new();
    for &b in &scripts[1..] {
        for line in blocks[b].text.lines().filter(|l| !l.trim().is_empty()) {
            let n = commands.len();
            let line = line.replace("5056", &port);
            script.push_str(&format!(
                "printf '\\n@@tutorial start {n} %s\\n' \"$EPOCHREALTIME\"\n{line}\n\
                 printf '\\n@@tutorial end {n} %s %s\\n' $? \"$EPOCHREALTIME\"\n"
            ));
            commands.push((b, line));
        }
    }

    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(&script)
        .env_clear()
        .current_dir(tmp.path());
    for (k, v) in std::env::vars_os() {
        let name = k.to_string_lossy();
        if name.starts_with("RUSTUP_") || matches!(name.as_ref(), "TMPDIR" | "LANG" | "USER") {
            cmd.env(&k, v);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut paths = vec![engine_dir.to_path_buf()];
    paths.extend(std::env::split_paths(&path));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| real_home().join(".cargo"));
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| real_home().join(".rustup"));
    cmd.env("PATH", std::env::join_paths(paths).expect("PATH"))
        .env("HOME", &home)
        .env("ENGINE_REPO", &fake_repo)
        .env("CARGO_HOME", cargo_home)
        .env("RUSTUP_HOME", rustup_home)
        .env("ENGINE_GUEST_TARGET_DIR", &guest_cache)
        // `cargo test` in the scaffolds: the host build of the SDK, kept between runs.
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("authoring-host"),
        )
        .env("NO_COLOR", "1")
        .env("TERM", "dumb")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = cmd.output().expect("runs bash");
    let all =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);

    // Split the output by command.
    let mut ran: BTreeMap<usize, Ran> = BTreeMap::new();
    let mut current: Option<(usize, f64)> = None;
    for line in all.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.as_slice() {
            ["@@tutorial", "start", n, t] => {
                current = Some((n.parse().expect("n"), t.parse().unwrap_or(0.0)));
            }
            ["@@tutorial", "end", n, code, t] => {
                let n: usize = n.parse().expect("n");
                let start = current.take().map_or(0.0, |(_, s)| s);
                let r = ran.entry(n).or_default();
                r.code = code.parse().expect("code");
                r.seconds = t.parse::<f64>().unwrap_or(0.0) - start;
            }
            _ => {
                if let Some((n, _)) = current {
                    let r = ran.entry(n).or_default();
                    r.output.push_str(line);
                    r.output.push('\n');
                }
            }
        }
    }

    // The output as the docs write it.
    let replacements: Vec<(String, &str)> = vec![
        (fake_repo.display().to_string(), "/path/to/engine"),
        (super::repo().display().to_string(), "/path/to/engine"),
        (guest_cache.display().to_string(), "~/.cache/engine/guests"),
        (home.display().to_string(), "/home/you"),
        (
            "the rustup wasm32-unknown-unknown target".into(),
            "/usr/bin/rustc (std from source)",
        ),
    ];
    let as_documented = |text: &str| {
        let mut text = text.to_string();
        for (from, to) in &replacements {
            text = text.replace(from.as_str(), to);
        }
        text
    };

    let mut problems = Vec::new();
    for (n, (b, line)) in commands.iter().enumerate() {
        let Some(r) = ran.get(&n) else {
            problems.push(format!("`{line}` did not finish (the script stopped)"));
            break;
        };
        let expected = if EXPECTED_FAILURES.iter().any(|f| line.contains(f)) {
            1
        } else {
            0
        };
        if r.code != expected {
            problems.push(format!(
                "`{line}` (block {b}) exited {} instead of {expected}:\n{}",
                r.code,
                as_documented(&r.output)
            ));
        }
    }
    for &b in &scripts[1..] {
        let output: String = commands
            .iter()
            .enumerate()
            .filter(|(_, (cb, _))| *cb == b)
            .filter_map(|(n, _)| ran.get(&n))
            .map(|r| as_documented(&r.output))
            .collect();
        let Some(next) = blocks.get(b + 1).filter(|n| n.follows) else {
            continue;
        };
        match next.lang.as_str() {
            "text" => {
                if let Err(e) = output_matches(&next.text, &output) {
                    problems.push(format!(
                        "the output of\n{}\nis not as documented: {e}\n--- the output, as the docs would write it:\n{output}---",
                        blocks[b].text
                    ));
                }
            }
            "toml" => {
                let written =
                    std::fs::read_to_string(home.join("shop/engine.toml")).unwrap_or_default();
                if written.trim() != next.text.trim() {
                    problems.push(format!(
                        "the block\n{}\nwrote\n{written}\nnot the documented\n{}",
                        blocks[b].text, next.text
                    ));
                }
            }
            _ => {}
        }
    }

    // The figures: every build, the second plugin's above all.
    let builds: Vec<(&str, f64, &Ran)> = commands
        .iter()
        .enumerate()
        .filter(|(_, (_, l))| l.starts_with("engine build "))
        .filter_map(|(n, (_, l))| ran.get(&n).map(|r| (l.as_str(), r.seconds, r)))
        .collect();
    for (line, seconds, _) in &builds {
        println!("tutorial: `{line}` took {seconds:.1} s");
    }
    // The second scaffolded plugin compiles only its own crate: the standard
    // library, the SDK and its dependencies come from the shared build directory.
    // (Its time depends on the machine's load, so it is printed, not asserted.)
    if let Some((line, _, r)) = builds
        .iter()
        .find(|(l, _, _)| l.contains("encrypted-topics"))
    {
        let compiled: Vec<&str> = r
            .output
            .lines()
            .filter(|l| l.trim_start().starts_with("Compiling "))
            .collect();
        if compiled.len() != 1 || !compiled[0].contains("Compiling encrypted-topics v") {
            problems.push(format!(
                "`{line}` compiled more than its own crate: {compiled:?}"
            ));
        }
    } else {
        problems.push("the tutorial no longer builds a second plugin".into());
    }

    assert!(
        problems.is_empty(),
        "the tutorial does not run as written ({} problems):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// Every `rust` block of the tutorial is a part of the template it quotes, line
/// for line (comments and blank lines aside; `...` stands for text left out).
#[test]
fn the_tutorials_code_is_the_templates() {
    let doc = super::authoring_md();
    let templates =
        [("component", "alerts"), ("policy", "encrypted-topics")].map(|(kind, name)| {
            let path = super::repo().join(format!("host/cli/templates/{kind}/lib.rs"));
            let text = std::fs::read_to_string(&path).expect("the template");
            let text = text
                .replace("{{name}}", name)
                .replace("{{snake}}", &name.replace('-', "_"));
            (kind, code_lines(&text))
        });
    let mut excerpts = 0;
    for block in blocks(tutorial(&doc)).iter().filter(|b| b.lang == "rust") {
        excerpts += 1;
        let lines = code_lines(&block.text);
        let found = templates
            .iter()
            .any(|(_, t)| (0..t.len()).any(|start| excerpt_at(&lines, t, start)));
        assert!(
            found,
            "this excerpt in docs/authoring.md is not in host/cli/templates/*/lib.rs as it \
             is now (comments and blank lines aside):\n{}",
            block.text
        );
    }
    assert!(excerpts >= 2, "the tutorial quotes both templates");
}

/// The lines of Rust code in `text`, trimmed, without comments and blank lines.
fn code_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| {
            let l = l.trim();
            // A `//` comment, unless inside a string (the templates' strings hold
            // no `//`, but URLs would).
            match l.find("//") {
                Some(at) if l[..at].matches('"').count() % 2 == 0 => l[..at].trim_end(),
                _ => l,
            }
        })
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether `excerpt` is `template` from line `start` on. An excerpt line with
/// `...` may end on a later template line (a string continued over lines).
fn excerpt_at(excerpt: &[String], template: &[String], start: usize) -> bool {
    let mut t = start;
    for e in excerpt {
        let Some(first) = template.get(t) else {
            return false;
        };
        match e.split_once("...") {
            None => {
                if e != first {
                    return false;
                }
            }
            Some((head, tail)) => {
                if !first.starts_with(head) {
                    return false;
                }
                while !template[t].ends_with(tail) {
                    t += 1;
                    if t == template.len() {
                        return false;
                    }
                }
            }
        }
        t += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_match_with_ellipses_and_changing_figures() {
        let out = "Building x\n   Compiling std v0.0.0\n    Finished in 6.21s\nalerts/key: created [0.4s] (4bfa85f9-bdee-4da8-8b0a-3cd563347de7)\nx.wasm\t23.4 KiB\tok\n";
        assert!(
            output_matches(
                "Building x\n...\n Finished in 2m 30s\n...\nx.wasm\t63.9 KiB\tok",
                out
            )
            .is_ok()
        );
        assert!(
            output_matches(
                "...\nalerts/key: created [1.0s] (0bfa85f9-bdee-4da8-8b0a-3cd563347de7)\n...",
                out
            )
            .is_ok()
        );
        assert!(
            output_matches(
                "...\nalerts/key: created [1.0s] (...)\nx.wasm\t...\tok",
                out
            )
            .is_ok()
        );
        // Counts are compared.
        assert!(output_matches("...\nx.wasm\t23.4 KiB\tnot ok", out).is_err());
        // Tests finish in any order.
        let tests = "running 2 tests\ntest b ... ok\ntest a ... ok\ntest result: ok. 2 passed; finished in 0.01s";
        assert!(
            output_matches(
                "running 2 tests\ntest a ... ok\ntest b ... ok\ntest result: ok. 2 passed; ...",
                tests
            )
            .is_ok()
        );
        // Without `...` at the start, the output starts as documented.
        assert!(output_matches("Finished in 1s\n...", out).is_err());
        assert!(output_matches("Building x\n   Compiling std v0.0.0", out).is_err());
    }

    #[test]
    fn excerpts_may_leave_out_comments_and_the_end_of_a_string() {
        let template =
            code_lines("fn f() {\n    // why\n    g(\"a: b \\\n       c\",\n    );\n}\n");
        let excerpt = code_lines("g(\"a: ...\",\n);");
        assert!(excerpt_at(&excerpt, &template, 1));
        assert!(!excerpt_at(&code_lines("g(\"a: ...\",\n}"), &template, 1));
    }
}
