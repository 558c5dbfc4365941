//! The live progress view (issue 18): a slow apply (JapanCart under the realistic
//! emulator, where the database, the cache and the stream take seconds) runs in
//! a real terminal, a detached tmux session, whose screen is read every 250 ms.
//! The view must redraw in place: a header with the operations done out of the
//! total and the time elapsed, a line per operation in flight with a turning
//! spinner, an elapsed time that grows and the AWS status; finished operations
//! scroll above it as the same lines plain mode prints, and at the end the view is
//! gone, leaving the summary and nothing stale in the scrollback. The same apply
//! with stderr piped, beside it against an emulator of its own, prints plain
//! lines with no escape codes, and says the same things were created.
//!
//! tmux comes from `./dev setup` (scripts/setup).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use engine_aws::moto::{MotoServer, Profile};

use super::{STACK_FILE, Stack};

/// The spinner's frames in a UTF-8 locale (the session runs in `C.UTF-8`).
const SPINNER: &[char] = &['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// A tmux server of its own (its socket in a temporary directory), killed on drop.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    /// Runs `command` in a detached 120x40 session; the pane stays after it exits,
    /// with `engine exited with CODE` as its last line.
    fn start(dir: &Path, command: &Command) -> Tmux {
        let found = Command::new("tmux").arg("-V").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "tmux is not installed: run `./dev setup`, which installs it"
        );
        let conf = dir.join("tmux.conf");
        std::fs::write(
            &conf,
            "set -g history-limit 50000\nset -g remain-on-exit on\nset -g status off\n",
        )
        .unwrap();
        let script = dir.join("run.sh");
        std::fs::write(&script, shell_script(command)).unwrap();
        let tmux = Tmux {
            socket: dir.join("tmux.sock"),
        };
        let ok = tmux
            .cmd()
            .arg("-f")
            .arg(&conf)
            .args(["new-session", "-d", "-x", "120", "-y", "40", "-s", "live"])
            .arg(format!("sh {}", script.display()))
            .status()
            .expect("runs tmux")
            .success();
        assert!(ok, "tmux new-session");
        tmux
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        // A server of its own even when the tests run inside tmux.
        c.env_remove("TMUX");
        // -u: the pane's text is UTF-8 whatever the test's locale.
        c.arg("-u").arg("-S").arg(&self.socket);
        c
    }

    /// The screen as it is now (`history`: with all the scrollback above it).
    fn capture(&self, history: bool) -> String {
        let mut c = self.cmd();
        // Not -J: the view pads its lines to the width, so tmux marks them as
        // wrapped, and joining would run them together.
        c.args(["capture-pane", "-p", "-t", "live"]);
        if history {
            c.args(["-S", "-"]);
        }
        let out = c.output().expect("runs tmux capture-pane");
        assert!(out.status.success(), "{}", super::text(&out.stderr));
        super::text(&out.stdout)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

/// A `sh` script that runs `command` as it is (directory, environment,
/// arguments) and then says its exit code.
fn shell_script(command: &Command) -> String {
    let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', r"'\''"));
    let mut s = String::new();
    if let Some(dir) = command.get_current_dir() {
        s.push_str(&format!("cd {}\n", quote(dir.as_os_str())));
    }
    for (k, v) in command.get_envs() {
        let k = k.to_string_lossy();
        match v {
            Some(v) => s.push_str(&format!("export {k}={}\n", quote(v))),
            None => s.push_str(&format!("unset {k}\n")),
        }
    }
    s.push_str(&quote(command.get_program()));
    for a in command.get_args() {
        s.push(' ');
        s.push_str(&quote(a));
    }
    s.push_str("\necho \"engine exited with $?\"\n");
    s
}

/// A line of the live view: the header, or an operation in flight.
#[derive(Debug)]
enum Live {
    /// `Applying  12/53 done, 3 in flight  [4.2s]`: (done, total, elapsed).
    Header(usize, usize, String),
    /// `  ⠋ rds/postgres: creating... [2.1s] status creating, ...`: (spinner,
    /// address, elapsed, the rest).
    InFlight(char, String, String, String),
}

fn parse(line: &str) -> Option<Live> {
    if let Some(rest) = line.strip_prefix("Applying  ") {
        let (done, rest) = rest.split_once('/')?;
        let (total, rest) = rest.split_once(" done, ")?;
        let elapsed = rest.split_once("  [")?.1.split_once(']')?.0;
        return Some(Live::Header(
            done.parse().ok()?,
            total.parse().ok()?,
            elapsed.to_string(),
        ));
    }
    let rest = line.strip_prefix("  ")?;
    let spinner = rest.chars().next().filter(|c| SPINNER.contains(c))?;
    let rest = rest[spinner.len_utf8()..].strip_prefix(' ')?;
    let (address, rest) = rest.split_once(": creating... [")?;
    let (elapsed, status) = rest.split_once(']')?;
    Some(Live::InFlight(
        spinner,
        address.to_string(),
        elapsed.to_string(),
        status.trim().to_string(),
    ))
}

/// The facts an apply's stderr states about each resource, as plain mode words
/// them: `vpc/main: created`.
fn created(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.split_once(": created [").map(|(a, _)| a.to_string()))
        .collect()
}

