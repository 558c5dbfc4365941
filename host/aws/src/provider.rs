//! [`Aws`], the AWS implementation of the [`Provider`] trait (which lives in
//! `engine-provider`), dispatching each kind to its service module.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use engine_core::model::Tag;
use engine_core::{Address, Kind, Spec, Text};
pub use engine_provider::{
    Attributes, Existing, OpContext, Owner, Ownership, Progress, ProgressSink, Provider,
    ReadRequest, ReadResult, StackIdentity,
};
use serde_json::Value;

use crate::config::{ProviderOptions, SdkOptions, load_sdk_config};
use crate::error::{ErrorKind, ProviderError};
use crate::tags;

/// The AWS implementation of [`Provider`]: one SDK client per service.
#[derive(Clone, Debug)]
pub struct Aws {
    /// The SDK config the clients are built from.
    pub(crate) sdk: aws_config::SdkConfig,
    /// Clients of services a kind module brings itself ([`Aws::client`]).
    clients: ClientCache,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) kms: aws_sdk_kms::Client,
    pub(crate) kinesis: aws_sdk_kinesis::Client,
    pub(crate) secrets: aws_sdk_secretsmanager::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) elasticache: aws_sdk_elasticache::Client,
    pub(crate) rds: aws_sdk_rds::Client,
    pub(crate) sns: aws_sdk_sns::Client,
    pub(crate) options: ProviderOptions,
}

/// Builds a service's client from the SDK config, with the call counter (if any).
macro_rules! client {
    ($krate:ident, $sdk:expr, $options:expr) => {{
        let mut b = $krate::config::Builder::from($sdk);
        if let Some(c) = &$options.call_counter {
            b = b.interceptor(c.clone());
        }
        $krate::Client::from_conf(b.build())
    }};
}
pub(crate) use client;

/// SDK clients by type, built on first use.
#[derive(Clone, Default)]
struct ClientCache(Arc<Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>>);

impl fmt::Debug for ClientCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientCache")
    }
}

impl Aws {
    /// A provider using `sdk` (see [`load_sdk_config`]).
    pub fn new(sdk: &aws_config::SdkConfig, options: ProviderOptions) -> Self {
        Aws {
            sdk: sdk.clone(),
            clients: ClientCache::default(),
            ec2: client!(aws_sdk_ec2, sdk, options),
            kms: client!(aws_sdk_kms, sdk, options),
            kinesis: client!(aws_sdk_kinesis, sdk, options),
            secrets: client!(aws_sdk_secretsmanager, sdk, options),
            iam: client!(aws_sdk_iam, sdk, options),
            elasticache: client!(aws_sdk_elasticache, sdk, options),
            rds: client!(aws_sdk_rds, sdk, options),
            sns: client!(aws_sdk_sns, sdk, options),
            options,
        }
    }

    /// Loads the SDK config from the standard chain (with `sdk` overrides) and
    /// builds a provider.
    pub async fn from_env(sdk: &SdkOptions, options: ProviderOptions) -> Self {
        Aws::new(&load_sdk_config(sdk).await, options)
    }

    /// The options in force.
    pub fn options(&self) -> &ProviderOptions {
        &self.options
    }

