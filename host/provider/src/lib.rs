//! The provider-neutral seam between the executor and the clouds: the [`Provider`]
//! trait, the data it takes and returns, classified errors, and ownership.
//!
//! The executor (`engine-exec`) and its tests depend on this crate alone, never on
//! an SDK; `engine-aws` implements [`Provider`] for AWS.
//!
//! # Layout
//! - [`Provider`] and its data: [`Attributes`], [`ReadRequest`], [`ReadResult`],
//!   [`Existing`], [`OpContext`], [`Progress`].
//! - [`error`]: [`ProviderError`] and [`ErrorKind`].
//! - [`ownership`]: [`StackIdentity`], [`Owner`], [`Ownership`] and the ownership
//!   tag keys.

pub mod error;
pub mod ownership;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use engine_core::{Address, Kind, Spec};
use serde_json::Value;

pub use error::{ErrorKind, ProviderError};
pub use ownership::{ADDRESS_TAG, Owner, Ownership, STACK_ID_TAG, STACK_TAG, StackIdentity};

/// What a resource exposes once it exists: exactly the attributes the kind's schema
/// lists (ports as JSON numbers, the rest strings), plus the ids the provider needs
/// to find the resource again (for example a route's `route-table-id`). Stored in
/// state; never holds a secret value.
pub type Attributes = BTreeMap<String, Value>;

/// A progress event while the provider waits for a slow resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The resource.
    pub address: Address,
    /// What is happening, for example `status creating`.
    pub message: String,
    /// Time since the operation started.
    pub elapsed: Duration,
}

/// Receives progress events (the CLI prints them).
pub type ProgressSink = Arc<dyn Fn(&Progress) + Send + Sync>;

/// What every changing operation needs besides the resource itself.
#[derive(Clone)]
pub struct OpContext {
    /// The stack that owns what is created, written to the ownership tags.
    pub stack: StackIdentity,
    /// Where progress events go.
    pub progress: ProgressSink,
    /// Whether this delete makes way for a replacement of the same resource (a
    /// delete-before-create replacement), so that a name the replacement needs
    /// must be released at once rather than after a recovery window.
    pub replacing: bool,
}

impl OpContext {
    /// A context for `stack` that drops progress events.
    pub fn new(stack: StackIdentity) -> Self {
        OpContext {
            stack,
            progress: Arc::new(|_| {}),
            replacing: false,
        }
    }

    /// The same context, for the delete of a replacement (see
    /// [`replacing`](OpContext::replacing)).
    pub fn replacing(mut self, replacing: bool) -> Self {
        self.replacing = replacing;
        self
    }

    /// The same context, sending progress events to `sink`.
    pub fn with_progress(mut self, sink: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Arc::new(sink);
        self
    }
}

impl fmt::Debug for OpContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpContext")
            .field("stack", &self.stack)
            .finish_non_exhaustive()
    }
}

/// One resource to read back.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadRequest {
    /// Its address.
    pub address: Address,
    /// The spec last applied (references resolved). Fields AWS does not report
    /// (write-only ones such as a secret's password policy or a key's deletion
    /// window) are copied from it, and live lists are ordered like it.
    pub prior: Spec,
    /// The attributes recorded when it was created or last read.
    pub attributes: Attributes,
}

/// What a read found.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // short-lived, one per resource read
pub enum ReadResult {
    /// The resource exists.
    Found {
        /// Its live properties as a spec (every text a literal), ownership tags
        /// removed, comparable with the desired spec.
        spec: Spec,
        /// Its live attributes.
        attributes: Attributes,
        /// The ownership it carries (`None`: no engine ownership tags at all).
        owner: Option<Owner>,
    },
    /// The resource no longer exists (or is being deleted).
    Gone,
}

/// A live resource that may be the one a create left behind.
#[derive(Clone, Debug, PartialEq)]
pub struct Existing {
    /// Its attributes.
    pub attributes: Attributes,
    /// The ownership it carries, to be judged with [`StackIdentity::judge`].
    pub owner: Option<Owner>,
}

/// Creates, reads, updates and deletes resources of every kind.
///
/// Specs passed in must have every [`Text`] resolved to a literal; an unresolved
/// reference is an [`ErrorKind::Invalid`] error.
#[async_trait]
pub trait Provider: Send + Sync {
    /// Creates the resource, waits until it is usable, and returns its attributes.
    /// Everything that takes tags gets the ownership tags `engine:stack` and
    /// `engine:address` besides the spec's own.
    async fn create(
        &self,
        address: &Address,
        spec: &Spec,
        cx: &OpContext,
    ) -> Result<Attributes, ProviderError>;

    /// Reads resources of one kind, with as few calls as the API allows (one
    /// Describe/List per page where it accepts id lists or filters). Returns one
    /// result per request, in order.
    async fn read_batch(
        &self,
        kind: Kind,
        requests: &[ReadRequest],
    ) -> Result<Vec<ReadResult>, ProviderError>;

    /// Changes in place every property that differs between `old` and `new` (the
    /// caller replaces instead when a `replace_on` property changed) and returns
    /// the new attributes.
    async fn update(
        &self,
        address: &Address,
        old: &Spec,
        new: &Spec,
        attributes: &Attributes,
        cx: &OpContext,
    ) -> Result<Attributes, ProviderError>;

    /// Deletes the resource and waits until it is gone. Succeeds when it is already
    /// gone; retries for a bounded time while AWS reports that something still
    /// depends on it.
    async fn delete(
        &self,
        address: &Address,
        spec: &Spec,
        attributes: &Attributes,
        cx: &OpContext,
    ) -> Result<(), ProviderError>;

    /// Finds the live resource a create of `address` would collide with, or that an
    /// interrupted create may have left behind: for kinds named by AWS ids, the one
    /// carrying this stack's ownership tags (or, tagged before stack ids existed,
    /// this stack's name and the address); for kinds with a unique name, whatever
    /// has that name, whoever owns it; for routes and associations, what connects
    /// the same things. `Ok(None)` when there is none. The caller judges the owner
    /// ([`StackIdentity::judge`]) before touching it.
    async fn find_existing(
        &self,
        address: &Address,
        spec: &Spec,
        stack: &StackIdentity,
    ) -> Result<Option<Existing>, ProviderError>;

    /// The read that finds the live resource `id` names, for `engine import` of
    /// `address`: `id` is what a user sees in the console (`vpc-0abc...`,
    /// `sg-...`, a stream's name, a secret's name or ARN), and `declared` the
    /// spec a plugin declares there, references resolved where known. The
    /// request's `prior` is `declared`, changed where a kind takes its identity
    /// from the spec (a name). An [`ErrorKind::Invalid`] error when the kind
    /// cannot be imported by an id, or `id` cannot name one of its kind; nothing
    /// is called. The default imports nothing.
    fn import_request(
        &self,
        address: &Address,
        declared: &Spec,
        id: &str,
    ) -> Result<ReadRequest, ProviderError> {
        let _ = id;
        Err(ProviderError::new(
            ErrorKind::Invalid,
            "import",
            Some(address),
            format!("this provider cannot import a {}", declared.kind()),
        ))
    }
}
