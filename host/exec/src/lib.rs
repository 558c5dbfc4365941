//! Executes a [`Plan`]: its [`Step`]s as a DAG, each as soon as the steps it waits
//! for are done, at most `parallelism` at a time, calling a [`Provider`].
//!
//! The state is the single source of truth and is saved after every change to it:
//! - before a create, the resource is recorded as `pending` (so an interrupted
//!   apply leaves a record, and the next apply adopts what AWS made, by its
//!   ownership tags, instead of leaking it);
//! - before the create of a create-before-delete replacement, the old copy moves to
//!   `deposed`, so it is deleted later even after a crash;
//! - after every finished operation.
//!
//! On a failure, no new step starts; steps in flight finish and are recorded. A
//! graceful stop (first Ctrl-C) does the same; a hard stop (second Ctrl-C) abandons
//! the steps in flight, whose creates stay recorded as pending. A create that AWS
//! refused with a definite answer (already exists, invalid, denied) leaves no
//! pending record: only a create whose outcome is unknown stays pending.
//!
//! Ownership first ([`ownership`]): before the first change, every existing resource
//! the plan would delete, change or adopt must be proven to be this stack's own
//! (its ownership tags name the stack's id, or the engine recorded its id); when
//! any is not, the apply stops with each named, and changes nothing.
//!
//! # Layout
//! - [`execute`]: the walk.
//! - [`Event`] / [`EventSink`]: what happens, for the CLI to show.
//! - [`Report`]: what was done, what failed, what never started.
//! - [`Stop`]: graceful and hard stop requests.
//! - [`refresh`]: reading live state in batches, per kind.

mod ownership;
mod refresh;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engine_core::plan::{ReplaceOrder, Step, StepOp};
use engine_core::state::{ResourceState, ResourceStatus};
use engine_core::value::replace_refs;
use engine_core::{Address, Plan, Spec, State};
use engine_provider::{
    Attributes, ErrorKind, Existing, OpContext, Ownership, Progress, Provider, ProviderError,
    ReadRequest, ReadResult, StackIdentity,
};
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use refresh::{Drift, DriftKind, refresh};

/// Something that happened during an apply.
#[derive(Clone, Debug)]
pub enum Event {
    /// A step started.
    Started {
        /// The resource.
        address: Address,
        /// What is being done.
        op: StepOp,
        /// Whether the kind takes minutes on AWS.
        slow: bool,
    },
    /// A provider's progress while it waits.
    Progress {
        /// The resource.
        address: Address,
        /// What it is waiting for.
        message: String,
        /// Since the step started.
        elapsed: Duration,
    },
    /// A step finished.
    Finished {
        /// The resource.
        address: Address,
        /// What was done.
        op: StepOp,
        /// How long it took.
        elapsed: Duration,
        /// The `id` (or `arn`, or `name`) attribute, for the user.
        id: Option<String>,
        /// Whether an existing resource left by an interrupted apply was adopted.
        adopted: bool,
    },
    /// A pending record was dropped without deleting anything: nothing carries
    /// this stack's ownership tags (the live resource with its name, if any,
    /// belongs to another stack), so the create it recorded never made anything.
    Forgotten {
        /// The resource.
        address: Address,
        /// What was found.
        reason: String,
    },
    /// A step failed.
    Failed {
        /// The resource.
        address: Address,
        /// What was tried.
        op: StepOp,
        /// Why (classified, with the cloud's error code; never a secret).
        error: StepError,
    },
}

/// Receives [`Event`]s.
pub type EventSink = Arc<dyn Fn(&Event) + Send + Sync>;

/// Why a step failed, with its kind kept.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StepError {
    /// The provider's classified error.
    #[error("{0}")]
    Provider(#[from] ProviderError),
    /// The resource cannot be proven to be this stack's own; nothing was changed.
    #[error("{0}")]
    NotOurs(String),
    /// The step could not be prepared from the plan and the state (a reference to a
    /// resource that was not created, a record that does not fit its kind).
    #[error("{0}")]
    Prepare(String),
    /// The provider's task panicked. A create's outcome is unknown, so it stays
    /// recorded as pending.
    #[error("the provider panicked: {0}")]
    Panicked(String),
}

