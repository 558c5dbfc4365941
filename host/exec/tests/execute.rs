//! The executor against an in-memory provider: order, parallelism, state saved
//! after every operation, failures, stops, adoption after an interrupted apply.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use engine_core::state::ResourceStatus;
use engine_core::{Address, Kind, Plan, Spec, State, samples};
use engine_exec::{Event, Options, Report, Stop, execute};
use engine_provider::{
    Attributes, ErrorKind, Existing, OpContext, Owner, Provider, ProviderError, ReadRequest,
    ReadResult, StackIdentity,
};
use serde_json::{Value, json};

/// The identity the tests' stack runs as.
fn me() -> StackIdentity {
    StackIdentity::new("test", "lineage-test")
}

/// The ownership tags a stack's create writes.
fn owned_by(stack: &StackIdentity, address: &Address) -> Option<Owner> {
    Some(Owner {
        stack: Some(stack.name.clone()),
        stack_id: Some(stack.id.clone()),
        address: Some(address.to_string()),
        via: None,
    })
}

/// A live fake resource: its spec, attributes and ownership tags.
type Live = (Spec, Attributes, Option<Owner>);

/// An in-memory cloud: ids from a counter, calls logged, failures and delays on demand.
/// Each live resource carries the ownership its creator tagged it with.
#[derive(Default)]
struct FakeCloud {
    live: Mutex<BTreeMap<Address, Live>>,
    log: Mutex<Vec<String>>,
    fail: Mutex<BTreeSet<String>>,
    /// Failures that are definite refusals (nothing created).
    refuse: Mutex<BTreeSet<String>>,
    /// Operations that panic (a bug in a provider).
    panic: Mutex<BTreeSet<String>>,
    /// Creates that report no attributes at all (a provider bug).
    anonymous: Mutex<BTreeSet<String>>,
    /// Creates that act and then lose their answer (a reset after AWS acted), once.
    lose: Mutex<BTreeSet<String>>,
    delay: Mutex<Option<Duration>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    next_id: AtomicUsize,
}

impl FakeCloud {
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    async fn enter(&self, what: String) -> Result<(), ProviderError> {
        let n = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(n, Ordering::SeqCst);
        let delay = *self.delay.lock().unwrap();
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.log.lock().unwrap().push(what.clone());
        if self.panic.lock().unwrap().contains(&what) {
            panic!("the fake provider has a bug in {what}");
        }
        if self.fail.lock().unwrap().contains(&what) {
            return Err(ProviderError::new(
                ErrorKind::Other,
                "CreateThing",
                None,
                "the fake lost the connection",
            ));
        }
        if self.refuse.lock().unwrap().contains(&what) {
            let mut e =
                ProviderError::new(ErrorKind::Invalid, "CreateThing", None, "the fake refused");
            e.refused = true;
            return Err(e);
        }
        Ok(())
    }

    /// Hands a live resource to another stack (as if that stack had created it).
    fn give_to(&self, address: &Address, other: &StackIdentity) {
        let mut live = self.live.lock().unwrap();
        let entry = live.get_mut(address).unwrap();
        entry.2 = owned_by(other, address);
    }
}

fn attributes(address: &Address, kind: Kind, spec: &Spec, n: usize) -> Attributes {
    let props = spec.properties();
    let mut a = Attributes::new();
    for (name, ty) in kind.schema().attributes {
        let v = match props.get(*name) {
            Some(v) if !v.is_null() => v.clone(),
            _ if *ty == engine_core::schema::AttrType::Number => json!(6379),
            _ => json!(format!("{}-{}-{n}", kind.as_str(), address.name)),
        };
        a.insert(name.to_string(), v);
    }
    a
}

fn assert_resolved(address: &Address, spec: &Spec) {
    assert!(
        spec.references().is_empty(),
        "{address} was sent unresolved references: {:?}",
        spec.references()
    );
}

