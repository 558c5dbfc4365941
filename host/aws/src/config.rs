//! AWS configuration: loading the SDK config (standard chain, lean HTTP client,
//! adjustable retries) and the provider's own options (poll pacing, timeouts for
//! slow resources, read page size), plus a call counter for tests and metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::{Builder as HttpBuilder, tls};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// How the AWS SDK is set up. Anything left `None` comes from the standard chain
/// (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `~/.aws/config`, ...).
#[derive(Clone, Debug, Default)]
pub struct SdkOptions {
    /// Region, overriding the chain.
    pub region: Option<String>,
    /// Endpoint URL for every service (for example an emulator), overriding the chain.
    pub endpoint_url: Option<String>,
    /// Named profile, overriding `AWS_PROFILE`.
    pub profile: Option<String>,
    /// Static credentials `(access key id, secret access key)`, overriding the chain
    /// (used by tests against the emulator).
    pub static_credentials: Option<(String, String)>,
    /// Attempts per call, including the first (throttling, 5xx and connection errors
    /// are retried with exponential backoff and jitter, within the SDK's retry
    /// quota). `None`: [`DEFAULT_MAX_ATTEMPTS`].
    pub max_attempts: Option<u32>,
    /// First retry delay. `None` keeps the SDK default (1 s).
    pub initial_backoff: Option<Duration>,
    /// Longest time one attempt of a call may take before it is abandoned (and
    /// retried). `None` keeps the SDK default (no limit).
    pub attempt_timeout: Option<Duration>,
}

/// Attempts per call by default: enough for a large stack's burst of calls to ride
/// out throttling (the SDK's own default of 3 is not; AWS asks clients to back off
/// and retry: <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html>).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// Loads the SDK configuration with the lean HTTP client (rustls with ring; it also
/// speaks plain HTTP to an emulator).
pub async fn load_sdk_config(options: &SdkOptions) -> SdkConfig {
    let http = HttpBuilder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    // Standard mode: exponential backoff with jitter (at most 20 s) and a retry
    // quota. Not adaptive: AWS calls that mode experimental, and its client-side
    // rate limiter, once throttled, slows every later call of the client to about
    // one call every two seconds, which left JapanCart's apply at 20% failed calls
    // three times slower than standard mode (RELIABILITY.md):
    // https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
    let mut retry = RetryConfig::standard()
        .with_max_attempts(options.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1));
    if let Some(d) = options.initial_backoff {
        retry = retry.with_initial_backoff(d);
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry);
    if let Some(t) = options.attempt_timeout {
        loader = loader.timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(t)
                .build(),
        );
    }
    if let Some(r) = &options.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(p) = &options.profile {
        loader = loader.profile_name(p);
    }
    if let Some((id, secret)) = &options.static_credentials {
        loader = loader.credentials_provider(static_credentials(id, secret));
    }
    loader.load().await
}

fn static_credentials(id: &str, secret: &str) -> aws_sdk_ec2::config::Credentials {
    aws_sdk_ec2::config::Credentials::new(id, secret, None, None, "engine-static")
}

/// How long the provider waits for slow resources before giving up with
/// [`crate::ErrorKind::Timeout`]. Users raise these for big instances.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// RDS DB instance create, modify and delete.
    pub db_instance: Duration,
    /// ElastiCache replication group create, modify and delete.
    pub cache_replication_group: Duration,
    /// Kinesis stream activation, encryption and resharding.
    pub kinesis_stream: Duration,
    /// How long a delete keeps retrying while AWS reports that something still
    /// depends on the resource (a VPC whose subnets are still draining, a security
    /// group still used by a deleting database's network interfaces).
    pub dependency: Duration,
    /// How long a call about a resource created moments ago keeps being retried
    /// while AWS has not yet caught up: EC2 `*.NotFound` for a new id, RDS refusing
    /// an IAM role that has not propagated. AWS documents both as eventual
    /// consistency that clears within seconds to minutes.
    pub eventual_consistency: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            db_instance: Duration::from_secs(60 * 60),
            cache_replication_group: Duration::from_secs(60 * 60),
            kinesis_stream: Duration::from_secs(10 * 60),
            dependency: Duration::from_secs(15 * 60),
            eventual_consistency: Duration::from_secs(2 * 60),
        }
    }
}

/// The provider's own options.
#[derive(Clone, Debug)]
pub struct ProviderOptions {
    /// Per-kind timeouts for waits.
    pub timeouts: Timeouts,
    /// First delay between status checks (the first check is immediate).
    pub poll_initial: Duration,
    /// Longest delay between status checks (delays double up to this). Each check
    /// reports progress, so a slow step shows its AWS status at least this often.
    pub poll_max: Duration,
    /// Resources per Describe/List call in batched reads (ids per filter, records per
    /// page); capped by each API's own maximum.
    pub read_page_size: usize,
    /// Counts every AWS call made through this provider, when set.
    pub call_counter: Option<CallCounter>,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        ProviderOptions {
            timeouts: Timeouts::default(),
            poll_initial: Duration::from_secs(1),
            poll_max: Duration::from_secs(5),
            read_page_size: 100,
            call_counter: None,
        }
    }
}

/// Counts AWS operations by name (one per operation, retries not counted), as an
/// SDK interceptor added to every client. (It reads the operation name before
/// serialization: client interceptors run `read_before_execution` before the
/// operation's own config, which carries the name, is applied.) Clones share the counts.
#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl CallCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls so far, by operation name (for example `DescribeSubnets`).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.counts.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Calls of one operation so far.
    pub fn count(&self, operation: &str) -> usize {
        self.counts().get(operation).copied().unwrap_or(0)
    }

    /// All calls so far.
    pub fn total(&self) -> usize {
        self.counts().values().sum()
    }

    /// Back to zero.
    pub fn reset(&self) {
        if let Ok(mut m) = self.counts.lock() {
            m.clear();
        }
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "engine-call-counter"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_default();
        if let Ok(mut m) = self.counts.lock() {
            *m.entry(name).or_default() += 1;
        }
        Ok(())
    }
}

/// A per-call override: one attempt, no SDK retry. For creates that the engine does
/// not make idempotent with a client token (`CreateVpc`, `CreateSubnet`,
/// `CreateInternetGateway`, KMS `CreateKey` have none; `CreateRouteTable` and
/// `CreateVpcEndpoint` take one, which the emulator ignores), a retry after an
/// answer was lost (a server error or a connection reset after AWS acted) would
/// make a second resource. The executor retries them instead, after looking for
/// what the failed attempt made by its ownership tags:
/// <https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html>
pub(crate) fn ec2_one_attempt() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default()
        .retry_config(RetryConfig::standard().with_max_attempts(1))
}

/// [`ec2_one_attempt`], for KMS.
pub(crate) fn kms_one_attempt() -> aws_sdk_kms::config::Builder {
    aws_sdk_kms::config::Builder::default()
        .retry_config(RetryConfig::standard().with_max_attempts(1))
}