    /// The client of a service that the fields above do not hold, built by `build`
    /// on first use (from this provider's SDK config and options, usually with
    /// [`client!`]) and kept. A kind module that brings a new service gets its client
    /// here, so adding it touches no other file.
    pub(crate) fn client<C: Clone + Send + Sync + 'static>(
        &self,
        build: fn(&aws_config::SdkConfig, &ProviderOptions) -> C,
    ) -> C {
        let mut cache = self.clients.0.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache
            .entry(TypeId::of::<C>())
            .or_insert_with(|| Box::new(build(&self.sdk, &self.options)));
        match entry.downcast_ref::<C>() {
            Some(c) => c.clone(),
            // The key is the type's id, so the value is of that type.
            None => build(&self.sdk, &self.options),
        }
    }

    /// Resources per read call, capped by the API's own maximum.
    pub(crate) fn page(&self, api_max: usize) -> usize {
        self.options.read_page_size.clamp(1, api_max)
    }

    /// Polls `check` until it reports done: first check at once, then with delays
    /// doubling from `poll_initial` up to `poll_max`, emitting progress (with the
    /// status AWS reported) after every pending check. A check that fails with a
    /// transient error (throttling, 5xx, no answer) counts as pending: a long wait
    /// does not die of one bad poll. A terminal status fails at once; the limit is
    /// `timeout` ([`ErrorKind::Timeout`]).
    pub(crate) async fn wait_for<T, F, Fut>(
        &self,
        op: &Op<'_>,
        what: &str,
        timeout: Duration,
        mut check: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Check<T>, ProviderError>>,
    {
        let start = Instant::now();
        let mut delay = self.options.poll_initial;
        loop {
            let status = match check().await {
                Ok(Check::Done(v)) => return Ok(v),
                Ok(Check::Pending(status)) => status,
                Ok(Check::Failed(status)) => {
                    let mut e = ProviderError::new(
                        ErrorKind::Other,
                        format!("waiting until {what}"),
                        Some(op.address),
                        format!(
                            "AWS reports status `{status}`, which it does not leave by itself; \
                             see the resource's events in the AWS console"
                        ),
                    );
                    e.code = Some(status.into());
                    return Err(e);
                }
                Err(e) if e.is_transient() && start.elapsed() < timeout => {
                    tracing::debug!(address = %op.address, error = %e, "poll failed; polling again");
                    format!("unknown ({})", e.code.as_deref().unwrap_or("no answer"))
                }
                Err(e) => return Err(e),
            };
            let elapsed = start.elapsed();
            if elapsed >= timeout {
                return Err(ProviderError::new(
                    ErrorKind::Timeout,
                    format!("waiting until {what}"),
                    Some(op.address),
                    format!(
                        "still `{status}` after {}s (the limit for this kind; raise it in the provider timeouts)",
                        elapsed.as_secs()
                    ),
                ));
            }
            (op.progress)(&Progress {
                address: op.address.clone(),
                message: format!("status {status}, waiting until {what}"),
                elapsed,
            });
            tracing::debug!(address = %op.address, %status, "waiting until {what}");
            tokio::time::sleep(delay.min(timeout.saturating_sub(elapsed))).await;
            delay = (delay * 2).min(self.options.poll_max);
        }
    }

    /// Runs `call` until it succeeds, retrying with backoff (bounded by `limit`)
    /// while `passing` says its error clears with time: AWS's eventual consistency
    /// (a resource created moments ago not yet visible to the next call, an IAM role
    /// not yet propagated) or a resource busy in a transition. Each retry is
    /// reported as progress, naming the error.
    pub(crate) async fn retrying<T, F, Fut>(
        &self,
        op: &Op<'_>,
        limit: Duration,
        passing: impl Fn(&ProviderError) -> bool,
        mut call: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        let start = Instant::now();
        let mut delay = self.options.poll_initial;
        loop {
            match call().await {
                Err(e) if passing(&e) && start.elapsed() < limit => {
                    (op.progress)(&Progress {
                        address: op.address.clone(),
                        message: format!(
                            "{} refused ({}), retrying",
                            e.operation,
                            e.code.as_deref().unwrap_or(e.kind.as_str())
                        ),
                        elapsed: start.elapsed(),
                    });
                    tracing::debug!(address = %op.address, error = %e, "retrying");
                    tokio::time::sleep(delay.min(limit.saturating_sub(start.elapsed()))).await;
                    delay = (delay * 2).min(self.options.poll_max);
                }
                r => return r,
            }
        }
    }

    /// Runs a call on an EC2 resource the engine may have created moments ago:
    /// its `*.NotFound` answer is retried for a while, since "if you use an ID
    /// immediately after creation you might get NotFound"
    /// (<https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html>).
    pub(crate) async fn ec2_fresh<T, F, Fut>(
        &self,
        op: &Op<'_>,
        call: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ProviderError>>,
    {
        self.retrying(
            op,
            self.options.timeouts.eventual_consistency,
            unknown_id,
            call,
        )
        .await
    }

    /// Runs a delete call, treating "not found" as done and retrying with backoff
    /// while AWS reports a dependency or a transition (bounded by
    /// `timeouts.dependency`).
    pub(crate) async fn delete_retrying<F, Fut>(
        &self,
        op: &Op<'_>,
        call: F,
    ) -> Result<(), ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), ProviderError>>,
    {
        match self
            .retrying(
                op,
                self.options.timeouts.dependency,
                ProviderError::is_dependency,
                call,
            )
            .await
        {
            Err(e) if e.is_not_found() => Ok(()),
            r => r,
        }
    }
}

