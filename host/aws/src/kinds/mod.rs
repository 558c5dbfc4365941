//! One home per resource kind (or tight family): everything the host knows about a
//! kind's AWS lifecycle sits in its module, behind [`AwsKind`], implemented on the
//! kind's record type.
//!
//! Dispatch from a [`Spec`] or a [`Kind`] to the module is derived from the host's
//! one kind list (`engine_core::for_each_kind!`), so a kind without an
//! [`AwsKind`] implementation does not compile. Adding a kind is a module here and
//! a `mod` line below.

use async_trait::async_trait;
use engine_core::model::*;
use engine_core::{Address, Kind, Spec};

use crate::error::ProviderError;
use crate::provider::{Attributes, Aws, Found, Op, ReadRequest, StackIdentity, wrong_kind};

mod default_security_group;
mod elasticache;
mod flow_log;
mod iam_role;
mod iam_role_policy;
mod internet_gateway;
mod kinesis_stream;
mod kms;
mod log_group;
mod metric_alarm;
mod rds;
mod route_table;
mod s3_bucket;
mod secret;
mod security_group;
mod sns_topic;
mod subnet;
mod vpc;
mod vpc_endpoint;

/// A kind's AWS lifecycle. Specs passed in have every reference resolved.
#[async_trait]
pub(crate) trait AwsKind: Sized + Send + Sync + 'static {
    /// The error codes by which the kind's service says "this resource does not
    /// exist" (a delete of something gone is done; a read of it is `Gone`). Every
    /// code here classifies as [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    const NOT_FOUND: &'static [&'static str];

    /// Creates it (with the ownership tags), waits until usable, returns its
    /// attributes. The call that creates it marks a 4xx answer as refused.
    async fn create(&self, aws: &Aws, op: &Op<'_>) -> Result<Attributes, ProviderError>;

    /// Reads resources of this kind in as few calls as the API allows, one result
    /// per request, in order, with the ownership each carries.
    async fn read(aws: &Aws, requests: &[ReadRequest])
    -> Result<Vec<Option<Found>>, ProviderError>;

    /// Changes in place what differs between `self` (as applied) and `new`, adding
    /// the ownership tags again, and returns the new attributes.
    async fn update(
        &self,
        new: &Self,
        aws: &Aws,
        op: &Op<'_>,
        a: &Attributes,
    ) -> Result<Attributes, ProviderError>;

    /// Deletes it and waits until it is gone; gone already is success.
    async fn delete(&self, aws: &Aws, op: &Op<'_>, a: &Attributes) -> Result<(), ProviderError>;

    /// The attributes to read a resource that an interrupted create of `address`
    /// may have left, or `None` when there is none. The default reads it by the
    /// unique name in its spec; kinds named by AWS ids look it up by the stack's
    /// ownership tags, kinds without tags by what they connect.
    async fn locate(
        &self,
        _aws: &Aws,
        _address: &Address,
        _stack: &StackIdentity,
    ) -> Result<Option<Attributes>, ProviderError> {
        Ok(Some(Attributes::new()))
    }

    /// Turns the id of `engine import` (what the console shows) into what
    /// [`read`](AwsKind::read) finds a resource by: `self` is the declared spec,
    /// changed where the read takes the resource's identity from it (its name), and
    /// the attributes returned go with it. The default takes an AWS id as the `id`
    /// attribute; kinds named by a name override it, and kinds with no id of their
    /// own refuse, saying why.
    fn import(&mut self, id: &str) -> Result<Attributes, String> {
        Ok(id_attribute(id))
    }
}

/// `{"id": id}`.
fn id_attribute(id: &str) -> Attributes {
    Attributes::from([("id".to_string(), serde_json::Value::String(id.into()))])
}

/// An EC2 id of `what` as the `id` attribute, refusing one of another prefix
/// (`sg-...` given for a VPC).
fn ec2_import_id(id: &str, prefix: &str, what: &str) -> Result<Attributes, String> {
    if id.starts_with(prefix) && id.len() > prefix.len() {
        Ok(id_attribute(id))
    } else {
        Err(format!(
            "`{id}` is not the id of a {what}: {what} ids start with `{prefix}`"
        ))
    }
}

/// The name in an import id: the id itself, or, from an ARN
/// (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`), the part of RESOURCE after
/// `prefix` (`stream/` in `arn:aws:kinesis:us-east-1:123456789012:stream/orders`).
fn name_or_arn(id: &str, prefix: &str, what: &str) -> Result<String, String> {
    if !id.starts_with("arn:") {
        return Ok(id.to_string());
    }
    id.splitn(6, ':')
        .nth(5)
        .and_then(|resource| resource.strip_prefix(prefix))
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            format!("`{id}` is not the ARN of a {what} (its resource part starts with `{prefix}`)")
        })
}