/// How far a stop has gone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum StopLevel {
    /// No stop requested.
    #[default]
    Running,
    /// Start nothing new; let the steps in flight finish.
    Graceful,
    /// Abandon the steps in flight too (their creates stay pending).
    Hard,
}

/// Stop requests: `graceful` starts nothing new; `hard` also abandons steps in flight.
#[derive(Clone, Debug)]
pub struct Stop {
    tx: Arc<watch::Sender<StopLevel>>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop {
            tx: Arc::new(watch::channel(StopLevel::Running).0),
        }
    }
}

impl Stop {
    /// Escalates: the first call asks for a graceful stop, the next for a hard one.
    pub fn escalate(&self) -> StopLevel {
        let mut level = StopLevel::Running;
        self.tx.send_modify(|l| {
            *l = match *l {
                StopLevel::Running => StopLevel::Graceful,
                _ => StopLevel::Hard,
            };
            level = *l;
        });
        level
    }

    fn level(&self) -> StopLevel {
        *self.tx.borrow()
    }
}

/// How to execute.
#[derive(Clone, Debug)]
pub struct Options {
    /// Steps in flight at most.
    pub parallelism: usize,
    /// The stack that owns what is created, and must own what is touched.
    pub stack: StackIdentity,
}

/// One finished step.
#[derive(Clone, Debug)]
pub struct Done {
    /// The resource.
    pub address: Address,
    /// What was done.
    pub op: StepOp,
    /// How long it took.
    pub elapsed: Duration,
}

/// One failed step.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The resource.
    pub address: Address,
    /// What was tried.
    pub op: StepOp,
    /// Why.
    pub error: StepError,
}

/// What an execution did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Finished steps, in the order they finished.
    pub done: Vec<Done>,
    /// Failed steps.
    pub failed: Vec<Failure>,
    /// Steps never started (after a failure or a stop).
    pub not_started: Vec<(Address, StepOp)>,
    /// Steps abandoned in flight by a hard stop.
    pub abandoned: Vec<(Address, StepOp)>,
    /// Pending records dropped by a delete that found nothing of this stack's
    /// ([`Event::Forgotten`]); not counted in `done`.
    pub forgotten: Vec<Address>,
    /// Whether a stop was requested.
    pub stopped: bool,
    /// A state save that failed (the apply stopped there).
    pub save_error: Option<String>,
}

impl Report {
    /// Whether everything in the plan was done.
    pub fn complete(&self) -> bool {
        self.failed.is_empty()
            && self.not_started.is_empty()
            && self.abandoned.is_empty()
            && self.save_error.is_none()
    }
}

/// Saves the state; called after every change to it.
pub type Save<'a> = dyn FnMut(&mut State) -> Result<(), String> + Send + 'a;

enum Outcome {
    Created {
        attributes: Attributes,
        adopted: bool,
    },
    Updated(Attributes),
    Deleted,
    /// A pending record with nothing of this stack's behind it: dropped, nothing
    /// deleted (why, for the user).
    Forgotten(String),
}

struct Job {
    address: Address,
    op: StepOp,
    started: Instant,
    /// For an update: the resolved properties it applies.
    inputs: Option<Value>,
    /// For a create that replaces a resource created first: its old copy was moved
    /// to `deposed`, and goes back if AWS refuses the create.
    deposed_old: bool,
}

/// Each step's longest chain to the end of the apply: its own weight (a slow
/// kind, which waits minutes on AWS, weighs ten) plus its heaviest dependent's
/// chain. `dependents` lists, for each step, the steps that wait for it.
fn chain_ranks(plan: &Plan, steps: &[Step], dependents: &[Vec<usize>]) -> Vec<u64> {
    let weight = |i: usize| {
        if plan.changes[steps[i].change].kind.schema().slow {
            10
        } else {
            1
        }
    };
    // A step waits only for steps before it (`Step::after`): its dependents come
    // later, so one pass from the end sees them first.
    let mut rank = vec![0u64; steps.len()];
    for i in (0..steps.len()).rev() {
        let tail = dependents[i].iter().map(|&d| rank[d]).max().unwrap_or(0);
        rank[i] = weight(i) + tail;
    }
    rank
}

