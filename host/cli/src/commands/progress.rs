//! Progress of an apply or destroy: plain lines on stderr for people (a slow step
//! repeats its status at most every 10 s), or typed JSON events on stdout for
//! machines, one per line, ending with a `summary`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use engine_aws::CallCounter;
use engine_core::plan::StepOp;
use engine_core::{Address, Diagnostic, printable};
use engine_exec::{Event, Report};
use serde::Serialize;

use crate::ui;

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

/// Shows progress: plain lines on stderr, or JSON events on stdout.
pub(crate) struct Printer {
    json: bool,
    /// The steps in flight.
    running: Mutex<BTreeMap<Address, Running>>,
}

/// A step in flight, for its "still ..." lines.
struct Running {
    op: StepOp,
    started: Instant,
    printed: Instant,
    /// The last status the provider reported (after each AWS status check).
    status: Option<String>,
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
    /// A printer; for people, with a clock that prints the "still ..." lines of
    /// the steps in flight for as long as the printer lives.
    pub(crate) fn new(json: bool) -> Arc<Printer> {
        let printer = Arc::new(Printer {
            json,
            running: Mutex::new(BTreeMap::new()),
        });
        if !json {
            let weak = Arc::downgrade(&printer);
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(250));
                    match weak.upgrade() {
                        Some(p) => p.still(),
                        None => break,
                    }
                }
            });
        }
        printer
    }

    /// One "still ..." line per step in flight whose last line is 10 s old.
    fn still(&self) {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        for (address, r) in running.iter_mut() {
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

    fn running(&self) -> std::sync::MutexGuard<'_, BTreeMap<Address, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn emit(&self, e: &JsonEvent<'_>) {
        ui::out(&format!(
            "{}\n",
            serde_json::to_string(e).unwrap_or_default()
        ));
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
                } else {
                    eprintln!("{address}: {}...", op_words(*op).0);
                }
                let now = Instant::now();
                self.running().insert(
                    address.clone(),
                    Running {
                        op: *op,
                        started: now,
                        printed: now,
                        status: None,
                    },
                );
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
                if let Some(r) = self.running().get_mut(address) {
                    r.status = Some(message.clone());
                }
            }
            Event::Finished {
                address,
                op,
                elapsed: took,
                id,
                adopted,
            } => {
                self.running().remove(address);
                if self.json {
                    self.emit(&JsonEvent::Finished {
                        address: address.to_string(),
                        op: *op,
                        elapsed_ms: millis(*took),
                        id: id.as_deref(),
                        adopted: *adopted,
                    });
                } else {
                    let id = id
                        .as_deref()
                        .map(|i| format!(" ({})", printable::line(i)))
                        .unwrap_or_default();
                    let adopted = if *adopted {
                        ", adopted: an earlier attempt made it, as its tags prove"
                    } else {
                        ""
                    };
                    eprintln!(
                        "{address}: {} [{}]{id}{adopted}",
                        op_words(*op).1,
                        elapsed(*took)
                    );
                }
            }
            Event::Forgotten { address, reason } => {
                if self.json {
                    self.emit(&JsonEvent::Forgotten {
                        address: address.to_string(),
                        reason,
                    });
                } else {
                    eprintln!(
                        "{address}: forgotten, nothing deleted: {}",
                        printable::line(reason)
                    );
                }
            }
            Event::Failed { address, op, error } => {
                self.running().remove(address);
                let message = error.to_string();
                if self.json {
                    self.emit(&JsonEvent::Failed {
                        address: address.to_string(),
                        op: *op,
                        message: message.clone(),
                    });
                } else {
                    ui::diagnostics(&[Diagnostic::error(format!(
                        "{} `{address}` failed",
                        op_words(*op).0
                    ))
                    .address(address)
                    .detail(message)]);
                }
            }
        }
    }

    pub(crate) fn summary(&self, r: &Report, verb: &str, took: Duration, calls: &CallCounter) {
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
        let hint = if r.stopped && r.failed.is_empty() && r.save_error.is_none() {
            format!(
                "stopped on request; everything done is recorded in the state: run `engine {verb}` again to finish"
            )
        } else {
            format!(
                "everything done is recorded in the state; fix the cause and run `engine {verb}` again"
            )
        };
        ui::diagnostics(&[Diagnostic::error(lines.remove(0))
            .detail(lines.join("\n"))
            .hint(hint)]);
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
