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

mod elasticache;
mod iam_role;
mod internet_gateway;
mod kinesis_stream;
mod kms;
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