/// The dispatch from specs and kinds to [`AwsKind`], one arm per listed kind.
macro_rules! dispatch {
    ($($(#[$m:meta])* $v:ident = $s:literal, $tags:ident { $($f:ident : $t:ty),* $(,)? })*) => {
        impl Aws {
            pub(crate) async fn create_kind(&self, op: &Op<'_>, spec: &Spec) -> Result<Attributes, ProviderError> {
                match spec { $(Spec::$v(s) => s.create(self, op).await),* }
            }

            pub(crate) async fn read_kind(&self, kind: Kind, r: &[ReadRequest]) -> Result<Vec<Option<Found>>, ProviderError> {
                match kind { $(Kind::$v => <$v as AwsKind>::read(self, r).await),* }
            }

            pub(crate) async fn update_kind(
                &self,
                op: &Op<'_>,
                old: &Spec,
                new: &Spec,
                a: &Attributes,
            ) -> Result<Attributes, ProviderError> {
                match (old, new) {
                    $((Spec::$v(o), Spec::$v(n)) => o.update(n, self, op, a).await,)*
                    _ => Err(wrong_kind(op.address, old.kind(), new)),
                }
            }

            pub(crate) async fn delete_kind(&self, op: &Op<'_>, spec: &Spec, a: &Attributes) -> Result<(), ProviderError> {
                match spec { $(Spec::$v(s) => s.delete(self, op, a).await),* }
            }

            pub(crate) async fn locate_kind(
                &self,
                spec: &Spec,
                address: &Address,
                stack: &StackIdentity,
            ) -> Result<Option<Attributes>, ProviderError> {
                match spec { $(Spec::$v(s) => s.locate(self, address, stack).await),* }
            }
        }

        /// The declared spec and attributes to read the resource an import `id`
        /// names ([`AwsKind::import`]).
        pub(crate) fn import_kind(declared: &Spec, id: &str) -> Result<(Spec, Attributes), String> {
            match declared {
                $(Spec::$v(s) => {
                    let mut s = s.clone();
                    let a = s.import(id)?;
                    Ok((Spec::$v(s), a))
                })*
            }
        }

        /// The error codes by which `kind`'s service says a resource does not exist.
        pub(crate) fn not_found_codes(kind: Kind) -> &'static [&'static str] {
            match kind { $(Kind::$v => <$v as AwsKind>::NOT_FOUND),* }
        }
    };
}

engine_core::for_each_kind!(dispatch);

/// Whether `code` is one of the listed kinds' "does not exist" codes.
pub(crate) fn is_not_found_code(code: &str) -> bool {
    Kind::ALL
        .iter()
        .any(|k| not_found_codes(*k).contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::error::classify_code;

    fn stream(name: &str) -> Spec {
        Spec::KinesisStream(KinesisStream {
            name: name.into(),
            shard_count: 1,
            retention_period_hours: 24,
            kms_key_id: None,
            shard_level_metrics: vec![],
            tags: vec![],
        })
    }

    fn secret(name: &str) -> Spec {
        Spec::Secret(Secret {
            name: name.into(),
            description: String::new(),
            kms_key_id: None,
            username: "admin".into(),
            password: PasswordPolicy {
                length: 32,
                exclude_characters: String::new(),
            },
            recovery_window_days: 0,
            tags: vec![],
        })
    }

    fn name_of(spec: &Spec) -> String {
        spec.properties()["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    #[test]
    fn an_import_id_becomes_what_the_kind_reads_by() {
        let vpc = Spec::Vpc(Vpc {
            cidr_block: "10.0.0.0/16".into(),
            enable_dns_support: true,
            enable_dns_hostnames: true,
            tags: vec![],
        });
        // AWS ids: the `id` attribute, the spec as declared; another kind's id is
        // refused before any call.
        let (prior, a) = import_kind(&vpc, "vpc-0abc").expect("a VPC id");
        assert_eq!(prior, vpc);
        assert_eq!(a["id"], "vpc-0abc");
        let e = import_kind(&vpc, "sg-0abc").expect_err("not a VPC id");
        assert!(e.contains("start with `vpc-`"), "{e}");

        // Names: the spec's name is the one read, by name or ARN.
        let declared = stream("declared-name");
        for id in [
            "orders",
            "arn:aws:kinesis:ap-northeast-1:123456789012:stream/orders",
        ] {
            let (prior, a) = import_kind(&declared, id).expect("a stream");
            assert_eq!(name_of(&prior), "orders", "{id}");
            assert!(a.is_empty());
        }
        let e = import_kind(&declared, "arn:aws:sns:us-east-1:123456789012:orders")
            .expect_err("not a stream's ARN");
        assert!(e.contains("not the ARN of a Kinesis stream"), "{e}");

        // A secret by name, or by ARN (its name before the six characters AWS adds).
        let (prior, a) = import_kind(&secret("x"), "japancart-db-credentials").expect("name");
        assert_eq!(name_of(&prior), "japancart-db-credentials");
        assert!(a.is_empty());
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:japancart-db-AbCdEf";
        let (prior, a) = import_kind(&secret("x"), arn).expect("ARN");
        assert_eq!(name_of(&prior), "japancart-db");
        assert_eq!(a["arn"], arn);

        // An IAM role's ARN carries a path; a KMS alias gets its `alias/`.
        let role = Spec::IamRole(IamRole {
            name: "x".into(),
            description: String::new(),
            assume_role_policy: "{}".into(),
            managed_policy_arns: vec![],
            tags: vec![],
        });
        let (prior, _) =
            import_kind(&role, "arn:aws:iam::123456789012:role/service/monitoring").expect("role");
        assert_eq!(name_of(&prior), "monitoring");
        let alias = Spec::KmsAlias(KmsAlias {
            name: "alias/x".into(),
            target_key_id: Text::lit("k"),
        });
        let (prior, _) = import_kind(&alias, "japancart").expect("alias");
        assert_eq!(name_of(&prior), "alias/japancart");

        // Routes have no id of their own.
        let route = Spec::Route(Route {
            route_table_id: Text::lit("rtb-1"),
            destination_cidr_block: "0.0.0.0/0".into(),
            gateway_id: Text::lit("igw-1"),
        });
        let e = import_kind(&route, "rtb-1").expect_err("no route ids");
        assert!(e.contains("import its route table"), "{e}");
    }

    #[test]
    fn every_kind_names_its_not_found_codes_and_they_classify_as_not_found() {
        for kind in Kind::ALL {
            let codes = not_found_codes(*kind);
            assert!(
                !codes.is_empty(),
                "{kind}: its module must list the codes its service uses for \"not found\""
            );
            for code in codes {
                assert_eq!(classify_code(code), ErrorKind::NotFound, "{kind}: {code}");
            }
        }
    }
}