#[async_trait]
impl Provider for FakeCloud {
    async fn create(
        &self,
        address: &Address,
        spec: &Spec,
        cx: &OpContext,
    ) -> Result<Attributes, ProviderError> {
        assert_resolved(address, spec);
        self.enter(format!("create {address}")).await?;
        if let Some((_, _, owner)) = self.live.lock().unwrap().get(address) {
            // Named like a live resource: AWS refuses.
            let mut e = ProviderError::new(
                ErrorKind::Conflict,
                "CreateThing",
                Some(address),
                format!("already exists ({owner:?})"),
            );
            e.code = Some("AlreadyExists".into());
            e.refused = true;
            return Err(e);
        }
        let n = self.next_id.fetch_add(1, Ordering::SeqCst);
        let mut a = attributes(address, spec.kind(), spec, n);
        if self
            .anonymous
            .lock()
            .unwrap()
            .contains(&format!("create {address}"))
        {
            a.clear();
        }
        self.live.lock().unwrap().insert(
            address.clone(),
            (spec.clone(), a.clone(), owned_by(&cx.stack, address)),
        );
        if self
            .lose
            .lock()
            .unwrap()
            .remove(&format!("create {address}"))
        {
            return Err(ProviderError::new(
                ErrorKind::Other,
                "CreateThing",
                Some(address),
                "connection reset (the answer was lost)",
            ));
        }
        Ok(a)
    }

    async fn read_batch(
        &self,
        _kind: Kind,
        requests: &[ReadRequest],
    ) -> Result<Vec<ReadResult>, ProviderError> {
        let live = self.live.lock().unwrap();
        Ok(requests
            .iter()
            .map(|r| match live.get(&r.address) {
                Some((spec, attributes, owner)) => ReadResult::Found {
                    spec: spec.clone(),
                    attributes: attributes.clone(),
                    owner: owner.clone(),
                },
                None => ReadResult::Gone,
            })
            .collect())
    }

    async fn update(
        &self,
        address: &Address,
        _old: &Spec,
        new: &Spec,
        attributes: &Attributes,
        _cx: &OpContext,
    ) -> Result<Attributes, ProviderError> {
        assert_resolved(address, new);
        self.enter(format!("update {address}")).await?;
        let mut live = self.live.lock().unwrap();
        let owner = live.get(address).and_then(|l| l.2.clone());
        live.insert(address.clone(), (new.clone(), attributes.clone(), owner));
        Ok(attributes.clone())
    }

    async fn delete(
        &self,
        address: &Address,
        _spec: &Spec,
        _a: &Attributes,
        _cx: &OpContext,
    ) -> Result<(), ProviderError> {
        self.enter(format!("delete {address}")).await?;
        self.live.lock().unwrap().remove(address);
        Ok(())
    }

    async fn find_existing(
        &self,
        address: &Address,
        _spec: &Spec,
        _stack: &StackIdentity,
    ) -> Result<Option<Existing>, ProviderError> {
        self.log.lock().unwrap().push(format!("find {address}"));
        // Every fake resource is "named" by its address, like IAM roles by name.
        Ok(self
            .live
            .lock()
            .unwrap()
            .get(address)
            .map(|(_, a, owner)| Existing {
                attributes: a.clone(),
                owner: owner.clone(),
            }))
    }
}

struct Run {
    report: Report,
    state: State,
    saves: Vec<State>,
    events: Vec<Event>,
}

async fn run(
    cloud: &Arc<FakeCloud>,
    plan: &Plan,
    prior: &State,
    parallelism: usize,
    stop: &Stop,
) -> Run {
    let mut state = prior.clone();
    let mut saves = Vec::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let report = execute(
        plan,
        &mut state,
        cloud.clone(),
        &mut |s: &mut State| {
            s.serial += 1;
            saves.push(s.clone());
            Ok(())
        },
        &Options {
            parallelism,
            stack: me(),
        },
        Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone())),
        stop,
    )
    .await;
    let events = events.lock().unwrap().clone();
    Run {
        report,
        state,
        saves,
        events,
    }
}

fn plan_for(state: &State) -> Plan {
    engine_core::plan(&samples::graph(), state, &samples::plugin_sha256s())
}

