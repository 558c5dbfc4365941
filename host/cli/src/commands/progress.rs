//! Progress of an apply or destroy, for people on stderr or for machines on stdout:
//!
//! - a live view when stderr is a terminal (see [`Mode`]): a header with the
//!   operations done out of the total and the time elapsed, and one line per
//!   operation in flight with a spinner, its elapsed time and the AWS status last
//!   seen, redrawn in place (by `indicatif`); finished operations, failures and
//!   notes print above it, as the same lines plain mode prints, so the scrollback
//!   keeps the same facts;
//! - plain lines otherwise (a slow step repeats its status at most every 10 s);
//! - with `--json`, typed JSON events on stdout, one per line, ending with a
//!   `summary`.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use engine_aws::CallCounter;
use engine_core::plan::StepOp;
use engine_core::{Address, Diagnostic, printable};
use engine_exec::{Event, Report, StopLevel};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::ui;

/// How progress is shown to people (`--progress`, `ENGINE_PROGRESS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// A live view when stderr is a terminal and TERM is not `dumb`; plain lines
    /// otherwise
    #[default]
    Auto,
    /// Plain lines, one per event (a slow operation repeats its status every 10 s)
    Plain,
}

/// Whether to draw the live view: not for machines (`--json`), not when asked for
/// plain lines, and only on a terminal that can move its cursor (`TERM=dumb`
/// cannot). `NO_COLOR` keeps the live view, without colour.
fn wants_live(mode: Mode, json: bool, stderr_is_terminal: bool, term: Option<&str>) -> bool {
    mode == Mode::Auto && !json && stderr_is_terminal && term != Some("dumb")
}

/// One JSON event of `apply --json` / `destroy --json`; `event` names the case.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum JsonEvent<'a> {
    /// A step started.
    Started {
        address: String,
        op: StepOp,
        slow: bool,
    },
    /// A slow step's status while the provider waits.
    Progress {
        address: String,
        message: &'a str,
        elapsed_ms: u64,
    },
    /// A step finished.
    Finished {
        address: String,
        op: StepOp,
        elapsed_ms: u64,
        id: Option<&'a str>,
        adopted: bool,
    },
    /// A pending record dropped with nothing of the stack's behind it.
    Forgotten { address: String, reason: &'a str },
    /// A step failed.
    Failed {
        address: String,
        op: StepOp,
        message: String,
    },
    /// The end: what was done, and the AWS calls it took.
    Summary {
        complete: bool,
        created: usize,
        updated: usize,
        deleted: usize,
        failed: Vec<String>,
        not_started: Vec<String>,
        abandoned: Vec<String>,
        forgotten: Vec<String>,
        elapsed_ms: u64,
        aws_calls: BTreeMap<String, usize>,
        aws_mutating_calls: usize,
    },
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Shows progress: a live view or plain lines on stderr, or JSON events on stdout.
pub(crate) struct Printer {
    json: bool,
    /// The live view, when stderr is a terminal that shows one.
    live: Option<Live>,
    /// The steps in flight, and the counts of the live view's header.
    inner: Mutex<Inner>,
}

/// What the printer keeps between events.
#[derive(Default)]
struct Inner {
    /// The steps in flight.
    running: BTreeMap<Address, Running>,
    /// Set by [`Printer::begin`]: the header of the live view, when there is one.
    header: Option<Header>,
}

/// The live view's header: "Applying  12/40 done, 3 in flight  [45.2s]".
struct Header {
    bar: ProgressBar,
    /// `Applying`, `Destroying`.
    doing: String,
    total: usize,
    done: usize,
    failed: usize,
    started: Instant,
    /// After a Ctrl-C: what the stop does.
    stopping: Option<&'static str>,
}

/// The terminal side of the live view.
struct Live {
    multi: MultiProgress,
    /// The style of a line in flight (a spinner and the line).
    line: ProgressStyle,
    /// The style of the header.
    header: ProgressStyle,
    /// Whether the locale is UTF-8 (the spinner's and the ellipsis' characters).
    utf8: bool,
}

/// A step in flight, for its "still ..." lines or its line in the live view.
struct Running {
    op: StepOp,
    started: Instant,
    printed: Instant,
    /// The last status the provider reported (after each AWS status check).
    status: Option<String>,
    /// Its line in the live view.
    bar: Option<ProgressBar>,
}

/// The live view being drawn, for log lines written while it is (see
/// [`log_writer`]).
static DRAWING: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// A writer for log lines (`tracing`) to stderr: while a live view is drawn, it
/// is hidden for the moment each line is written, so that logs and the view do
/// not garble each other.
pub fn log_writer() -> LogWriter {
    LogWriter(Vec::new())
}

/// Buffers one log record, and writes it to stderr when dropped (see
/// [`log_writer`]).
pub struct LogWriter(Vec<u8>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let write = || {
            let _ = std::io::stderr().lock().write_all(&self.0);
        };
        let drawing = DRAWING.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match drawing {
            Some(multi) => multi.suspend(write),
            None => write(),
        }
    }
}

