//! Amazon S3 buckets: versioning, default encryption (SSE-S3 or SSE-KMS), the
//! public access block, an expiration lifecycle rule, tags.
//!
//! S3 has no batch describe: a read costs `HeadBucket` plus one `Get*` per setting
//! (tagging, versioning, encryption, public access block, lifecycle) per bucket.
//! `CreateBucket` answers 200 to a name the account already owns in us-east-1
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html>), so a
//! create looks first and refuses a taken name, like every other kind.

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag as S3Tag, Tagging, VersioningConfiguration,
};
use engine_core::model::{S3Bucket, Tag};
use engine_core::{Address, Kind, Spec};
use serde_json::json;

use crate::error::{ProviderError, from_sdk};
use crate::kinds::AwsKind;
use crate::provider::{
    Attributes, Aws, Found, Op, ReadRequest, already_exists, client, live_kms, wrong_kind,
};
use crate::tags;

/// The id of the lifecycle rule the engine writes.
const EXPIRATION_RULE: &str = "engine-expiration";

impl Aws {
    /// The S3 client (built on first use).
    fn s3(&self) -> aws_sdk_s3::Client {
        self.client(|sdk, options| client!(aws_sdk_s3, sdk, options))
    }

    /// The bucket's attributes: its name, ARN and regional domain name.
    fn bucket_attrs(&self, name: &str) -> Attributes {
        let region = self.sdk.region().map(|r| r.as_ref()).unwrap_or("us-east-1");
        let partition = match region {
            r if r.starts_with("cn-") => "aws-cn",
            r if r.starts_with("us-gov-") => "aws-us-gov",
            _ => "aws",
        };
        let suffix = if partition == "aws-cn" {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        };
        [
            ("id", json!(name)),
            ("arn", json!(format!("arn:{partition}:s3:::{name}"))),
            ("domain-name", json!(format!("{name}.s3.{region}.{suffix}"))),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Whether the bucket exists (and is reachable with these credentials).
    async fn bucket_exists(&self, address: &Address, name: &str) -> Result<bool, ProviderError> {
        match self.s3().head_bucket().bucket(name).send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = from_sdk("HeadBucket", Some(address), e);
                if e.is_not_found() || e.code.as_deref() == Some("NotFound") {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn bucket_tags(&self, op: &Op<'_>, name: &str, all: &[Tag]) -> Result<(), ProviderError> {
        let set = all
            .iter()
            .map(|t| S3Tag::builder().key(&t.key).value(&t.value).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(op.invalid("build tags"))?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(set))
            .build()
            .map_err(op.invalid("build tags"))?;
        self.s3()
            .put_bucket_tagging()
            .bucket(name)
            .tagging(tagging)
            .send()
            .await
            .map_err(op.err("PutBucketTagging"))?;
        Ok(())
    }

    /// Writes every setting that differs between `old` and `new` (all of them
    /// when `old` is `None`, right after the create).
    async fn bucket_apply(
        &self,
        op: &Op<'_>,
        old: Option<&S3Bucket>,
        new: &S3Bucket,
    ) -> Result<(), ProviderError> {
        let name = &new.name;
        let s3 = self.s3();
        let changed = |f: fn(&S3Bucket) -> bool| old.is_none_or(|o| f(o) != f(new));
        if changed(|b| b.block_public_access) {
            let b = new.block_public_access;
            s3.put_public_access_block()
                .bucket(name)
                .public_access_block_configuration(
                    PublicAccessBlockConfiguration::builder()
                        .block_public_acls(b)
                        .ignore_public_acls(b)
                        .block_public_policy(b)
                        .restrict_public_buckets(b)
                        .build(),
                )
                .send()
                .await
                .map_err(op.err("PutPublicAccessBlock"))?;
        }
        // A new bucket is unversioned: only turning it on needs a call then.
        if old.is_some_and(|o| o.versioning != new.versioning) || (old.is_none() && new.versioning)
        {
            let status = if new.versioning {
                BucketVersioningStatus::Enabled
            } else {
                BucketVersioningStatus::Suspended
            };
            s3.put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(VersioningConfiguration::builder().status(status).build())
                .send()
                .await
                .map_err(op.err("PutBucketVersioning"))?;
        }
        let key = op.opt(&new.kms_key_id)?;
        let old_key = match old {
            Some(o) => op.opt(&o.kms_key_id)?,
            None => None,
        };
        let encryption_changed =
            old.is_none_or(|o| o.default_encryption != new.default_encryption) || old_key != key;
        if encryption_changed && new.default_encryption {
            let by_default = match &key {
                Some(k) => ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::AwsKms)
                    .kms_master_key_id(k),
                None => ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::Aes256),
            }
            .build()
            .map_err(op.invalid("build encryption"))?;
            let config = ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(by_default)
                        .bucket_key_enabled(key.is_some())
                        .build(),
                )
                .build()
                .map_err(op.invalid("build encryption"))?;
            s3.put_bucket_encryption()
                .bucket(name)
                .server_side_encryption_configuration(config)
                .send()
                .await
                .map_err(op.err("PutBucketEncryption"))?;
        } else if encryption_changed && old.is_some() {
            // Back to S3's own default (SSE-S3).
            s3.delete_bucket_encryption()
                .bucket(name)
                .send()
                .await
                .map_err(op.err("DeleteBucketEncryption"))?;
        }
        if changed(|b| b.expiration_days > 0)
            || old.is_some_and(|o| o.expiration_days != new.expiration_days)
        {
            if new.expiration_days > 0 {
                let rule = LifecycleRule::builder()
                    .id(EXPIRATION_RULE)
                    .status(ExpirationStatus::Enabled)
                    .filter(LifecycleRuleFilter::builder().prefix("").build())
                    .expiration(
                        LifecycleExpiration::builder()
                            .days(i32::try_from(new.expiration_days).unwrap_or(i32::MAX))
                            .build(),
                    )
                    .build()
                    .map_err(op.invalid("build lifecycle"))?;
                let config = BucketLifecycleConfiguration::builder()
                    .rules(rule)
                    .build()
                    .map_err(op.invalid("build lifecycle"))?;
                s3.put_bucket_lifecycle_configuration()
                    .bucket(name)
                    .lifecycle_configuration(config)
                    .send()
                    .await
                    .map_err(op.err("PutBucketLifecycleConfiguration"))?;
            } else if old.is_some() {
                s3.delete_bucket_lifecycle()
                    .bucket(name)
                    .send()
                    .await
                    .map_err(op.err("DeleteBucketLifecycle"))?;
            }
        }
        Ok(())
    }

    /// Reads one bucket, or `None` when it does not exist.
    async fn bucket_read(
        &self,
        r: &ReadRequest,
        prior: &S3Bucket,
    ) -> Result<Option<Found>, ProviderError> {
        let (name, at) = (&prior.name, Some(&r.address));
        if !self.bucket_exists(&r.address, name).await? {
            return Ok(None);
        }
        let s3 = self.s3();
        // Settings never written come back as "no such ...": the S3 default.
        let absent = |e: &ProviderError, code: &str| e.code.as_deref() == Some(code);
        let live_tags: Vec<(String, String)> =
            match s3.get_bucket_tagging().bucket(name).send().await {
                Ok(o) => o
                    .tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
                Err(e) => {
                    let e = from_sdk("GetBucketTagging", at, e);
                    if !absent(&e, "NoSuchTagSet") {
                        return Err(e);
                    }
                    Vec::new()
                }
            };
        let (tags, owner) = tags::split(live_tags, &prior.tags);
        let versioning = s3
            .get_bucket_versioning()
            .bucket(name)
            .send()
            .await
            .map_err(|e| from_sdk("GetBucketVersioning", at, e))?
            .status()
            == Some(&BucketVersioningStatus::Enabled);
        let (algorithm, key) = match s3.get_bucket_encryption().bucket(name).send().await {
            Ok(o) => {
                let by_default = o
                    .server_side_encryption_configuration()
                    .and_then(|c| c.rules().first())
                    .and_then(|r| r.apply_server_side_encryption_by_default());
                (
                    by_default.map(|d| d.sse_algorithm().clone()),
                    by_default.and_then(|d| d.kms_master_key_id().map(str::to_string)),
                )
            }
            Err(e) => {
                let e = from_sdk("GetBucketEncryption", at, e);
                if !absent(&e, "ServerSideEncryptionConfigurationNotFoundError") {
                    return Err(e);
                }
                (None, None)
            }
        };
        let kms = matches!(
            algorithm,
            Some(ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse)
        );
        // SSE-S3 is also what S3 applies when nothing is declared: a stack that
        // declares none sees it as its own choice, not as drift.
        let default_encryption = kms || (algorithm.is_some() && prior.default_encryption);
        let block_public_access = match s3.get_public_access_block().bucket(name).send().await {
            Ok(o) => o.public_access_block_configuration().is_some_and(|c| {
                c.block_public_acls() == Some(true)
                    && c.ignore_public_acls() == Some(true)
                    && c.block_public_policy() == Some(true)
                    && c.restrict_public_buckets() == Some(true)
            }),
            Err(e) => {
                let e = from_sdk("GetPublicAccessBlock", at, e);
                if !absent(&e, "NoSuchPublicAccessBlockConfiguration") {
                    return Err(e);
                }
                false
            }
        };
        let expiration_days = match s3
            .get_bucket_lifecycle_configuration()
            .bucket(name)
            .send()
            .await
        {
            Ok(o) => o
                .rules()
                .iter()
                .find(|r| {
                    r.id() == Some(EXPIRATION_RULE) && r.status() == &ExpirationStatus::Enabled
                })
                .and_then(|r| r.expiration().and_then(|x| x.days()))
                .and_then(|d| u32::try_from(d).ok())
                .unwrap_or(0),
            Err(e) => {
                let e = from_sdk("GetBucketLifecycleConfiguration", at, e);
                if !absent(&e, "NoSuchLifecycleConfiguration") {
                    return Err(e);
                }
                0
            }
        };
        Ok(Some(Found {
            spec: Spec::S3Bucket(S3Bucket {
                name: name.clone(),
                versioning,
                default_encryption,
                kms_key_id: if kms {
                    live_kms(&prior.kms_key_id, key)
                } else {
                    None
                },
                block_public_access,
                expiration_days,
                tags,
            }),
            attributes: self.bucket_attrs(name),
            owner,
        }))
    }
}

#[async_trait]
impl AwsKind for S3Bucket {
    const NOT_FOUND: &'static [&'static str] = &["NoSuchBucket"];