#[tokio::test]
async fn creates_everything_in_dependency_order_and_replans_to_no_changes() {
    let cloud = Arc::new(FakeCloud::default());
    let plan = plan_for(&State::empty());
    let r = run(&cloud, &plan, &State::empty(), 8, &Stop::default()).await;
    assert!(r.report.complete(), "{:?}", r.report);
    let graph = samples::graph();
    let log = cloud.log();
    let pos = |a: &Address| {
        log.iter()
            .position(|l| l == &format!("create {a}"))
            .unwrap()
    };
    for (a, deps) in &graph.dependencies {
        for d in deps {
            assert!(pos(d) < pos(a), "{d} must be created before {a}: {log:?}");
        }
    }
    assert_eq!(r.state.resources.len(), graph.resources.len());
    assert!(
        r.state
            .resources
            .values()
            .all(|r| r.status == ResourceStatus::Ready)
    );
    // Outputs resolved from attributes, ports as numbers.
    assert_eq!(r.state.outputs.len(), graph.outputs.len());
    assert!(
        r.state
            .outputs
            .values()
            .all(|v| !engine_core::plan::contains_unknown(v)),
        "{:?}",
        r.state.outputs
    );
    // A second plan finds nothing to do.
    let again = plan_for(&r.state);
    assert!(
        !again.has_changes(),
        "{}",
        engine_core::render::human(&again, false)
    );
}

#[tokio::test]
async fn state_is_saved_after_every_operation_with_a_pending_marker_first() {
    let cloud = Arc::new(FakeCloud::default());
    let plan = plan_for(&State::empty());
    let r = run(&cloud, &plan, &State::empty(), 1, &Stop::default()).await;
    let creates = plan.steps().len();
    // One save before each create (pending), one after, one for the outputs.
    assert_eq!(r.saves.len(), 2 * creates + 1);
    let first = &r.saves[0];
    assert_eq!(first.resources.len(), 1);
    assert_eq!(
        first.resources.values().next().unwrap().status,
        ResourceStatus::Pending
    );
    assert_eq!(
        r.saves[1].resources.values().next().unwrap().status,
        ResourceStatus::Ready
    );
}

/// With one slot, the chain that bounds the apply goes first: the VPC, on the way
/// to the database and the cache (slow kinds, which wait minutes on AWS), before
/// the roots with slack (keys, roles, topics, secrets) that come earlier by address.
#[tokio::test]
async fn the_longest_chain_starts_first() {
    let cloud = Arc::new(FakeCloud::default());
    let plan = plan_for(&State::empty());
    let r = run(&cloud, &plan, &State::empty(), 1, &Stop::default()).await;
    assert!(r.report.complete(), "{:?}", r.report);
    let log = cloud.log();
    assert_eq!(
        log.first().map(String::as_str),
        Some("create network/vpc"),
        "{log:?}"
    );
    let pos = |what: &str| log.iter().position(|l| l == what).unwrap();
    assert!(
        pos("create database/db") < pos("create kinesis/key"),
        "the database is on the longest chain, the stream's key is not: {log:?}"
    );
}