/// A step in flight shows a line with its elapsed time and last AWS status this
/// often ("rds/postgres: still creating... [1m20s] status backing-up, ...").
const STATUS_EVERY: Duration = Duration::from_secs(10);

fn op_words(op: StepOp) -> (&'static str, &'static str) {
    match op {
        StepOp::Create => ("creating", "created"),
        StepOp::Update => ("updating", "updated"),
        StepOp::Delete => ("deleting", "deleted"),
        StepOp::DeleteDeposed => ("deleting the old copy of", "deleted the old copy"),
    }
}

/// `Applying`, `Destroying`: the live view's header.
fn doing(verb: &str) -> String {
    match verb {
        "apply" => "Applying".into(),
        "destroy" => "Destroying".into(),
        other => capitalise(other),
    }
}

/// The line of a finished step: "vpc/main: created [1.2s] (vpc-0abc)".
fn finished_line(
    address: &Address,
    op: StepOp,
    took: Duration,
    id: Option<&str>,
    adopted: bool,
) -> String {
    let id = id
        .map(|i| format!(" ({})", printable::line(i)))
        .unwrap_or_default();
    let adopted = if adopted {
        ", adopted: an earlier attempt made it, as its tags prove"
    } else {
        ""
    };
    format!(
        "{address}: {} [{}]{id}{adopted}",
        op_words(op).1,
        elapsed(took)
    )
}

/// The live line of a step in flight: "rds/postgres: creating... [12.4s] status
/// creating, waiting until available".
fn running_line(address: &Address, r: &Running) -> String {
    let status = r
        .status
        .as_deref()
        .map(|s| format!(" {}", printable::line(s)))
        .unwrap_or_default();
    format!(
        "{address}: {}... [{}]{status}",
        op_words(r.op).0,
        elapsed(r.started.elapsed())
    )
}

impl Header {
    fn line(&self, in_flight: usize) -> String {
        let mut s = format!(
            "{}  {}/{} done, {in_flight} in flight",
            self.doing, self.done, self.total
        );
        if self.failed > 0 {
            s.push_str(&format!(", {} failed", self.failed));
        }
        s.push_str(&format!("  [{}]", elapsed(self.started.elapsed())));
        if let Some(stopping) = self.stopping {
            s.push_str(&format!("  {stopping}"));
        }
        s
    }
}

/// The live view's terminal: stderr, with the cursor put back at the start of
/// the view's last line after each redraw. `indicatif` pads each line to the
/// terminal's width, which leaves the cursor in the last column: the `^C` a
/// terminal echoes there would wrap onto a line the view does not know of, and
/// the next redraw would leave a stale line behind. At the start of the line, the
/// echo lands on the view's last line, which the next redraw clears.
#[derive(Debug)]
struct Terminal(console::Term);

impl indicatif::TermLike for Terminal {
    fn width(&self) -> u16 {
        self.0.size().1
    }

    fn height(&self) -> u16 {
        self.0.size().0
    }

    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_up(n)
    }

    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_down(n)
    }

    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_right(n)
    }

    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.0.move_cursor_left(n)
    }

    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.0.write_line(s)
    }

    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.0.write_str(s)
    }

    fn clear_line(&self) -> std::io::Result<()> {
        self.0.clear_line()
    }

    fn flush(&self) -> std::io::Result<()> {
        self.0.write_str("\r")?;
        self.0.flush()
    }
}

/// Whether the locale's character set is UTF-8 (for the spinner's characters).
fn utf8_locale() -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .next()
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

