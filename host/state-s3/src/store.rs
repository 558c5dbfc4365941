//! The S3 calls the backend makes, and what their failures mean.
//!
//! [`Store`] runs every call on a runtime of its own ([`Store::block`]), so that
//! the backend's synchronous methods work from any thread, including one of
//! another tokio runtime's workers (the executor saves the state from inside its
//! own runtime).

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use engine_state::StateError;

/// An object as read.
#[derive(Clone, Debug)]
pub(crate) struct Object {
    pub(crate) body: String,
    pub(crate) etag: String,
    pub(crate) metadata: BTreeMap<String, String>,
}

/// An object's head (no body).
#[derive(Clone, Debug)]
pub(crate) struct Head {
    pub(crate) metadata: BTreeMap<String, String>,
    pub(crate) size: Option<u64>,
    pub(crate) last_modified: Option<u64>,
}

/// One version of an object ([`Store::versions`]).
#[derive(Clone, Debug)]
pub(crate) struct ObjectVersion {
    pub(crate) version_id: String,
    pub(crate) latest: bool,
    pub(crate) last_modified: Option<u64>,
}

/// One object of a listing ([`Store::list`]).
#[derive(Clone, Debug)]
pub(crate) struct Listed {
    pub(crate) key: String,
    pub(crate) last_modified: Option<u64>,
}

/// The condition of a write (S3 conditional writes:
/// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Condition {
    /// Unconditional.
    None,
    /// `If-None-Match: *`: only if no object has the key.
    Absent,
    /// `If-Match: ETAG`: only if the object is still the one with this ETag.
    Matches(String),
}

/// A failed S3 call: its HTTP status, error code and message.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub(crate) status: Option<u16>,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

impl Failure {
    fn from_sdk<E>(e: SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = e.raw_response().map(|r| r.status().as_u16());
        // Classified as the AWS provider classifies its calls: one readable line
        // (the SDK's whole chain goes to the debug log).
        let p = engine_aws::error::from_sdk("S3", None, e);
        let code = p.code.as_deref().map(str::to_string);
        let message = match &code {
            Some(c) if c.as_str() != "NoCredentials" => format!("{c}: {}", p.message),
            _ => p.message,
        };
        Failure {
            status,
            code,
            message,
        }
    }

    /// `412 Precondition Failed`: a condition of a conditional write did not hold.
    pub(crate) fn precondition_failed(&self) -> bool {
        self.status == Some(412) || self.code.as_deref() == Some("PreconditionFailed")
    }

    /// `409 ConditionalRequestConflict`: a conflicting operation happened during a
    /// conditional write; AWS asks to fetch the ETag again and retry.
    pub(crate) fn conditional_conflict(&self) -> bool {
        self.status == Some(409) || self.code.as_deref() == Some("ConditionalRequestConflict")
    }

    /// `404`: no such key (or version).
    pub(crate) fn not_found(&self) -> bool {
        match self.code.as_deref() {
            Some(code) => matches!(code, "NoSuchKey" | "NotFound" | "NoSuchVersion"),
            // HeadObject answers 404 without a body.
            None => self.status == Some(404),
        }
    }

    /// The failure as a [`StateError`] about `action` on `path`, with the fix when
    /// one is known.
    pub(crate) fn into_error(self, action: &'static str, path: String) -> StateError {
        let bucket = path
            .strip_prefix("s3://")
            .and_then(|p| p.split('/').next())
            .unwrap_or("BUCKET")
            .to_string();
        let hint = match (self.code.as_deref(), self.status) {
            (Some("NoSuchBucket"), _) => Some(format!(
                "create the bucket first, with versioning so that every state is kept: \
                 aws s3api create-bucket --bucket {bucket} && aws s3api \
                 put-bucket-versioning --bucket {bucket} --versioning-configuration \
                 Status=Enabled"
            )),
            (Some("AccessDenied" | "AllAccessDisabled" | "InvalidAccessKeyId"), _)
            | (_, Some(403)) => Some(format!(
                "the credentials need s3:GetObject, s3:PutObject, s3:DeleteObject and \
                     s3:ListBucket on bucket `{bucket}` (s3:GetBucketVersioning and \
                     s3:ListBucketVersions for the history; kms:GenerateDataKey and \
                     kms:Decrypt with a KMS key)"
            )),
            (Some("PermanentRedirect" | "AuthorizationHeaderMalformed"), _) | (_, Some(301)) => {
                Some(
                    "the bucket is in another region than the stack: add `?region=REGION` to \
                     the state location"
                        .into(),
                )
            }
            (Some("NoCredentials"), _) => Some(
                "sign in (`export AWS_PROFILE=NAME`, `aws sso login --profile NAME`, or \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or name an emulator's endpoint \
                 (the stack's `endpoint`, or AWS_ENDPOINT_URL)"
                    .into(),
            ),
            (Some("KMS.NotFoundException" | "KMS.DisabledException"), _) => Some(
                "check the KMS key of the state location (`?kms-key=`): it must exist, be \
                 enabled, and be in the bucket's region"
                    .into(),
            ),
            (None, None) => Some(
                "check the network and the endpoint (AWS_ENDPOINT_URL, or the stack's \
                 `endpoint`), and the credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID)"
                    .into(),
            ),
            _ => None,
        };
        StateError::Storage {
            action,
            path,
            message: self.message,
            hint,
        }
    }
}