#[tokio::test]
async fn parallelism_is_bounded() {
    let cloud = Arc::new(FakeCloud::default());
    *cloud.delay.lock().unwrap() = Some(Duration::from_millis(5));
    let plan = plan_for(&State::empty());
    let r = run(&cloud, &plan, &State::empty(), 3, &Stop::default()).await;
    assert!(r.report.complete());
    let max = cloud.max_in_flight.load(Ordering::SeqCst);
    assert!((2..=3).contains(&max), "max in flight {max}");
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_found_and_adopted_not_made_twice() {
    let cloud = Arc::new(FakeCloud::default());
    let plan = plan_for(&State::empty());
    let vpc = plan
        .changes
        .iter()
        .find(|c| c.kind == Kind::Vpc)
        .unwrap()
        .address
        .clone();
    cloud.lose.lock().unwrap().insert(format!("create {vpc}"));
    let r = run(&cloud, &plan, &State::empty(), 4, &Stop::default()).await;
    assert!(r.report.complete(), "{:?}", r.report);
    let log = cloud.log();
    let creates = log
        .iter()
        .filter(|l| **l == format!("create {vpc}"))
        .count();
    assert_eq!(creates, 1, "looked before creating again: {log:?}");
    assert!(log.contains(&format!("find {vpc}")), "{log:?}");
    assert_eq!(r.state.resources[&vpc].status, ResourceStatus::Ready);
    assert!(!plan_for(&r.state).has_changes());
}

#[tokio::test]
async fn a_failure_stops_new_work_and_everything_done_is_recorded() {
    let cloud = Arc::new(FakeCloud::default());
    let plan = plan_for(&State::empty());
    let first_subnet = plan
        .changes
        .iter()
        .find(|c| c.kind == Kind::Subnet)
        .unwrap()
        .address
        .clone();
    cloud
        .fail
        .lock()
        .unwrap()
        .insert(format!("create {first_subnet}"));
    let r = run(&cloud, &plan, &State::empty(), 1, &Stop::default()).await;
    assert_eq!(r.report.failed.len(), 1);
    assert_eq!(r.report.failed[0].address, first_subnet);
    assert!(
        r.report.failed[0]
            .error
            .to_string()
            .contains("lost the connection"),
        "{}",
        r.report.failed[0].error
    );
    assert!(!r.report.not_started.is_empty());
    // Everything created is in the state; the failed one (outcome unknown) stays
    // pending for adoption.
    for d in &r.report.done {
        assert_eq!(r.state.resources[&d.address].status, ResourceStatus::Ready);
    }
    assert_eq!(
        r.state.resources[&first_subnet].status,
        ResourceStatus::Pending
    );
    assert!(
        r.state.outputs.is_empty(),
        "outputs wait for a complete apply"
    );
    assert!(r.events.iter().any(|e| matches!(e, Event::Failed { .. })));

    // The next apply finishes the job, adopting nothing (the failed create made nothing).
    cloud.fail.lock().unwrap().clear();
    let plan = plan_for(&r.state);
    let r2 = run(&cloud, &plan, &r.state, 4, &Stop::default()).await;
    assert!(r2.report.complete(), "{:?}", r2.report);
    assert!(cloud.log().contains(&format!("find {first_subnet}")));
    assert!(!plan_for(&r2.state).has_changes());
}

#[tokio::test]
async fn an_interrupted_create_is_adopted_not_duplicated() {
    let cloud = Arc::new(FakeCloud::default());
    let plan = plan_for(&State::empty());
    let full = run(&cloud, &plan, &State::empty(), 4, &Stop::default()).await;
    // Pretend the process died right after AWS created one resource: the state has
    // it pending, with no attributes.
    let mut crashed = full.state.clone();
    let victim = crashed.resources.keys().next().unwrap().clone();
    let r = crashed.resources.get_mut(&victim).unwrap();
    r.status = ResourceStatus::Pending;
    r.attributes.clear();
    let plan = plan_for(&crashed);
    let before = cloud.next_id.load(Ordering::SeqCst);
    let again = run(&cloud, &plan, &crashed, 4, &Stop::default()).await;
    assert!(again.report.complete(), "{:?}", again.report);
    assert_eq!(
        cloud.next_id.load(Ordering::SeqCst),
        before,
        "nothing created twice"
    );
    assert!(
        again
            .events
            .iter()
            .any(|e| matches!(e, Event::Finished { adopted: true, .. }))
    );
    assert_eq!(
        again.state.resources[&victim].attributes,
        full.state.resources[&victim].attributes
    );
}

#[tokio::test]
async fn a_graceful_stop_finishes_what_is_in_flight_and_starts_nothing() {
    let cloud = Arc::new(FakeCloud::default());
    *cloud.delay.lock().unwrap() = Some(Duration::from_millis(50));
    let plan = plan_for(&State::empty());
    let stop = Stop::default();
    let s = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.escalate();
    });
    let r = run(&cloud, &plan, &State::empty(), 2, &stop).await;
    assert!(r.report.stopped);
    assert!(r.report.failed.is_empty() && r.report.abandoned.is_empty());
    assert_eq!(
        r.report.done.len(),
        cloud.log().len(),
        "every started step finished"
    );
    assert!(!r.report.not_started.is_empty());
    for d in &r.report.done {
        assert_eq!(r.state.resources[&d.address].status, ResourceStatus::Ready);
    }
}