impl Live {
    /// The live view on stderr, when it is a terminal that can show one.
    fn new(mode: Mode, json: bool) -> Option<Live> {
        let term = std::env::var("TERM").ok();
        if !wants_live(mode, json, std::io::stderr().is_terminal(), term.as_deref()) {
            return None;
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::term_like_with_hz(
            Box::new(Terminal(console::Term::buffered_stderr())),
            10,
        ));
        let color = ui::color(false);
        let utf8 = utf8_locale();
        let ticks: &[&str] = if utf8 {
            &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏", " "]
        } else {
            &["-", "\\", "|", "/", " "]
        };
        let (line, header) = if color {
            ("  {spinner:.cyan} {msg}", "{msg:.bold}")
        } else {
            ("  {spinner} {msg}", "{msg}")
        };
        Some(Live {
            multi,
            utf8,
            line: ProgressStyle::with_template(line)
                .unwrap_or_else(|_| ProgressStyle::default_spinner())
                .tick_strings(ticks),
            header: ProgressStyle::with_template(header)
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        })
    }

    /// Sets the lines of the live view from `inner`; `spin` turns the spinners.
    /// Each line is cut to the terminal's width, so that none wraps.
    fn show(&self, inner: &Inner, spin: bool) {
        let cols = usize::from(console::Term::stderr().size().1);
        let ellipsis = if self.utf8 { "…" } else { "..." };
        let fit = |text: String, room: usize| -> String {
            console::truncate_str(&text, room, ellipsis).into_owned()
        };
        for (address, r) in &inner.running {
            if let Some(bar) = &r.bar {
                // "  ⠋ " before the line.
                bar.set_message(fit(running_line(address, r), cols.saturating_sub(4)));
                if spin {
                    bar.tick();
                }
            }
        }
        if let Some(h) = &inner.header {
            h.bar.set_message(fit(h.line(inner.running.len()), cols));
        }
    }

    /// Prints `text` above the live view.
    fn println(&self, text: &str) {
        if self.multi.println(text).is_err() {
            eprintln!("{text}");
        }
    }
}

