//! The executor against an in-memory provider: order, parallelism, state saved
//! after every operation, failures, stops, adoption after an interrupted apply.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use engine_aws::{
    Attributes, ErrorKind, OpContext, Provider, ProviderError, ReadRequest, ReadResult,
};
use engine_core::state::ResourceStatus;
use engine_core::{Address, Kind, Plan, Spec, State, samples};
use engine_exec::{Event, Options, Report, Stop, execute};
use serde_json::{Value, json};

/// An in-memory cloud: ids from a counter, calls logged, failures and delays on demand.
#[derive(Default)]
struct FakeCloud {
    live: Mutex<BTreeMap<Address, (Spec, Attributes)>>,
    log: Mutex<Vec<String>>,
    fail: Mutex<BTreeSet<String>>,
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
        if self.fail.lock().unwrap().contains(&what) {
            return Err(ProviderError::new(
                ErrorKind::Invalid,
                "CreateThing",
                None,
                "the fake refused",
            ));
        }
        Ok(())
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
        _cx: &OpContext,
    ) -> Result<Attributes, ProviderError> {
        assert_resolved(address, spec);
        self.enter(format!("create {address}")).await?;
        let n = self.next_id.fetch_add(1, Ordering::SeqCst);
        let a = attributes(address, spec.kind(), spec, n);
        self.live
            .lock()
            .unwrap()
            .insert(address.clone(), (spec.clone(), a.clone()));
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
                Some((spec, attributes)) => ReadResult::Found {
                    spec: spec.clone(),
                    attributes: attributes.clone(),
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
        self.live
            .lock()
            .unwrap()
            .insert(address.clone(), (new.clone(), attributes.clone()));
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
        _stack: &str,
    ) -> Result<Option<Attributes>, ProviderError> {
        self.log.lock().unwrap().push(format!("find {address}"));
        Ok(self
            .live
            .lock()
            .unwrap()
            .get(address)
            .map(|(_, a)| a.clone()))
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
            stack: "test".into(),
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
        r.report.failed[0].message.contains("the fake refused"),
        "{}",
        r.report.failed[0].message
    );
    assert!(!r.report.not_started.is_empty());
    // Everything created is in the state; the failed one stays pending for adoption.
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