/// Executes `plan` against `state` (the state it was planned from), saving after
/// every change. Stack outputs are written when every step succeeded.
pub async fn execute(
    plan: &Plan,
    state: &mut State,
    provider: Arc<dyn Provider>,
    save: &mut Save<'_>,
    options: &Options,
    events: EventSink,
    stop: &Stop,
) -> Report {
    let steps = plan.steps();
    let mut waiting: Vec<usize> = steps.iter().map(|s| s.after.len()).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
    for (i, s) in steps.iter().enumerate() {
        for &a in &s.after {
            dependents[a].push(i);
        }
    }
    // Ready steps start longest remaining chain first (critical-path order), so
    // a cap on parallelism holds back the steps with slack, not the chain that
    // bounds the apply.
    let rank = chain_ranks(plan, &steps, &dependents);
    let mut ready: BTreeSet<(std::cmp::Reverse<u64>, usize)> = (0..steps.len())
        .filter(|i| waiting[*i] == 0)
        .map(|i| (std::cmp::Reverse(rank[i]), i))
        .collect();
    let mut started = vec![false; steps.len()];
    let mut running: JoinSet<(usize, Result<Outcome, ProviderError>)> = JoinSet::new();
    let mut jobs: BTreeMap<usize, Job> = BTreeMap::new();
    let mut tasks: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut report = Report::default();
    let mut halted = false;
    let mut stop_rx = stop.tx.subscribe();
    let parallelism = options.parallelism.max(1);

    let refusals =
        ownership::preflight(plan, &steps, state, provider.as_ref(), &options.stack).await;
    if !refusals.is_empty() {
        for (i, message) in refusals {
            fail(
                &mut report,
                &events,
                &steps[i].address,
                steps[i].op,
                StepError::NotOurs(message),
            );
        }
        halted = true;
    }

    loop {
        while !halted && stop.level() == StopLevel::Running && running.len() < parallelism {
            let Some((_, i)) = ready.pop_first() else {
                break;
            };
            started[i] = true;
            let step = &steps[i];
            let job = match prepare(plan, step, state) {
                Ok(job) => job,
                Err(message) => {
                    fail(
                        &mut report,
                        &events,
                        &step.address,
                        step.op,
                        StepError::Prepare(message),
                    );
                    halted = true;
                    break;
                }
            };
            if job.marks_state
                && let Err(e) = save(state)
            {
                report.save_error = Some(e);
                halted = true;
                break;
            }
            let change = &plan.changes[step.change];
            let slow = change.kind.schema().slow;
            let replacing = change.action == engine_core::Action::Replace
                && matches!(step.op, StepOp::Delete | StepOp::DeleteDeposed);
            events(&Event::Started {
                address: step.address.clone(),
                op: step.op,
                slow,
            });
            let started_at = Instant::now();
            let sink = events.clone();
            let cx = OpContext::new(options.stack.clone())
                .with_progress(move |p| {
                    sink(&Event::Progress {
                        address: p.address.clone(),
                        message: p.message.clone(),
                        elapsed: p.elapsed,
                    })
                })
                .replacing(replacing);
            let provider = provider.clone();
            let (work, inputs, deposed_old) = (job.work, job.inputs, job.deposed_old);
            let handle = running.spawn(async move { (i, run(provider, work, cx).await) });
            tasks.insert(handle.id(), i);
            jobs.insert(
                i,
                Job {
                    address: step.address.clone(),
                    op: step.op,
                    started: started_at,
                    inputs,
                    deposed_old,
                },
            );
        }
        if running.is_empty() {
            break;
        }
        let joined = tokio::select! {
            joined = running.join_next() => joined,
            _ = wait_hard(&mut stop_rx) => {
                running.abort_all();
                while running.join_next().await.is_some() {}
                report.abandoned = jobs.values().map(|j| (j.address.clone(), j.op)).collect();
                jobs.clear();
                break;
            }
        };
        let Some(joined) = joined else { break };
        let (i, result) = match joined {
            Ok(x) => x,
            Err(e) => {
                // A panicking provider task: the step it ran failed (a create's
                // outcome is unknown, so its pending record stays).
                tracing::error!(error = %e, "a provider task failed");
                halted = true;
                let Some(job) = tasks.get(&e.id()).and_then(|i| jobs.remove(i)) else {
                    continue;
                };
                let why = match e.try_into_panic() {
                    Ok(payload) => panic_message(payload.as_ref()),
                    Err(e) => e.to_string(),
                };
                fail(
                    &mut report,
                    &events,
                    &job.address,
                    job.op,
                    StepError::Panicked(why),
                );
                continue;
            }
        };
        let Some(job) = jobs.remove(&i) else { continue };
        let elapsed = job.started.elapsed();
        match result {
            Ok(outcome) => {
                let forgotten = match &outcome {
                    Outcome::Forgotten(reason) => Some(reason.clone()),
                    _ => None,
                };
                let (id, adopted) = record(plan, &steps[i], state, outcome, job.inputs);
                if let Err(e) = save(state) {
                    report.save_error = Some(e);
                    halted = true;
                }
                match forgotten {
                    Some(reason) => {
                        events(&Event::Forgotten {
                            address: job.address.clone(),
                            reason,
                        });
                        report.forgotten.push(job.address);
                    }
                    None => {
                        events(&Event::Finished {
                            address: job.address.clone(),
                            op: job.op,
                            elapsed,
                            id,
                            adopted,
                        });
                        report.done.push(Done {
                            address: job.address,
                            op: job.op,
                            elapsed,
                        });
                    }
                }
                for &d in &dependents[i] {
                    waiting[d] -= 1;
                    if waiting[d] == 0 {
                        ready.insert((std::cmp::Reverse(rank[d]), d));
                    }
                }
            }
            Err(e) => {
                if job.op == StepOp::Create && e.refused {
                    // AWS turned the create down: nothing exists, so no pending
                    // record stays behind (a replaced resource's old copy returns).
                    undo_pending(state, &job.address, job.deposed_old);
                    if let Err(e) = save(state) {
                        report.save_error = Some(e);
                    }
                }
                fail(
                    &mut report,
                    &events,
                    &job.address,
                    job.op,
                    StepError::Provider(e),
                );
                halted = true;
            }
        }
    }

    report.stopped = stop.level() > StopLevel::Running;
    report.not_started = steps
        .iter()
        .enumerate()
        .filter(|(i, _)| !started[*i])
        .map(|(_, s)| (s.address.clone(), s.op))
        .collect();
    if report.complete() {
        write_outputs(plan, state);
        if let Err(e) = save(state) {
            report.save_error = Some(e);
        }
    }
    report
}