/// `2m10s`, `4.2s`.
pub fn elapsed(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

impl Printer {
    /// A printer for `mode` (JSON events with `json`); for people, with a clock
    /// that, for as long as the printer lives, redraws the live view or prints the
    /// "still ..." lines of the steps in flight. Nothing is drawn before
    /// [`Printer::begin`], so that the confirmation prompt stays as it is.
    pub(crate) fn new(json: bool, mode: Mode) -> Arc<Printer> {
        let printer = Arc::new(Printer {
            json,
            live: Live::new(mode, json),
            inner: Mutex::new(Inner::default()),
        });
        if !json {
            let weak = Arc::downgrade(&printer);
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    match weak.upgrade() {
                        Some(p) => p.tick(),
                        None => break,
                    }
                }
            });
        }
        printer
    }

    /// The operations start: `total` of them, for `verb` (`apply`, `destroy`).
    /// Starts the live view's header.
    pub(crate) fn begin(&self, verb: &str, total: usize) {
        let Some(live) = &self.live else { return };
        let mut inner = self.inner();
        let bar = live
            .multi
            .add(ProgressBar::new_spinner().with_style(live.header.clone()));
        let header = Header {
            bar,
            doing: doing(verb),
            total,
            done: 0,
            failed: 0,
            started: Instant::now(),
            stopping: None,
        };
        inner.header = Some(header);
        live.show(&inner, false);
        *DRAWING.lock().unwrap_or_else(|p| p.into_inner()) = Some(live.multi.clone());
    }

    /// Clears the live view (before the summary; also when the printer is dropped
    /// on an early return), leaving what was printed above it.
    fn end(&self) {
        let mut inner = self.inner();
        let Some(live) = self.drawing(&inner) else {
            return;
        };
        *DRAWING.lock().unwrap_or_else(|p| p.into_inner()) = None;
        for r in inner.running.values_mut() {
            if let Some(bar) = r.bar.take() {
                bar.finish_and_clear();
                live.multi.remove(&bar);
            }
        }
        if let Some(h) = &inner.header {
            h.bar.finish_and_clear();
            live.multi.remove(&h.bar);
        }
        let _ = live.multi.clear();
        inner.header = None;
    }

    /// Every 100 ms: the live view's elapsed times and spinners, or one "still
    /// ..." line per step in flight whose last line is 10 s old.
    fn tick(&self) {
        let mut inner = self.inner();
        if let Some(live) = &self.live {
            live.show(&inner, true);
            return;
        }
        for (address, r) in inner.running.iter_mut() {
            if r.printed.elapsed() >= STATUS_EVERY {
                let status = r.status.as_deref().unwrap_or("no status from AWS yet");
                eprintln!(
                    "{address}: still {}... [{}] {}",
                    op_words(r.op).0,
                    elapsed(r.started.elapsed()),
                    printable::line(status)
                );
                r.printed = Instant::now();
            }
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live view, while it is drawn (from [`Printer::begin`] to the summary).
    fn drawing(&self, inner: &Inner) -> Option<&Live> {
        self.live.as_ref().filter(|_| inner.header.is_some())
    }

    /// A line for people (stderr): above the live view, or as it is.
    fn say(&self, inner: &Inner, text: &str) {
        match self.drawing(inner) {
            Some(live) => live.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// Diagnostics for people (stderr), the live view hidden while they print.
    fn diagnostics(&self, inner: &Inner, diags: &[Diagnostic]) {
        match self.drawing(inner) {
            Some(live) => live.multi.suspend(|| ui::diagnostics(diags)),
            None => ui::diagnostics(diags),
        }
    }

    /// A step is no longer in flight: its line leaves the live view.
    fn finish(&self, inner: &mut Inner, address: &Address, failed: bool) {
        if let Some(bar) = inner.running.remove(address).and_then(|r| r.bar) {
            bar.finish_and_clear();
            if let Some(live) = &self.live {
                live.multi.remove(&bar);
            }
        }
        if let Some(h) = &mut inner.header {
            if failed {
                h.failed += 1;
            } else {
                h.done += 1;
            }
        }
        if let Some(live) = &self.live {
            live.show(inner, false);
        }
    }

    /// Ctrl-C was pressed, and the stop is now at `level`: says what happens.
    pub(crate) fn stopping(&self, level: StopLevel) {
        if self.json {
            return;
        }
        let (line, header) = match level {
            StopLevel::Running => return,
            StopLevel::Graceful => (
                "\nStopping: no new operations start; waiting for those in flight. Ctrl-C again to stop now.",
                "stopping: waiting for those in flight (Ctrl-C again to stop now)",
            ),
            StopLevel::Hard => (
                "\nStopping now; operations in flight are abandoned and recorded as pending.",
                "stopping now",
            ),
        };
        let mut inner = self.inner();
        if let Some(h) = &mut inner.header {
            h.stopping = Some(header);
        }
        self.say(&inner, line);
    }

    pub(crate) fn event(&self, e: &Event) {
        match e {
            Event::Started { address, op, slow } => {
                if self.json {
                    self.emit(&JsonEvent::Started {
                        address: address.to_string(),
                        op: *op,
                        slow: *slow,
                    });
                } else if self.live.is_none() {
                    eprintln!("{address}: {}...", op_words(*op).0);
                }
                let now = Instant::now();
                let mut running = Running {
                    op: *op,
                    started: now,
                    printed: now,
                    status: None,
                    bar: None,
                };
                let mut inner = self.inner();
                if let Some(live) = &self.live {
                    // Below the header, in the order the steps started.
                    let bar = live
                        .multi
                        .add(ProgressBar::new_spinner().with_style(live.line.clone()));
                    running.bar = Some(bar);
                }
                inner.running.insert(address.clone(), running);
                if let Some(live) = &self.live {
                    live.show(&inner, false);
                }
            }
            Event::Progress {
                address,
                message,
                elapsed: took,
            } => {
                if self.json {
                    self.emit(&JsonEvent::Progress {
                        address: address.to_string(),
                        message,
                        elapsed_ms: millis(*took),
                    });
                    return;
                }
                let mut inner = self.inner();
                if let Some(r) = inner.running.get_mut(address) {
                    r.status = Some(message.clone());
                }
                if let Some(live) = &self.live {
                    live.show(&inner, false);
                }
            }
            Event::Finished {
                address,
                op,
                elapsed: took,
                id,
                adopted,
            } => {
                let mut inner = self.inner();
                self.finish(&mut inner, address, false);
                if self.json {
                    self.emit(&JsonEvent::Finished {
                        address: address.to_string(),
                        op: *op,
                        elapsed_ms: millis(*took),
                        id: id.as_deref(),
                        adopted: *adopted,
                    });
                } else {
                    self.say(
                        &inner,
                        &finished_line(address, *op, *took, id.as_deref(), *adopted),
                    );
                }
            }
            Event::Forgotten { address, reason } => {
                let mut inner = self.inner();
                self.finish(&mut inner, address, false);
                if self.json {
                    self.emit(&JsonEvent::Forgotten {
                        address: address.to_string(),
                        reason,
                    });
                } else {
                    self.say(
                        &inner,
                        &format!(
                            "{address}: forgotten, nothing deleted: {}",
                            printable::line(reason)
                        ),
                    );
                }
            }
            Event::Failed { address, op, error } => {
                let mut inner = self.inner();
                self.finish(&mut inner, address, true);
                let message = error.to_string();
                if self.json {
                    self.emit(&JsonEvent::Failed {
                        address: address.to_string(),
                        op: *op,
                        message: message.clone(),
                    });
                } else {
                    self.diagnostics(
                        &inner,
                        &[
                            Diagnostic::error(format!("{} `{address}` failed", op_words(*op).0))
                                .address(address)
                                .detail(message),
                        ],
                    );
                }
            }
        }
    }

    fn emit(&self, e: &JsonEvent<'_>) {
        ui::out(&format!(
            "{}\n",
            serde_json::to_string(e).unwrap_or_default()
        ));
    }

    /// The end: the live view is cleared, then what was done is said.
    pub(crate) fn summary(&self, r: &Report, verb: &str, took: Duration, calls: &CallCounter) {
        self.end();
        let count = |op: StepOp| r.done.iter().filter(|d| d.op == op).count();
        let mutating: usize = calls
            .counts()
            .iter()
            .filter(|(op, _)| is_mutating(op))
            .map(|(_, n)| n)
            .sum();
        if self.json {
            let addresses = |v: Vec<&Address>| v.into_iter().map(ToString::to_string).collect();
            self.emit(&JsonEvent::Summary {
                complete: r.complete(),
                created: count(StepOp::Create),
                updated: count(StepOp::Update),
                deleted: count(StepOp::Delete) + count(StepOp::DeleteDeposed),
                failed: addresses(r.failed.iter().map(|f| &f.address).collect()),
                not_started: addresses(r.not_started.iter().map(|(a, _)| a).collect()),
                abandoned: addresses(r.abandoned.iter().map(|(a, _)| a).collect()),
                forgotten: addresses(r.forgotten.iter().collect()),
                elapsed_ms: millis(took),
                aws_calls: calls.counts(),
                aws_mutating_calls: mutating,
            });
            return;
        }
        let mut done = format!(
            "{} created, {} updated, {} deleted",
            count(StepOp::Create),
            count(StepOp::Update),
            count(StepOp::Delete) + count(StepOp::DeleteDeposed)
        );
        if !r.forgotten.is_empty() {
            done.push_str(&format!(
                ", {} pending records forgotten (nothing of this stack's behind them)",
                r.forgotten.len()
            ));
        }
        let calls_line = format!("{} AWS calls, {mutating} of them changes", calls.total());
        if r.done.is_empty() && r.forgotten.is_empty() && r.complete() {
            eprintln!("\nNothing to {verb} ({calls_line}).");
            return;
        }
        if r.complete() {
            eprintln!(
                "\n{} complete in {}: {done} ({calls_line}).",
                capitalise(verb),
                elapsed(took)
            );
            return;
        }
        let mut lines = vec![format!("{} did not finish: {done}.", capitalise(verb))];
        for f in &r.failed {
            lines.push(format!("failed: {} ({})", f.address, op_words(f.op).0));
        }
        if !r.abandoned.is_empty() {
            lines.push(format!(
                "abandoned in flight (recorded as pending; the next apply adopts what exists): {}",
                r.abandoned
                    .iter()
                    .map(|(a, _)| a.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !r.not_started.is_empty() {
            lines.push(format!("not started: {} operations", r.not_started.len()));
        }
        if let Some(e) = &r.save_error {
            lines.push(format!("the state could not be saved: {e}"));
        }
        let hint = unfinished_hint(r, verb);
        ui::diagnostics(&[Diagnostic::error(lines.remove(0))
            .detail(lines.join("\n"))
            .hint(hint)]);
    }
}

/// What to do after an apply or destroy that did not finish, and what the state holds.
fn unfinished_hint(r: &Report, verb: &str) -> String {
    if r.save_error.is_some() {
        // What was done after the last save is not in the state: a create's pending
        // record was saved before it started, so the next apply finds what it made
        // by its ownership tags and adopts it; an update or delete is planned again.
        format!(
            "the state holds everything up to its last save; fix the cause and run \
             `engine {verb}` again: it adopts what was created after that save by its \
             ownership tags and redoes the rest"
        )
    } else if r.stopped && r.failed.is_empty() {
        format!(
            "stopped on request; everything done is recorded in the state: run `engine {verb}` again to finish"
        )
    } else {
        format!(
            "everything done is recorded in the state; fix the cause and run `engine {verb}` again"
        )
    }
}

impl Drop for Printer {
    fn drop(&mut self) {
        self.end();
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Whether an AWS operation (as the call counter names it, `Service.Operation` or
/// `Operation`) changes something.
pub fn is_mutating(op: &str) -> bool {
    let name = op.rsplit('.').next().unwrap_or(op);
    const READS: &[&str] = &["Describe", "List", "Get", "Lookup", "Search", "Check"];
    !READS.iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_live_view_only_on_a_terminal_that_moves_its_cursor_and_not_for_machines() {
        let term = Some("xterm-256color");
        assert!(wants_live(Mode::Auto, false, true, term));
        assert!(wants_live(Mode::Auto, false, true, None));
        // Piped, dumb, asked for plain lines, or JSON: plain lines (or JSON).
        assert!(!wants_live(Mode::Auto, false, false, term));
        assert!(!wants_live(Mode::Auto, false, true, Some("dumb")));
        assert!(!wants_live(Mode::Plain, false, true, term));
        assert!(!wants_live(Mode::Auto, true, true, term));
    }

    #[test]
    fn lines_say_what_plain_mode_says() {
        let db = Address::new("rds", "postgres");
        let took = Duration::from_millis(80_400);
        assert_eq!(
            finished_line(&db, StepOp::Create, took, Some("db-1"), false),
            "rds/postgres: created [1m20s] (db-1)"
        );
        assert_eq!(
            finished_line(
                &db,
                StepOp::Delete,
                Duration::from_millis(4_240),
                None,
                true
            ),
            "rds/postgres: deleted [4.2s], adopted: an earlier attempt made it, as its tags prove"
        );
        // Started 90 s ago: "1m30s" for the second that follows.
        let ago = Instant::now() - Duration::from_secs(90);
        let mut r = Running {
            op: StepOp::Update,
            started: ago,
            printed: Instant::now(),
            status: None,
            bar: None,
        };
        assert_eq!(running_line(&db, &r), "rds/postgres: updating... [1m30s]");
        r.status = Some("status modifying,\x1b[2J waiting".into());
        let line = running_line(&db, &r);
        assert!(
            line.starts_with("rds/postgres: updating... [1m30s] status modifying,"),
            "{line}"
        );
        assert!(!line.contains('\x1b'), "AWS text is escaped: {line:?}");
    }

    #[test]
    fn after_a_failed_save_the_hint_does_not_say_everything_is_recorded() {
        let failed_save = Report {
            save_error: Some("the state changed since it was read".into()),
            ..Report::default()
        };
        let hint = unfinished_hint(&failed_save, "apply");
        assert!(
            hint.starts_with("the state holds everything up to its last save"),
            "{hint}"
        );
        assert!(!hint.contains("everything done is recorded"), "{hint}");
        let stopped = Report {
            stopped: true,
            ..Report::default()
        };
        assert!(unfinished_hint(&stopped, "destroy").starts_with("stopped on request"));
        assert!(
            unfinished_hint(&Report::default(), "apply").starts_with("everything done is recorded")
        );
    }

    #[test]
    fn the_header_counts_and_says_a_stop() {
        let mut h = Header {
            bar: ProgressBar::hidden(),
            doing: doing("destroy"),
            total: 40,
            done: 12,
            failed: 0,
            started: Instant::now() - Duration::from_secs(90),
            stopping: None,
        };
        assert_eq!(h.line(3), "Destroying  12/40 done, 3 in flight  [1m30s]");
        h.failed = 1;
        h.stopping = Some("stopping now");
        assert_eq!(
            h.line(0),
            "Destroying  12/40 done, 0 in flight, 1 failed  [1m30s]  stopping now"
        );
    }
}