#[tokio::test]
async fn destroy_deletes_in_reverse_dependency_order() {
    let cloud = Arc::new(FakeCloud::default());
    let created = run(
        &cloud,
        &plan_for(&State::empty()),
        &State::empty(),
        4,
        &Stop::default(),
    )
    .await;
    let empty = engine_core::Graph::default();
    let plan = engine_core::plan(&empty, &created.state, &BTreeMap::new());
    cloud.log.lock().unwrap().clear();
    let r = run(&cloud, &plan, &created.state, 4, &Stop::default()).await;
    assert!(r.report.complete());
    assert!(r.state.resources.is_empty());
    assert!(cloud.live.lock().unwrap().is_empty());
    let log = cloud.log();
    let pos = |a: &Address| {
        log.iter()
            .position(|l| l == &format!("delete {a}"))
            .unwrap()
    };
    for (a, res) in &created.state.resources {
        for d in &res.dependencies {
            assert!(pos(a) < pos(d), "{a} must be deleted before {d}");
        }
    }
}

#[tokio::test]
async fn an_update_records_the_new_inputs() {
    let cloud = Arc::new(FakeCloud::default());
    let created = run(
        &cloud,
        &plan_for(&State::empty()),
        &State::empty(),
        4,
        &Stop::default(),
    )
    .await;
    let mut decls = samples::stack();
    let stream = decls
        .iter_mut()
        .flat_map(|d| d.resources.iter_mut())
        .find(|r| r.spec.kind() == Kind::KinesisStream)
        .unwrap();
    let address = stream.address.clone();
    if let Spec::KinesisStream(s) = &mut stream.spec {
        s.retention_period_hours = 48;
    }
    let graph = engine_core::Graph::build(&decls).unwrap();
    let plan = engine_core::plan(&graph, &created.state, &samples::plugin_sha256s());
    assert_eq!(plan.summary().update, 1);
    let r = run(&cloud, &plan, &created.state, 4, &Stop::default()).await;
    assert!(r.report.complete());
    assert_eq!(
        r.state.resources[&address].inputs["retention-period-hours"],
        Value::from(48)
    );
    assert!(!engine_core::plan(&graph, &r.state, &samples::plugin_sha256s()).has_changes());
}

fn destroy_plan(state: &State) -> Plan {
    engine_core::plan(&engine_core::Graph::default(), state, &BTreeMap::new())
}

#[tokio::test]
async fn a_create_aws_refused_leaves_no_pending_record() {
    let cloud = Arc::new(FakeCloud::default());
    let plan = plan_for(&State::empty());
    let victim = plan.changes[0].address.clone();
    cloud
        .refuse
        .lock()
        .unwrap()
        .insert(format!("create {victim}"));
    let r = run(&cloud, &plan, &State::empty(), 1, &Stop::default()).await;
    assert_eq!(r.report.failed.len(), 1);
    assert!(
        r.report.failed[0]
            .error
            .to_string()
            .contains("the fake refused")
    );
    assert!(
        !r.state.resources.contains_key(&victim),
        "a definite refusal leaves nothing to adopt: {:?}",
        r.state.resources.keys().collect::<Vec<_>>()
    );
    // The saved state agrees: the last save has no record either.
    assert!(!r.saves.last().unwrap().resources.contains_key(&victim));
}