/// An S3 client and the runtime its calls run on.
pub(crate) struct Store {
    client: Client,
    bucket: String,
    /// SSE-KMS with this key, else SSE-S3.
    kms_key: Option<String>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Store {
    /// A store for `bucket`, its calls run on `runtime`.
    pub(crate) fn new(
        client: Client,
        bucket: String,
        kms_key: Option<String>,
        runtime: tokio::runtime::Runtime,
    ) -> Store {
        Store {
            client,
            bucket,
            kms_key,
            runtime: Some(runtime),
        }
    }

    /// Runs `f` on the store's runtime and waits for it, from any thread.
    pub(crate) fn block<F>(&self, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        #[allow(clippy::expect_used)] // set in `new`, taken only in `drop`
        let rt = self.runtime.as_ref().expect("the store's runtime");
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let _ = tx.send(f.await);
        });
        #[allow(clippy::expect_used)] // the task sends unless it panicked
        rx.recv().expect("an S3 call of the state backend panicked")
    }

    /// Reads `key` (a version of it, with `version`); `None` if there is none.
    pub(crate) fn get(&self, key: &str, version: Option<&str>) -> Result<Option<Object>, Failure> {
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.map(str::to_string));
        self.block(async move {
            let out = match req.send().await {
                Ok(o) => o,
                Err(e) => {
                    let f = Failure::from_sdk(e);
                    return if f.not_found() { Ok(None) } else { Err(f) };
                }
            };
            let etag = out.e_tag().unwrap_or_default().to_string();
            let metadata = metadata_of(out.metadata());
            let bytes = out.body.collect().await.map_err(|e| Failure {
                status: None,
                code: None,
                message: format!("reading the object's body failed: {e}"),
            })?;
            let body = String::from_utf8(bytes.into_bytes().to_vec()).map_err(|_| Failure {
                status: None,
                code: Some("NotUtf8".into()),
                message: "it is not UTF-8 text".into(),
            })?;
            Ok(Some(Object {
                body,
                etag,
                metadata,
            }))
        })
    }

    /// The head of `key` (a version of it); `None` if there is none. With
    /// `if_match`, a `412` when the object is another one.
    pub(crate) fn head(
        &self,
        key: &str,
        version: Option<&str>,
        if_match: Option<&str>,
    ) -> Result<Option<Head>, Failure> {
        let req = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .set_version_id(version.map(str::to_string))
            .set_if_match(if_match.map(str::to_string));
        self.block(async move {
            match req.send().await {
                Ok(out) => Ok(Some(Head {
                    metadata: metadata_of(out.metadata()),
                    size: out.content_length().and_then(|s| u64::try_from(s).ok()),
                    last_modified: out
                        .last_modified()
                        .and_then(|t| u64::try_from(t.secs()).ok()),
                })),
                Err(e) => {
                    let f = Failure::from_sdk(e);
                    if f.not_found() { Ok(None) } else { Err(f) }
                }
            }
        })
    }

    /// Writes `body` to `key` under `condition`, encrypted (SSE-KMS with the
    /// store's key, else SSE-S3), with user `metadata`; returns the new ETag.
    pub(crate) fn put(
        &self,
        key: &str,
        body: &str,
        condition: &Condition,
        metadata: &BTreeMap<String, String>,
    ) -> Result<String, Failure> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body.as_bytes().to_vec()));
        req = match &self.kms_key {
            Some(k) => req
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(k),
            None => req.server_side_encryption(ServerSideEncryption::Aes256),
        };
        req = match condition {
            Condition::None => req,
            Condition::Absent => req.if_none_match("*"),
            Condition::Matches(etag) => req.if_match(etag),
        };
        for (k, v) in metadata {
            req = req.metadata(k, ascii(v));
        }
        self.block(async move {
            req.send()
                .await
                .map(|o| o.e_tag().unwrap_or_default().to_string())
                .map_err(Failure::from_sdk)
        })
    }

    /// Deletes `key`; with `if_match`, only if it is still the object with this
    /// ETag (S3 conditional deletes:
    /// <https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-deletes.html>).
    pub(crate) fn delete(&self, key: &str, if_match: Option<&str>) -> Result<(), Failure> {
        let req = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_match(if_match.map(str::to_string));
        self.block(async move { req.send().await.map(|_| ()).map_err(Failure::from_sdk) })
    }

    /// Whether the bucket keeps object versions (versioning `Enabled`; a bucket
    /// whose versioning was never set, or is `Suspended`, keeps only the latest).
    pub(crate) fn versioned(&self) -> Result<bool, Failure> {
        let req = self.client.get_bucket_versioning().bucket(&self.bucket);
        self.block(async move {
            req.send()
                .await
                .map(|o| o.status() == Some(&BucketVersioningStatus::Enabled))
                .map_err(Failure::from_sdk)
        })
    }

    /// Every version of `key` (not delete markers), newest first.
    pub(crate) fn versions(&self, key: &str) -> Result<Vec<ObjectVersion>, Failure> {
        let client = self.client.clone();
        let bucket = self.bucket.clone();
        let key = key.to_string();
        self.block(async move {
            let mut found = Vec::new();
            let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
            loop {
                let page = client
                    .list_object_versions()
                    .bucket(&bucket)
                    .prefix(&key)
                    .set_key_marker(key_marker.clone())
                    .set_version_id_marker(version_marker.clone())
                    .send()
                    .await
                    .map_err(Failure::from_sdk)?;
                for v in page.versions() {
                    if v.key() != Some(key.as_str()) {
                        continue;
                    }
                    found.push(ObjectVersion {
                        version_id: v.version_id().unwrap_or("null").to_string(),
                        latest: v.is_latest().unwrap_or(false),
                        last_modified: v.last_modified().and_then(|t| u64::try_from(t.secs()).ok()),
                    });
                }
                if page.is_truncated() != Some(true) {
                    break;
                }
                key_marker = page.next_key_marker().map(str::to_string);
                version_marker = page.next_version_id_marker().map(str::to_string);
                if key_marker.is_none() {
                    break;
                }
            }
            found.sort_by(|a, b| {
                b.latest
                    .cmp(&a.latest)
                    .then(b.last_modified.cmp(&a.last_modified))
            });
            Ok(found)
        })
    }

    /// Every object under `prefix`.
    pub(crate) fn list(&self, prefix: &str) -> Result<Vec<Listed>, Failure> {
        let client = self.client.clone();
        let bucket = self.bucket.clone();
        let prefix = prefix.to_string();
        self.block(async move {
            let mut found = Vec::new();
            let mut token = None::<String>;
            loop {
                let page = client
                    .list_objects_v2()
                    .bucket(&bucket)
                    .prefix(&prefix)
                    .set_continuation_token(token.clone())
                    .send()
                    .await
                    .map_err(Failure::from_sdk)?;
                for o in page.contents() {
                    found.push(Listed {
                        key: o.key().unwrap_or_default().to_string(),
                        last_modified: o.last_modified().and_then(|t| u64::try_from(t.secs()).ok()),
                    });
                }
                token = page.next_continuation_token().map(str::to_string);
                if page.is_truncated() != Some(true) || token.is_none() {
                    break;
                }
            }
            Ok(found)
        })
    }

    /// The heads of many objects at once (at most 16 calls in flight), in order.
    pub(crate) fn heads(
        &self,
        objects: Vec<(String, Option<String>)>,
    ) -> Result<Vec<Option<Head>>, Failure> {
        let client = self.client.clone();
        let bucket = self.bucket.clone();
        self.block(async move {
            let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
            let mut tasks = Vec::new();
            for (key, version) in objects {
                let req = client
                    .head_object()
                    .bucket(&bucket)
                    .key(key)
                    .set_version_id(version);
                let limit = limit.clone();
                tasks.push(tokio::spawn(async move {
                    let _permit = limit.acquire().await;
                    match req.send().await {
                        Ok(out) => Ok(Some(Head {
                            metadata: metadata_of(out.metadata()),
                            size: out.content_length().and_then(|s| u64::try_from(s).ok()),
                            last_modified: out
                                .last_modified()
                                .and_then(|t| u64::try_from(t.secs()).ok()),
                        })),
                        Err(e) => {
                            let f = Failure::from_sdk(e);
                            if f.not_found() { Ok(None) } else { Err(f) }
                        }
                    }
                }));
            }
            let mut heads = Vec::new();
            for t in tasks {
                heads.push(t.await.map_err(|e| Failure {
                    status: None,
                    code: None,
                    message: format!("a HeadObject task failed: {e}"),
                })??);
            }
            Ok(heads)
        })
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Dropping a runtime waits for its tasks, which panics inside another
        // runtime's worker; none of ours outlives its call anyway.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

fn metadata_of(m: Option<&std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// S3 user metadata travels in HTTP headers: printable ASCII only.
fn ascii(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}
