//! AWS providers for `engine`: create, read (in batches), update and delete every
//! resource kind of the WIT contract with the official AWS SDK for Rust.
//!
//! The executor holds a [`Provider`] (the trait lives in `engine-provider`, so the
//! executor builds without any SDK; the AWS one is [`Aws`]) and calls it with
//! specs whose references are already resolved. Errors come back classified
//! ([`ErrorKind`]) with the AWS code and message kept; slow resources are waited for
//! with adaptive polling and [`Progress`] events; everything that takes tags carries
//! the ownership tags `engine:stack`, `engine:stack-id` and `engine:address`, and
//! [`StackIdentity::judge`] decides from them whether a live resource is the stack's
//! own before anything touches it.
//!
//! # Layout
//! - [`provider`]: [`Aws`], which dispatches each kind to its service module;
//!   shared waiting and delete retries. The trait and its data types
//!   ([`Attributes`], [`ReadRequest`], [`ReadResult`], [`OpContext`], [`Progress`])
//!   are re-exported from `engine-provider`.
//! - [`config`]: loading the SDK config (standard chain, lean rustls client,
//!   adjustable retries), [`ProviderOptions`] (timeouts, poll pacing, read page
//!   size) and [`CallCounter`].
//! - [`error`]: the classification of AWS error codes into [`ProviderError`]s, one
//!   readable line each (the whole chain goes to debug logs).
//! - `identity`: [`CallerIdentity`], checked before an apply or destroy.
//! - `zones`: [`Aws::availability_zones`], the region's zones, read before plugins
//!   declare.
//! - [`tags`]: ownership tags and tag diffs.
//! - [`password`]: host-generated passwords and [`SecretString`].
//! - `kinds`: one private module per kind or tight family, each implementing the
//!   `AwsKind` trait on the kind's record (`vpc`, `internet_gateway`, `subnet`,
//!   `route_table` with routes and associations, `security_group`,
//!   `default_security_group` (adopted, never created), `vpc_endpoint`,
//!   `flow_log`, `kms` key and alias, `kinesis_stream`, `secret`, `iam_role`,
//!   `iam_role_policy`, `elasticache` subnet group and replication group, `rds`
//!   subnet group and instance, `sns_topic`, `metric_alarm`, `log_group`);
//!   dispatch derived from the host's kind list.
//! - `ec2`: what the EC2 kinds share (filters, chunked Describe calls, tags).
//! - `moto`: test support, a moto server on a free loopback port (compiled only
//!   for tests: the `testing` feature).
//!
//! # What a batched read costs
//! | kinds | calls for N resources |
//! |---|---|
//! | subnet, route table, route, association, security group, default security group, internet gateway, VPC endpoint, flow log | one Describe per `read_page_size` ids |
//! | VPC | one `DescribeVpcs` per page + 2 `DescribeVpcAttribute` per VPC (DNS settings) |
//! | DB instance | one `DescribeDBInstances` per page (tags included) |
//! | secret | one `ListSecrets` per 10 names |
//! | KMS alias | one `ListAliases` per page of the account's aliases + one `ListResourceTags` per alias (its owner is its key's) |
//! | metric alarm | one `DescribeAlarms` per 100 names + one tag listing per alarm |
//! | DB / cache subnet group, replication group | one listing per page + one tag listing per resource |
//! | KMS key | 4 calls per key: `DescribeKey`, `GetKeyRotationStatus`, `ListResourceTags`, `GetKeyPolicy` (no batch API) |
//! | Kinesis stream, IAM role, SNS topic | 2-3 calls per resource (no batch API) |
//! | IAM role policy | one `GetRolePolicy` per policy + one `GetRole` per role (its owner is its role's) |
//! | log group | one `DescribeLogGroups` per name (by prefix) + one `ListTagsForResource` per group |

pub mod config;
pub mod error;
#[cfg(any(test, feature = "testing"))]
pub mod moto;
pub mod password;
pub mod provider;
pub mod tags;

mod ec2;
mod identity;
mod kinds;
mod zones;

pub use config::{CallCounter, ProviderOptions, SdkOptions, Timeouts, load_sdk_config};
pub use error::{ErrorKind, ProviderError};
pub use identity::CallerIdentity;
pub use password::SecretString;
pub use provider::{
    Attributes, Aws, Existing, OpContext, Owner, Ownership, Progress, ProgressSink, Provider,
    ReadRequest, ReadResult, StackIdentity,
};