#[tokio::test]
async fn a_destroy_deletes_nothing_that_another_stack_owns_and_says_so() {
    let cloud = Arc::new(FakeCloud::default());
    let created = run(
        &cloud,
        &plan_for(&State::empty()),
        &State::empty(),
        4,
        &Stop::default(),
    )
    .await;
    assert!(created.report.complete());
    // Another stack (same name, other state) now holds two of these names.
    let twin = StackIdentity::new("test", "lineage-twin");
    let addresses: Vec<Address> = created.state.resources.keys().cloned().collect();
    let (a, b) = (&addresses[0], &addresses[addresses.len() - 1]);
    cloud.give_to(a, &twin);
    cloud.give_to(b, &twin);
    cloud.log.lock().unwrap().clear();
    let r = run(
        &cloud,
        &destroy_plan(&created.state),
        &created.state,
        4,
        &Stop::default(),
    )
    .await;
    assert!(!r.report.complete());
    let refused: BTreeSet<&Address> = r.report.failed.iter().map(|f| &f.address).collect();
    assert_eq!(refused, BTreeSet::from([a, b]), "{:?}", r.report.failed);
    for f in &r.report.failed {
        let message = f.error.to_string();
        assert!(
            matches!(f.error, engine_exec::StepError::NotOurs(_))
                && message.contains("belongs to another stack")
                && message.contains("engine:stack-id=lineage-twin")
                && message.contains("Nothing was changed"),
            "{message}"
        );
    }
    // Checked before the first change: nothing at all was deleted.
    assert!(
        !cloud.log().iter().any(|l| l.starts_with("delete")),
        "{:?}",
        cloud.log()
    );
    assert_eq!(r.state, created.state);
    assert!(r.saves.is_empty());
}

#[tokio::test]
async fn a_pending_record_is_neither_adopted_nor_deleted_when_another_stack_owns_the_name() {
    let cloud = Arc::new(FakeCloud::default());
    let full = run(
        &cloud,
        &plan_for(&State::empty()),
        &State::empty(),
        4,
        &Stop::default(),
    )
    .await;
    // This stack recorded a create it never confirmed; the name is another stack's.
    let twin = StackIdentity::new("test", "lineage-twin");
    let mut crashed = full.state.clone();
    let victim = crashed.resources.keys().next().unwrap().clone();
    let r = crashed.resources.get_mut(&victim).unwrap();
    r.status = ResourceStatus::Pending;
    r.attributes.clear();
    cloud.give_to(&victim, &twin);
    cloud.log.lock().unwrap().clear();

    // Apply: not adopted, nothing changed, the owner named.
    let again = run(&cloud, &plan_for(&crashed), &crashed, 4, &Stop::default()).await;
    assert_eq!(again.report.failed.len(), 1, "{:?}", again.report.failed);
    let message = &again.report.failed[0].error.to_string();
    assert!(
        message.contains("belongs to another stack") && message.contains("-e"),
        "{message}"
    );
    assert!(
        !cloud
            .log()
            .iter()
            .any(|l| l.starts_with("update") || l.starts_with("create")),
        "{:?}",
        cloud.log()
    );
    assert!(
        !again
            .events
            .iter()
            .any(|e| matches!(e, Event::Finished { adopted: true, .. }))
    );

    // Destroy: the record goes, the other stack's resource stays.
    let destroyed = run(
        &cloud,
        &destroy_plan(&crashed),
        &crashed,
        4,
        &Stop::default(),
    )
    .await;
    assert!(destroyed.report.complete(), "{:?}", destroyed.report);
    assert!(cloud.live.lock().unwrap().contains_key(&victim));
    assert!(
        !cloud.log().contains(&format!("delete {victim}")),
        "{:?}",
        cloud.log()
    );
    assert!(destroyed.state.resources.is_empty());
    assert_eq!(destroyed.report.forgotten, vec![victim.clone()]);
    assert!(
        destroyed
            .events
            .iter()
            .any(|e| matches!(e, Event::Forgotten { address, .. } if *address == victim))
    );
}