/// Whether EC2 says an id it was given does not exist (`InvalidVpcID.NotFound`,
/// `InvalidGroup.NotFound`, ...), as opposed to something inside a resource
/// (`InvalidPermission.NotFound`, `InvalidRoute.NotFound`).
fn unknown_id(e: &ProviderError) -> bool {
    e.code.as_deref().is_some_and(|c| {
        c.ends_with("ID.NotFound") || c.ends_with("Id.NotFound") || c == "InvalidGroup.NotFound"
    })
}

/// The result of one status check while waiting.
pub(crate) enum Check<T> {
    /// Ready, with a value.
    Done(T),
    /// Not yet; the current status for progress messages.
    Pending(String),
    /// A status the resource does not leave by itself (`failed`,
    /// `incompatible-network`, ...): the wait fails at once with it.
    Failed(String),
}

/// Per-operation context inside the provider.
pub(crate) struct Op<'a> {
    pub address: &'a Address,
    pub stack: &'a StackIdentity,
    pub progress: &'a ProgressSink,
    /// The delete makes way for a replacement ([`OpContext::replacing`]).
    pub replacing: bool,
}

impl<'a> Op<'a> {
    pub(crate) fn new(address: &'a Address, cx: &'a OpContext) -> Self {
        Op {
            address,
            stack: &cx.stack,
            progress: &cx.progress,
            replacing: cx.replacing,
        }
    }

    /// The literal value of a resolved text.
    pub(crate) fn lit(&self, t: &Text) -> Result<String, ProviderError> {
        match t {
            Text::Literal(s) => Ok(s.clone()),
            Text::Ref(r) => Err(ProviderError::new(
                ErrorKind::Invalid,
                "resolve references",
                Some(self.address),
                format!("the reference to {r} was not resolved before calling the provider"),
            )),
        }
    }

    /// The literal values of resolved texts.
    pub(crate) fn lits(&self, ts: &[Text]) -> Result<Vec<String>, ProviderError> {
        ts.iter().map(|t| self.lit(t)).collect()
    }

    /// The literal value of an optional resolved text.
    pub(crate) fn opt(&self, t: &Option<Text>) -> Result<Option<String>, ProviderError> {
        t.as_ref().map(|t| self.lit(t)).transpose()
    }

    /// The spec's tags plus the ownership tags.
    pub(crate) fn tags(&self, user: &[Tag]) -> Vec<Tag> {
        tags::desired(self.stack, self.address, user)
    }

    /// The tag changes of an update: the user tags' diff, and the ownership tags set
    /// again (see [`tags::update_diff`]).
    pub(crate) fn tag_diff(&self, old: &[Tag], new: &[Tag]) -> (Vec<Tag>, Vec<String>) {
        tags::update_diff(self.stack, self.address, old, new)
    }

    /// An adapter for an error found before calling AWS (a request that cannot be
    /// built from the spec): [`ErrorKind::Invalid`], about this resource.
    pub(crate) fn invalid<E: fmt::Display>(
        &self,
        what: &'static str,
    ) -> impl FnOnce(E) -> ProviderError + 'a {
        let address = self.address;
        move |e| ProviderError::new(ErrorKind::Invalid, what, Some(address), e.to_string())
    }

    /// An SDK error adapter for the call that creates the resource: a 4xx answer
    /// marks the error [`refused`](ProviderError::refused) (nothing was created).
    pub(crate) fn refused<E>(
        &self,
        operation: &'static str,
    ) -> impl FnOnce(
        aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> ProviderError
    + 'a
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        let address = self.address;
        move |e| crate::error::from_create_call(operation, Some(address), e)
    }

    /// An SDK error adapter for this resource.
    pub(crate) fn err<E, R>(
        &self,
        operation: &'static str,
    ) -> impl FnOnce(aws_smithy_runtime_api::client::result::SdkError<E, R>) -> ProviderError + 'a
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        crate::error::sdk_err(operation, Some(self.address))
    }
}

/// What a kind's read found, with its ownership.
pub(crate) struct Found {
    pub spec: Spec,
    pub attributes: Attributes,
    /// The ownership tags it carries (or its parent's, for kinds without tags).
    pub owner: Option<Owner>,
}

/// The error of a create that found its name taken before calling AWS (for APIs
/// that would otherwise overwrite or return the existing resource): a definite
/// refusal, classified like AWS's own "already exists" answers.
pub(crate) fn already_exists(op: &Op<'_>, operation: &str, message: String) -> ProviderError {
    let mut e = ProviderError::new(ErrorKind::Conflict, operation, Some(op.address), message);
    e.code = Some("AlreadyExists".into());
    e.refusing()
}