#[test]
fn a_slow_apply_redraws_a_live_view_in_a_terminal_and_prints_plain_lines_piped() {
    let started = Instant::now();
    let realistic = || {
        MotoServer::start_with(&Profile::realistic(1.5))
            .expect("the realistic emulator starts (run `./dev setup`)")
    };
    let tty = Stack::japancart(realistic(), STACK_FILE);
    let piped = Stack::japancart(realistic(), STACK_FILE);

    let (stderr, captures, last, scrollback) = std::thread::scope(|s| {
        let plain = s.spawn(|| piped.run(&["apply", "--yes"], 0).1);

        let mut args = vec!["apply", "--yes"];
        args.extend(tty.plugins.iter().map(String::as_str));
        let mut command = tty.command(&args);
        // Colour on: the view draws in colour unless NO_COLOR.
        command.env_remove("NO_COLOR").env("LC_ALL", "C.UTF-8");
        let tmux = Tmux::start(tty.dir.path(), &command);
        let mut captures = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(240);
        let last = loop {
            let screen = tmux.capture(false);
            if screen.contains("engine exited with") {
                break screen;
            }
            assert!(
                Instant::now() < deadline,
                "the apply did not end in 240 s:\n{screen}"
            );
            captures.push(screen);
            std::thread::sleep(Duration::from_millis(250));
        };
        let scrollback = tmux.capture(true);
        (
            plain.join().expect("the piped apply"),
            captures,
            last,
            scrollback,
        )
    });

    // The view redrew: headers whose count and clock move, lines in flight whose
    // spinner turns and whose elapsed time grows, with the AWS status.
    let views: Vec<Vec<Live>> = captures
        .iter()
        .map(|c| c.lines().filter_map(parse).collect::<Vec<_>>())
        .filter(|v: &Vec<Live>| !v.is_empty())
        .collect();
    let shown = || {
        captures
            .iter()
            .filter(|c| c.contains("Applying  "))
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    assert!(
        views.len() >= 8,
        "the live view was seen {} times:\n{}",
        views.len(),
        shown()
    );
    let mut header_times = BTreeSet::new();
    let mut done = BTreeSet::new();
    let mut in_flight: BTreeMap<String, (BTreeSet<char>, BTreeSet<String>)> = BTreeMap::new();
    let mut statuses = BTreeSet::new();
    for view in &views {
        let Some(Live::Header(d, total, elapsed)) = view.first() else {
            panic!("the header heads the view: {view:?}\n{}", shown());
        };
        assert_eq!(*total, 53, "{view:?}");
        done.insert(*d);
        header_times.insert(elapsed.clone());
        for line in &view[1..] {
            let Live::InFlight(spinner, address, elapsed, status) = line else {
                panic!("one header only: {view:?}");
            };
            let seen = in_flight.entry(address.clone()).or_default();
            seen.0.insert(*spinner);
            seen.1.insert(elapsed.clone());
            if !status.is_empty() {
                statuses.insert(status.clone());
            }
        }
    }
    assert!(
        header_times.len() >= 5,
        "the header's clock moves: {header_times:?}"
    );
    assert!(done.len() >= 3, "the header's count moves: {done:?}");
    let db = &in_flight
        .get("rds/postgres")
        .unwrap_or_else(|| panic!("the database is seen in flight: {in_flight:?}"));
    assert!(db.0.len() >= 3, "its spinner turns: {db:?}");
    assert!(db.1.len() >= 5, "its elapsed time grows: {db:?}");
    assert!(
        statuses.iter().any(|s| s.starts_with("status creating")),
        "the AWS status is shown: {statuses:?}"
    );

    // At the end the view is gone: the summary and the outputs, and nothing of
    // the view left on the screen or in the scrollback.
    assert!(last.contains("engine exited with 0"), "{last}");
    assert!(
        last.contains("Apply complete in") && last.contains("53 created"),
        "{last}"
    );
    assert!(last.contains("rds_port"), "the outputs follow: {last}");
    let stale: Vec<&str> = scrollback
        .lines()
        .filter(|l| parse(l).is_some() || l.contains(" in flight  ["))
        .collect();
    assert!(
        stale.is_empty(),
        "stale lines of the view: {stale:?}\n{scrollback}"
    );
    // Above the view scrolled the same lines plain mode prints.
    assert!(
        scrollback.contains("rds/postgres: created [")
            && scrollback.contains("] (japancart-postgres-e2e)"),
        "{scrollback}"
    );

    // Piped: plain lines, no escape codes, and the same facts.
    assert!(
        !stderr.contains('\u{1b}'),
        "no escape codes when piped: {stderr:?}"
    );
    assert!(
        stderr.contains("rds/postgres: creating...\n") && stderr.contains("Apply complete in"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(" in flight  ["),
        "no live view when piped: {stderr}"
    );
    let facts = created(&stderr);
    assert_eq!(facts.len(), 53, "{stderr}");
    assert_eq!(created(&scrollback), facts, "{scrollback}");

    // For `--nocapture`: two screens of the view, then the last.
    let with_db: Vec<&String> = captures
        .iter()
        .filter(|c| c.contains("rds/postgres: creating... ["))
        .collect();
    for screen in [with_db.first(), with_db.last(), Some(&&last)]
        .into_iter()
        .flatten()
    {
        eprintln!("---- screen\n{}", screen.trim_end());
    }

    eprintln!("---- {:?} in all", started.elapsed());
}