    fn import(&mut self, id: &str) -> Result<crate::provider::Attributes, String> {
        self.name = super::name_or_arn(id, "", "S3 bucket")?;
        Ok(crate::provider::Attributes::new())
    }

    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError> {
        if aws.bucket_exists(op.address, &self.name).await? {
            return Err(already_exists(
                op,
                "CreateBucket",
                format!("a bucket named {} already exists", self.name),
            ));
        }
        let mut call = aws.s3().create_bucket().bucket(&self.name);
        // us-east-1 takes no location constraint; every other region needs one.
        // https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
        if let Some(region) = aws.sdk.region().map(|r| r.to_string())
            && region != "us-east-1"
        {
            call = call.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        call.send().await.map_err(op.refused("CreateBucket"))?;
        // CreateBucket takes no tags: they follow at once, then the settings.
        aws.bucket_tags(op, &self.name, &op.tags(&self.tags))
            .await?;
        aws.bucket_apply(op, None, self).await?;
        Ok(aws.bucket_attrs(&self.name))
    }

    async fn read(
        aws: &Aws,
        requests: &[ReadRequest],
    ) -> Result<Vec<Option<Found>>, ProviderError> {
        let mut out = Vec::with_capacity(requests.len());
        for r in requests {
            let Spec::S3Bucket(prior) = &r.prior else {
                return Err(wrong_kind(&r.address, Kind::S3Bucket, &r.prior));
            };
            out.push(aws.bucket_read(r, prior).await?);
        }
        Ok(out)
    }

    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError> {
        aws.bucket_apply(op, Some(self), new).await?;
        // PutBucketTagging replaces the whole set: the user's tags plus ownership
        // (so a bucket tagged before stack ids gets its id).
        aws.bucket_tags(op, &new.name, &op.tags(&new.tags)).await?;
        Ok(a.clone())
    }

    async fn delete(&self, aws: &Aws, op: &Op<'_>, _a: &Attributes) -> Result<(), ProviderError> {
        // A bucket that still holds objects is refused (BucketNotEmpty): the engine
        // never deletes data it did not write.
        aws.delete_retrying(op, || async {
            aws.s3()
                .delete_bucket()
                .bucket(&self.name)
                .send()
                .await
                .map(|_| ())
                .map_err(op.err("DeleteBucket"))
        })
        .await
    }
}