/// Builds attributes from pairs.
pub(crate) fn attrs<const N: usize>(pairs: [(&str, Value); N]) -> Attributes {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A required string attribute.
pub(crate) fn attr(a: &Attributes, key: &str, address: &Address) -> Result<String, ProviderError> {
    match a.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(ProviderError::new(
            ErrorKind::Invalid,
            "read attributes",
            Some(address),
            format!("the recorded attributes have no `{key}`"),
        )),
    }
}

/// An error for a request whose prior spec is of another kind.
pub(crate) fn wrong_kind(address: &Address, expected: Kind, got: &Spec) -> ProviderError {
    ProviderError::new(
        ErrorKind::Invalid,
        "dispatch",
        Some(address),
        format!("expected a {expected} spec, got a {}", got.kind()),
    )
}

/// Orders `live` like `prior` (items of `prior` first, in its order, then the rest
/// sorted), so that an unchanged list compares equal.
pub(crate) fn order_like(mut live: Vec<String>, prior: &[String]) -> Vec<String> {
    live.sort();
    live.dedup();
    let mut out = Vec::with_capacity(live.len());
    for p in prior {
        if let Ok(i) = live.binary_search(p)
            && !out.contains(p)
        {
            out.push(live[i].clone());
        }
    }
    for l in live {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// [`order_like`] for lists of texts.
pub(crate) fn order_texts(live: Vec<String>, prior: &[Text]) -> Vec<Text> {
    let prior: Vec<String> = prior
        .iter()
        .filter_map(|t| t.as_literal().map(str::to_string))
        .collect();
    order_like(live, &prior)
        .into_iter()
        .map(Text::Literal)
        .collect()
}

/// Whether two ways of naming a KMS key may name the same key: equal, or one is an
/// ARN ending in `key/<id>` or `alias/<name>` and the other that id or alias.
pub(crate) fn same_kms_key(prior: &str, live: &str) -> bool {
    prior == live
        || live.ends_with(&format!(":{prior}"))
        || live.ends_with(&format!("/{prior}"))
        || prior.ends_with(&format!(":{live}"))
        || prior.ends_with(&format!("/{live}"))
        || (prior.starts_with("alias/") && !live.is_empty())
}

/// The live KMS key as a spec value: the prior one when it names the same key.
pub(crate) fn live_kms(prior: &Option<Text>, live: Option<String>) -> Option<Text> {
    match (prior.as_ref().and_then(Text::as_literal), live) {
        (_, None) => None,
        (Some(p), Some(l)) if same_kms_key(p, &l) => prior.clone(),
        (_, Some(l)) => Some(Text::Literal(l)),
    }
}

/// The literal of an optional prior text, or "".
pub(crate) fn lit_or_empty(t: &Text) -> String {
    t.as_literal().unwrap_or_default().to_string()
}

#[async_trait]
impl Provider for Aws {
    #[tracing::instrument(skip_all, fields(address = %address, kind = %spec.kind()))]
    async fn create(
        &self,
        address: &Address,
        spec: &Spec,
        cx: &OpContext,
    ) -> Result<Attributes, ProviderError> {
        let attributes = self.create_kind(&Op::new(address, cx), spec).await?;
        Ok(attributes)
    }

    #[tracing::instrument(skip_all, fields(kind = %kind, n = requests.len()))]
    async fn read_batch(
        &self,
        kind: Kind,
        requests: &[ReadRequest],
    ) -> Result<Vec<ReadResult>, ProviderError> {
        if let Some(r) = requests.iter().find(|r| r.prior.kind() != kind) {
            return Err(wrong_kind(&r.address, kind, &r.prior));
        }
        let found = self.read_found(kind, requests).await?;
        Ok(found
            .into_iter()
            .map(|f| match f {
                Some(Found {
                    mut spec,
                    attributes,
                    owner,
                }) => {
                    tags::strip_ownership(&mut spec);
                    ReadResult::Found {
                        spec,
                        attributes,
                        owner,
                    }
                }
                None => ReadResult::Gone,
            })
            .collect())
    }

    #[tracing::instrument(skip_all, fields(address = %address, kind = %new.kind()))]
    async fn update(
        &self,
        address: &Address,
        old: &Spec,
        new: &Spec,
        attributes: &Attributes,
        cx: &OpContext,
    ) -> Result<Attributes, ProviderError> {
        self.update_kind(&Op::new(address, cx), old, new, attributes)
            .await
    }

    #[tracing::instrument(skip_all, fields(address = %address, kind = %spec.kind()))]
    async fn delete(
        &self,
        address: &Address,
        spec: &Spec,
        attributes: &Attributes,
        cx: &OpContext,
    ) -> Result<(), ProviderError> {
        self.delete_kind(&Op::new(address, cx), spec, attributes)
            .await
    }

    #[tracing::instrument(skip_all, fields(address = %address, kind = %spec.kind()))]
    async fn find_existing(
        &self,
        address: &Address,
        spec: &Spec,
        stack: &StackIdentity,
    ) -> Result<Option<Existing>, ProviderError> {
        let Some(attributes) = self.locate_kind(spec, address, stack).await? else {
            return Ok(None);
        };
        let request = ReadRequest {
            address: address.clone(),
            prior: spec.clone(),
            attributes,
        };
        let found = self
            .read_found(spec.kind(), std::slice::from_ref(&request))
            .await?
            .into_iter()
            .next()
            .flatten();
        Ok(found.map(|f| Existing {
            attributes: f.attributes,
            owner: f.owner,
        }))
    }

    fn import_request(
        &self,
        address: &Address,
        declared: &Spec,
        id: &str,
    ) -> Result<ReadRequest, ProviderError> {
        let (prior, attributes) = crate::kinds::import_kind(declared, id).map_err(|why| {
            ProviderError::new(
                ErrorKind::Invalid,
                format!("import {}", declared.kind()),
                Some(address),
                why,
            )
        })?;
        Ok(ReadRequest {
            address: address.clone(),
            prior,
            attributes,
        })
    }
}

impl Aws {
    async fn read_found(
        &self,
        kind: Kind,
        r: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        if r.is_empty() {
            return Ok(Vec::new());
        }
        self.read_kind(kind, r).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A provider that never calls AWS (the waits under test only run closures).
    fn offline(options: ProviderOptions) -> Aws {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .build();
        Aws::new(&sdk, options)
    }

    fn quick() -> ProviderOptions {
        ProviderOptions {
            poll_initial: Duration::from_millis(5),
            poll_max: Duration::from_millis(20),
            ..ProviderOptions::default()
        }
    }

    #[tokio::test]
    async fn waits_check_at_once_then_report_progress_until_done() {
        let aws = offline(quick());
        let address = Address::new("db", "main");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let cx = OpContext::new(StackIdentity::new("dev", "id"))
            .with_progress(move |p| sink.lock().expect("lock").push(p.clone()));
        let op = Op::new(&address, &cx);
        let mut calls = 0;
        let v = aws
            .wait_for(&op, "available", Duration::from_secs(5), || {
                calls += 1;
                let n = calls;
                async move {
                    Ok(if n < 4 {
                        Check::Pending("creating".into())
                    } else {
                        Check::Done(n)
                    })
                }
            })
            .await
            .expect("done");
        assert_eq!(v, 4);
        let events = events.lock().expect("lock").clone();
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].address, address);
        assert_eq!(
            events[0].message,
            "status creating, waiting until available"
        );
        assert!(
            events[0].elapsed < Duration::from_millis(5),
            "first check is immediate"
        );

        // Ready at once: no progress, no sleep.
        let start = Instant::now();
        aws.wait_for(&op, "x", Duration::from_secs(5), || async {
            Ok(Check::Done(()))
        })
        .await
        .expect("done");
        assert!(start.elapsed() < Duration::from_millis(5));
    }

    #[tokio::test]
    async fn waits_time_out_with_the_last_status() {
        let aws = offline(quick());
        let address = Address::new("db", "main");
        let cx = OpContext::new(StackIdentity::new("dev", "id"));
        let op = Op::new(&address, &cx);
        let err = aws
            .wait_for(&op, "available", Duration::from_millis(50), || async {
                Ok::<_, ProviderError>(Check::<()>::Pending("modifying".into()))
            })
            .await
            .expect_err("times out");
        assert_eq!(err.kind, ErrorKind::Timeout);
        assert_eq!(err.address, Some(address));
        assert!(err.message.contains("still `modifying`"), "{err}");
    }

    #[tokio::test]
    async fn waits_fail_at_once_on_a_terminal_status_and_poll_through_transient_errors() {
        let aws = offline(quick());
        let address = Address::new("db", "main");
        let cx = OpContext::new(StackIdentity::new("dev", "id"));
        let op = Op::new(&address, &cx);
        let mut throttled = ProviderError::new(
            ErrorKind::Throttled,
            "DescribeDBInstances",
            None,
            "slow down",
        );
        throttled.code = Some("Throttling".into());
        let mut calls = 0;
        let start = Instant::now();
        let err = aws
            .wait_for(&op, "available", Duration::from_secs(60), || {
                calls += 1;
                let r = match calls {
                    1 => Err(throttled.clone()),
                    2 => Ok(Check::Pending("creating".into())),
                    _ => Ok(Check::<()>::Failed("incompatible-network".into())),
                };
                async move { r }
            })
            .await
            .expect_err("a terminal status fails");
        assert_eq!(calls, 3, "the throttled poll was polled again");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "not polled to the limit"
        );
        assert_eq!(err.code.as_deref(), Some("incompatible-network"));
        assert!(err.to_string().contains("`incompatible-network`"), "{err}");

        let denied = ProviderError::new(ErrorKind::AccessDenied, "Describe", None, "no");
        let err = aws
            .wait_for(&op, "available", Duration::from_secs(60), || async {
                Err::<Check<()>, _>(denied.clone())
            })
            .await
            .expect_err("not transient");
        assert_eq!(err.kind, ErrorKind::AccessDenied);
    }

    #[tokio::test]
    async fn fresh_ec2_ids_are_retried_while_not_found_then_the_error_stands() {
        let mut options = quick();
        options.timeouts.eventual_consistency = Duration::from_millis(200);
        let aws = offline(options);
        let address = Address::new("net", "sg");
        let cx = OpContext::new(StackIdentity::new("dev", "id"));
        let op = Op::new(&address, &cx);
        let mut missing = ProviderError::new(
            ErrorKind::NotFound,
            "AuthorizeSecurityGroupIngress",
            Some(&address),
            "The security group 'sg-1' does not exist",
        );
        missing.code = Some("InvalidGroup.NotFound".into());
        let mut calls = 0;
        let v = aws
            .ec2_fresh(&op, || {
                calls += 1;
                let r = if calls < 3 {
                    Err(missing.clone())
                } else {
                    Ok(calls)
                };
                async move { r }
            })
            .await
            .expect("visible after a while");
        assert_eq!(v, 3);
        let err = aws
            .ec2_fresh(&op, || async { Err::<(), _>(missing.clone()) })
            .await
            .expect_err("bounded");
        assert!(err.is_not_found());
    }

    #[tokio::test]
    async fn deletes_treat_not_found_as_done_and_retry_dependencies() {
        let aws = offline(quick());
        let address = Address::new("net", "vpc");
        let cx = OpContext::new(StackIdentity::new("dev", "id"));
        let op = Op::new(&address, &cx);
        let gone = ProviderError::new(ErrorKind::NotFound, "DeleteVpc", Some(&address), "gone");
        aws.delete_retrying(&op, || async { Err(gone.clone()) })
            .await
            .expect("gone is done");

        let mut busy = ProviderError::new(ErrorKind::Conflict, "DeleteVpc", Some(&address), "busy");
        busy.code = Some("DependencyViolation".into());
        let mut calls = 0;
        aws.delete_retrying(&op, || {
            calls += 1;
            let r = if calls < 3 { Err(busy.clone()) } else { Ok(()) };
            async move { r }
        })
        .await
        .expect("retried until the dependency went");
        assert_eq!(calls, 3);

        let denied = ProviderError::new(ErrorKind::AccessDenied, "DeleteVpc", Some(&address), "no");
        let err = aws
            .delete_retrying(&op, || async { Err(denied.clone()) })
            .await
            .expect_err("not retried");
        assert_eq!(err.kind, ErrorKind::AccessDenied);
    }

    #[test]
    fn order_like_keeps_prior_order_then_sorted_extras() {
        let live = vec!["c".into(), "a".into(), "z".into(), "b".into()];
        let prior = vec!["b".to_string(), "a".into(), "gone".into()];
        assert_eq!(order_like(live, &prior), vec!["b", "a", "c", "z"]);
    }

    #[test]
    fn kms_keys_compare_by_id_or_arn() {
        assert!(same_kms_key("1234", "arn:aws:kms:us-east-1:1:key/1234"));
        assert!(same_kms_key("arn:aws:kms:us-east-1:1:key/1234", "1234"));
        assert!(!same_kms_key("1234", "arn:aws:kms:us-east-1:1:key/5678"));
    }
}