#[tokio::test]
async fn a_create_that_finds_its_name_taken_by_its_own_earlier_attempt_adopts_it() {
    let cloud = Arc::new(FakeCloud::default());
    let full = run(
        &cloud,
        &plan_for(&State::empty()),
        &State::empty(),
        4,
        &Stop::default(),
    )
    .await;
    // The state lost the record (say the first attempt answered 500 but went
    // through): AWS says "already exists", and the tags prove it ours.
    let mut lost = full.state.clone();
    let victim = lost.resources.keys().next().unwrap().clone();
    lost.resources.remove(&victim);
    let before = cloud.next_id.load(Ordering::SeqCst);
    let r = run(&cloud, &plan_for(&lost), &lost, 4, &Stop::default()).await;
    assert!(r.report.complete(), "{:?}", r.report);
    assert_eq!(cloud.next_id.load(Ordering::SeqCst), before);
    assert_eq!(
        r.state.resources[&victim].attributes,
        full.state.resources[&victim].attributes
    );
}

#[tokio::test]
async fn a_create_that_finds_its_name_taken_by_another_stack_names_the_owner() {
    let cloud = Arc::new(FakeCloud::default());
    let plan = plan_for(&State::empty());
    // Another stack with the same name already created everything.
    let twin = StackIdentity::new("test", "lineage-twin");
    let theirs = run(&cloud, &plan, &State::empty(), 4, &Stop::default()).await;
    for a in theirs.state.resources.keys() {
        cloud.give_to(a, &twin);
    }
    let r = run(&cloud, &plan, &State::empty(), 1, &Stop::default()).await;
    assert_eq!(r.report.failed.len(), 1);
    let message = r.report.failed[0].error.to_string();
    assert!(
        message.contains("belongs to another stack")
            && message.contains("engine:stack-id=lineage-twin")
            && message.contains("Choose another environment"),
        "{message}"
    );
    // A definite refusal: no pending record is left for a later destroy to act on.
    assert!(r.state.resources.is_empty(), "{:?}", r.state.resources);
}

#[tokio::test]
async fn a_panicking_provider_fails_its_step_and_the_apply() {
    let cloud = Arc::new(FakeCloud::default());
    let plan = plan_for(&State::empty());
    let victim = plan.changes[0].address.clone();
    cloud
        .panic
        .lock()
        .unwrap()
        .insert(format!("create {victim}"));
    let r = run(&cloud, &plan, &State::empty(), 4, &Stop::default()).await;
    assert!(!r.report.complete(), "a panic is a failure: {:?}", r.report);
    assert_eq!(r.report.failed.len(), 1, "{:?}", r.report.failed);
    let f = &r.report.failed[0];
    assert_eq!(f.address, victim);
    assert!(
        matches!(&f.error, engine_exec::StepError::Panicked(m) if m.contains("has a bug")),
        "{:?}",
        f.error
    );
    assert!(
        r.events
            .iter()
            .any(|e| matches!(e, Event::Failed { address, .. } if *address == victim))
    );
    // The outcome of the create is unknown: it stays pending for adoption.
    assert_eq!(r.state.resources[&victim].status, ResourceStatus::Pending);
    assert!(r.state.outputs.is_empty());
}

#[tokio::test]
async fn a_create_that_returns_no_id_fails_and_stays_pending() {
    let cloud = Arc::new(FakeCloud::default());
    let plan = plan_for(&State::empty());
    let victim = plan.changes[0].address.clone();
    cloud
        .anonymous
        .lock()
        .unwrap()
        .insert(format!("create {victim}"));
    let r = run(&cloud, &plan, &State::empty(), 1, &Stop::default()).await;
    assert_eq!(r.report.failed.len(), 1, "{:?}", r.report);
    assert!(
        r.report.failed[0]
            .error
            .to_string()
            .contains("returned no id"),
        "{}",
        r.report.failed[0].error
    );
    // Never an empty record: the resource stays pending, found later by its tags.
    let rec = &r.state.resources[&victim];
    assert_eq!(rec.status, ResourceStatus::Pending);
    assert!(rec.attributes.is_empty());
}