/// Records a failed step and tells the sink.
fn fail(report: &mut Report, events: &EventSink, address: &Address, op: StepOp, error: StepError) {
    events(&Event::Failed {
        address: address.clone(),
        op,
        error: error.clone(),
    });
    report.failed.push(Failure {
        address: address.clone(),
        op,
        error,
    });
}

/// The message of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

async fn wait_hard(rx: &mut watch::Receiver<StopLevel>) {
    loop {
        if *rx.borrow_and_update() >= StopLevel::Hard {
            return;
        }
        if rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// What a step will ask of the provider (one per step, short-lived: size is moot).
#[allow(clippy::large_enum_variant)]
enum Work {
    Create {
        address: Address,
        spec: Spec,
        adopt: bool,
    },
    Update {
        address: Address,
        old: Spec,
        new: Spec,
        attributes: Attributes,
    },
    Delete {
        address: Address,
        spec: Spec,
        attributes: Attributes,
    },
}

struct Prepared {
    work: Work,
    /// Whether `prepare` changed the state (a pending marker, a deposed copy).
    marks_state: bool,
    /// For an update: the resolved properties it applies.
    inputs: Option<Value>,
    /// Whether the old copy of a resource replaced create-before-delete was moved
    /// to `deposed`.
    deposed_old: bool,
}

/// Takes back a create's pending marker after AWS refused the create.
fn undo_pending(state: &mut State, address: &Address, deposed_old: bool) {
    state.resources.remove(address);
    if deposed_old && let Some(old) = state.deposed.remove(address) {
        state.resources.insert(address.clone(), old);
    }
}

fn prepare(plan: &Plan, step: &Step, state: &mut State) -> Result<Prepared, String> {
    let change = &plan.changes[step.change];
    let address = change.address.clone();
    let kind = change.kind;
    let spec_of = |inputs: &Value| {
        Spec::from_properties(kind, inputs.clone())
            .map_err(|e| format!("the recorded properties of `{address}` do not fit a {kind}: {e}"))
    };
    Ok(match step.op {
        StepOp::Create | StepOp::Update => {
            let after = change
                .after
                .clone()
                .ok_or_else(|| format!("the plan has no properties for `{address}`"))?;
            let inputs = resolve(after, state, &address)?;
            let spec = spec_of(&inputs)?;
            let prior = state.resources.get(&address);
            if step.op == StepOp::Update {
                let prior =
                    prior.ok_or_else(|| format!("`{address}` is not in the state any more"))?;
                Prepared {
                    work: Work::Update {
                        address: address.clone(),
                        old: spec_of(&prior.inputs)?,
                        new: spec,
                        attributes: prior.attributes.clone(),
                    },
                    marks_state: false,
                    inputs: Some(inputs),
                    deposed_old: false,
                }
            } else {
                let adopt = prior.is_some_and(|p| p.status == ResourceStatus::Pending);
                let mut deposed_old = false;
                if change.replace_order == Some(ReplaceOrder::CreateBeforeDelete)
                    && !adopt
                    && let Some(old) = state.resources.remove(&address)
                {
                    state.deposed.insert(address.clone(), old);
                    deposed_old = true;
                }
                state.resources.insert(
                    address.clone(),
                    ResourceState {
                        kind,
                        plugin_sha256: change.plugin_sha256.clone().unwrap_or_default(),
                        inputs,
                        attributes: BTreeMap::new(),
                        dependencies: change.dependencies.clone(),
                        status: ResourceStatus::Pending,
                        tagged_as: None,
                    },
                );
                Prepared {
                    work: Work::Create {
                        address: address.clone(),
                        spec,
                        adopt,
                    },
                    marks_state: true,
                    inputs: None,
                    deposed_old,
                }
            }
        }
        StepOp::Delete | StepOp::DeleteDeposed => {
            let current = if step.op == StepOp::Delete {
                state.resources.get(&address)
            } else {
                state.deposed.get(&address)
            };
            let current =
                current.ok_or_else(|| format!("`{address}` is not in the state any more"))?;
            Prepared {
                work: Work::Delete {
                    address: address.clone(),
                    spec: spec_of(&current.inputs)?,
                    attributes: current.attributes.clone(),
                },
                marks_state: false,
                inputs: None,
                deposed_old: false,
            }
        }
    })
}

/// Replaces every reference in `v` with the referenced attribute from the state.
fn resolve(mut v: Value, state: &State, address: &Address) -> Result<Value, String> {
    let mut missing = None;
    replace_refs(&mut v, &mut |r| {
        let found = state
            .resources
            .get(&r.resource)
            .and_then(|t| t.attributes.get(&r.attribute));
        match found {
            Some(Value::String(s)) => Some(Value::String(s.clone())),
            Some(other) => Some(Value::String(other.to_string())),
            None => {
                missing = Some(r.to_string());
                None
            }
        }
    });
    match missing {
        Some(r) => Err(format!(
            "`{address}` needs `{r}`, which is not known (its resource was not created)"
        )),
        None => Ok(v),
    }
}

/// Attempts of a create that fails transiently (each after the provider's own
/// retries), and the wait before the first look for what a failed one made
/// (doubling after each).
const CREATE_ATTEMPTS: u32 = 4;
const CREATE_BACKOFF: Duration = Duration::from_millis(500);

async fn run(
    provider: Arc<dyn Provider>,
    work: Work,
    cx: OpContext,
) -> Result<Outcome, ProviderError> {
    match work {
        Work::Create {
            address,
            spec,
            adopt,
        } => {
            if adopt && let Some(found) = provider.find_existing(&address, &spec, &cx.stack).await?
            {
                // Left by an interrupted apply, if its tags prove it ours.
                return adopt_existing(provider.as_ref(), &address, &spec, found, &cx).await;
            }
            let started = Instant::now();
            let mut attempt = 1;
            loop {
                match provider.create(&address, &spec, &cx).await {
                    Ok(attributes) => {
                        return Ok(Outcome::Created {
                            attributes: identified(&address, &spec, attributes)?,
                            adopted: false,
                        });
                    }
                    Err(e) if e.refused && e.kind == ErrorKind::Conflict => {
                        // The name is taken. By this stack (a create retried after its
                        // first attempt went through): adopt it. By anyone else: say so.
                        return match provider.find_existing(&address, &spec, &cx.stack).await {
                            Ok(Some(found)) => {
                                adopt_existing(provider.as_ref(), &address, &spec, found, &cx).await
                            }
                            _ => Err(e),
                        };
                    }
                    Err(e) if e.is_transient() && attempt < CREATE_ATTEMPTS => {
                        // Throttled, a server error, or no answer at all: AWS may have
                        // acted before the answer was lost, and a create without an
                        // idempotency token made again would make a second resource.
                        // Look for what this stack's tags prove made, then try again.
                        let wait = CREATE_BACKOFF * 2u32.pow(attempt - 1);
                        (cx.progress)(&Progress {
                            address: address.clone(),
                            message: format!(
                                "create failed ({}); looking for what it made in {}s, \
                                 then trying again",
                                e.code.as_deref().unwrap_or("no answer"),
                                wait.as_secs_f64()
                            ),
                            elapsed: started.elapsed(),
                        });
                        tokio::time::sleep(wait).await;
                        if let Some(found) =
                            provider.find_existing(&address, &spec, &cx.stack).await?
                        {
                            return adopt_existing(provider.as_ref(), &address, &spec, found, &cx)
                                .await;
                        }
                        attempt += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Work::Update {
            address,
            old,
            new,
            attributes,
        } => Ok(Outcome::Updated(
            provider
                .update(&address, &old, &new, &attributes, &cx)
                .await?,
        )),
        Work::Delete {
            address,
            spec,
            attributes,
        } => {
            if !attributes.is_empty() {
                // Proven ours before the apply started (`ownership::preflight`).
                provider.delete(&address, &spec, &attributes, &cx).await?;
                return Ok(Outcome::Deleted);
            }
            // A pending create that never finished: delete what it left, if its
            // tags prove it ours; a name another stack holds was never ours.
            let Some(found) = provider.find_existing(&address, &spec, &cx.stack).await? else {
                return Ok(Outcome::Forgotten(
                    "nothing carries this stack's ownership tags, so the create this stack \
                     recorded never made it"
                        .into(),
                ));
            };
            match cx.stack.judge(found.owner.as_ref(), &address, false) {
                Ownership::Ours => {
                    provider
                        .delete(&address, &spec, &found.attributes, &cx)
                        .await?;
                    Ok(Outcome::Deleted)
                }
                Ownership::Theirs(why) => {
                    let name = ownership::display_name(&spec, &found.attributes);
                    Ok(Outcome::Forgotten(format!(
                        "{name} {why}, so the create this stack recorded never made it"
                    )))
                }
                Ownership::Unproven(why) => {
                    let name = ownership::display_name(&spec, &found.attributes);
                    Err(ProviderError::new(
                        ErrorKind::Conflict,
                        "prove ownership",
                        Some(&address),
                        format!("refusing to delete {name}: it {why}. Nothing was changed"),
                    ))
                }
            }
        }
    }
}

/// The attributes of a created resource, which must identify it (an `id`, `arn` or
/// `name`): a record with none could never be found again, so it is an error (the
/// resource stays pending for adoption by its tags), never an empty id in the state.
fn identified(
    address: &Address,
    spec: &Spec,
    attributes: Attributes,
) -> Result<Attributes, ProviderError> {
    if display_id(&attributes).is_some_and(|id| !id.is_empty()) {
        return Ok(attributes);
    }
    Err(ProviderError::new(
        ErrorKind::Other,
        "create",
        Some(address),
        format!(
            "the provider reported the {} created but returned no id, ARN or name for it",
            spec.kind()
        ),
    ))
}

/// Adopts a live resource whose name a create found taken, or that an interrupted
/// create left, when its tags prove it this stack's: reads it and brings it to the
/// desired properties. Anything else is refused (definitely: nothing was created).
async fn adopt_existing(
    provider: &dyn Provider,
    address: &Address,
    spec: &Spec,
    found: Existing,
    cx: &OpContext,
) -> Result<Outcome, ProviderError> {
    let verdict = cx.stack.judge(found.owner.as_ref(), address, false);
    let name = ownership::display_name(spec, &found.attributes);
    if let Some(message) = ownership::collision(&name, &verdict) {
        let mut e = ProviderError::new(
            ErrorKind::Conflict,
            "prove ownership",
            Some(address),
            message,
        );
        e.code = Some("AlreadyExists".into());
        return Err(e.refusing());
    }
    let live = provider
        .read_batch(
            spec.kind(),
            &[ReadRequest {
                address: address.clone(),
                prior: spec.clone(),
                attributes: found.attributes.clone(),
            }],
        )
        .await?;
    let Some(ReadResult::Found {
        spec: live,
        attributes,
        ..
    }) = live.into_iter().next()
    else {
        // Gone between the two reads: create it after all.
        let attributes = provider.create(address, spec, cx).await?;
        return Ok(Outcome::Created {
            attributes,
            adopted: false,
        });
    };
    let attributes = provider
        .update(address, &live, spec, &attributes, cx)
        .await?;
    Ok(Outcome::Created {
        attributes,
        adopted: true,
    })
}

fn record(
    plan: &Plan,
    step: &Step,
    state: &mut State,
    outcome: Outcome,
    inputs: Option<Value>,
) -> (Option<String>, bool) {
    let change = &plan.changes[step.change];
    let address = &change.address;
    match outcome {
        Outcome::Created {
            attributes,
            adopted,
        } => {
            let id = display_id(&attributes);
            if let Some(r) = state.resources.get_mut(address) {
                r.attributes = attributes;
                r.status = ResourceStatus::Ready;
            }
            (id, adopted)
        }
        Outcome::Updated(attributes) => {
            let id = display_id(&attributes);
            if let Some(r) = state.resources.get_mut(address) {
                if let Some(inputs) = inputs {
                    r.inputs = inputs;
                }
                r.attributes = attributes;
                r.dependencies = change.dependencies.clone();
                if let Some(sha) = &change.plugin_sha256 {
                    r.plugin_sha256 = sha.clone();
                }
                r.status = ResourceStatus::Ready;
                // Every update sets the ownership tags again, at this address.
                r.tagged_as = None;
            }
            (id, false)
        }
        Outcome::Deleted | Outcome::Forgotten(_) => {
            if step.op == StepOp::DeleteDeposed {
                state.deposed.remove(address);
            } else {
                state.resources.remove(address);
            }
            (None, false)
        }
    }
}

/// The `id` (or `arn`, or `name`) attribute: what identifies a created resource.
pub fn display_id(a: &Attributes) -> Option<String> {
    ["id", "arn", "name"]
        .iter()
        .find_map(|k| a.get(*k).and_then(Value::as_str).map(str::to_string))
}

/// Evaluates the stack outputs from the state.
pub fn write_outputs(plan: &Plan, state: &mut State) {
    for o in &plan.outputs {
        match &o.after {
            None => {
                state.outputs.remove(&o.name);
            }
            Some(after) => {
                let mut v = after.clone();
                replace_refs(&mut v, &mut |r| {
                    state
                        .resources
                        .get(&r.resource)
                        .and_then(|t| t.attributes.get(&r.attribute))
                        .cloned()
                });
                state.outputs.insert(o.name.clone(), v);
            }
        }
    }
}
