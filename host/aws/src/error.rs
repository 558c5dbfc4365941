//! AWS errors, classified at the provider boundary into [`ProviderError`]s.
//!
//! Every AWS failure becomes a [`ProviderError`] whose [`ErrorKind`] tells the
//! executor what to do (retry, treat as already gone, stop), while the AWS error code
//! and message are kept for the user. Provider code never puts secret values in an
//! error; the two places that handle one (secret creation, DB master password) also
//! scrub it from AWS's message with [`ProviderError::redact`].

use std::error::Error as StdError;
use std::fmt;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use engine_core::Address;
pub use engine_provider::{ErrorKind, ProviderError};

/// Classifies an SDK error.
pub fn from_sdk<E, R>(
    operation: &str,
    address: Option<&Address>,
    err: SdkError<E, R>,
) -> ProviderError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    // The whole chain (raw responses, connector details) is for `-vv` logs only:
    // what reaches a person is one readable line.
    tracing::debug!(operation, error = %DisplayErrorContext(&err), "AWS call failed");
    let (kind, code, message) = match &err {
        SdkError::ServiceError(_) => {
            let code = err.code().map(Box::from);
            let message = err
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| "AWS answered with an error and no message".to_string());
            (classify_code(code.as_deref().unwrap_or("")), code, message)
        }
        SdkError::TimeoutError(_) => (
            ErrorKind::Timeout,
            None,
            "no answer from AWS in time".to_string(),
        ),
        SdkError::ConstructionFailure(_) | SdkError::DispatchFailure(_) if is_credentials(&err) => {
            (
                ErrorKind::AccessDenied,
                Some("NoCredentials".into()),
                "no AWS credentials were found (environment, profile files, SSO, container or \
             instance metadata)"
                    .to_string(),
            )
        }
        SdkError::ConstructionFailure(_) => (
            ErrorKind::Other,
            None,
            format!("the request could not be made: {}", innermost(&err)),
        ),
        SdkError::DispatchFailure(_) => (
            ErrorKind::Other,
            None,
            format!("AWS could not be reached: {}", innermost(&err)),
        ),
        _ => (
            ErrorKind::Other,
            err.code().map(Box::from),
            format!("an unexpected answer from AWS: {}", innermost(&err)),
        ),
    };
    ProviderError {
        kind,
        code,
        message,
        operation: operation.to_string(),
        address: address.cloned(),
        refused: false,
    }
}

/// The deepest cause's message, on one line (the useful part of a long chain).
fn innermost(err: &(dyn StdError + 'static)) -> String {
    let mut e: &(dyn StdError + 'static) = err;
    while let Some(next) = e.source() {
        e = next;
    }
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default().trim();
    const MAX: usize = 300;
    if line.len() > MAX {
        let mut end = MAX;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &line[..end])
    } else {
        line.to_string()
    }
}

/// Whether an error that stopped a request before it was sent says the
/// credentials could not be loaded.
fn is_credentials(err: &(dyn StdError + 'static)) -> bool {
    let mut e: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(x) = e {
        let text = x.to_string().to_lowercase();
        if text.contains("credential") {
            return true;
        }
        e = x.source();
    }
    false
}

/// Classifies the SDK error of a call that creates a resource, marking it
/// [`refused`](ProviderError::refused) when AWS answered with a 4xx error
/// response: the request was understood and turned down, so nothing exists.
pub fn from_create_call<E>(
    operation: &str,
    address: Option<&Address>,
    err: SdkError<E, HttpResponse>,
) -> ProviderError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let refused = match &err {
        SdkError::ServiceError(ctx) => (400..500).contains(&ctx.raw().status().as_u16()),
        _ => false,
    };
    let mut e = from_sdk(operation, address, err);
    e.refused = refused;
    e
}

/// Maps an AWS error code to its class. Codes vary between services (EC2 uses
/// dotted codes like `InvalidVpcID.NotFound`, RDS and ElastiCache `...Fault`
/// names), so this matches on the parts they share.
pub fn classify_code(code: &str) -> ErrorKind {
    const THROTTLED: &[&str] = &[
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    ];
    const DENIED: &[&str] = &[
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthFailure",
        "AuthorizationError",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "OptInRequired",
        "KMSAccessDeniedException",
    ];
    if code.is_empty() {
        ErrorKind::Other
    } else if THROTTLED.contains(&code) {
        ErrorKind::Throttled
    } else if DENIED.contains(&code) {
        ErrorKind::AccessDenied
    } else if crate::kinds::is_not_found_code(code)
        || code.contains("NotFound")
        || code == "NoSuchEntity"
        || code == "NoSuchEntityException"
    {
        ErrorKind::NotFound
    } else if code == "DependencyViolation"
        || code.contains("InUse")
        || code.contains("AlreadyExists")
        || code.contains("Duplicate")
        || code.contains("Conflict")
        || code.contains("InvalidState")
        || code.contains("IncorrectState")
        || code.starts_with("InvalidDBInstanceState")
        || code.starts_with("InvalidDBSubnetGroupState")
        || code.starts_with("InvalidReplicationGroupState")
        || code.starts_with("InvalidCacheClusterState")
        || code == "ResourceExistsException"
        || code == "ConcurrentModification"
        || code == "ConcurrentModificationException"
        || code == "IncorrectInstanceState"
    {
        ErrorKind::Conflict
    } else if code.starts_with("Invalid")
        || code.starts_with("Validation")
        || code.starts_with("Malformed")
        || code.starts_with("Missing")
        || code.contains("Unsupported")
        || code.contains("ParameterValue")
        || code.contains("ParameterCombination")
        || code == "InvalidArgumentException"
        || code == "LimitExceeded"
    {
        ErrorKind::Invalid
    } else {
        ErrorKind::Other
    }
}

/// A `map_err` adapter: `.map_err(sdk_err("CreateVpc", Some(addr)))`.
pub(crate) fn sdk_err<'a, E, R>(
    operation: &'static str,
    address: Option<&'a Address>,
) -> impl FnOnce(SdkError<E, R>) -> ProviderError + 'a
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    move |e| from_sdk(operation, address, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified() {
        assert_eq!(classify_code("InvalidVpcID.NotFound"), ErrorKind::NotFound);
        assert_eq!(classify_code("DBInstanceNotFound"), ErrorKind::NotFound);
        assert_eq!(
            classify_code("ReplicationGroupNotFoundFault"),
            ErrorKind::NotFound
        );
        assert_eq!(classify_code("NoSuchEntity"), ErrorKind::NotFound);
        assert_eq!(
            classify_code("ResourceNotFoundException"),
            ErrorKind::NotFound
        );
        assert_eq!(classify_code("DependencyViolation"), ErrorKind::Conflict);
        assert_eq!(classify_code("CacheSubnetGroupInUse"), ErrorKind::Conflict);
        assert_eq!(classify_code("InvalidDBInstanceState"), ErrorKind::Conflict);
        assert_eq!(
            classify_code("KMSInvalidStateException"),
            ErrorKind::Conflict
        );
        assert_eq!(classify_code("InvalidGroup.Duplicate"), ErrorKind::Conflict);
        assert_eq!(classify_code("Throttling"), ErrorKind::Throttled);
        assert_eq!(classify_code("RequestLimitExceeded"), ErrorKind::Throttled);
        assert_eq!(
            classify_code("UnauthorizedOperation"),
            ErrorKind::AccessDenied
        );
        assert_eq!(classify_code("InvalidParameterValue"), ErrorKind::Invalid);
        assert_eq!(classify_code("ValidationError"), ErrorKind::Invalid);
        assert_eq!(classify_code("MalformedPolicyDocument"), ErrorKind::Invalid);
        assert_eq!(classify_code("InternalFailure"), ErrorKind::Other);
    }

    #[test]
    fn dependency_is_a_conflict_that_clears() {
        let mut e = ProviderError::new(ErrorKind::Conflict, "DeleteVpc", None, "x");
        e.code = Some("DependencyViolation".into());
        assert!(e.is_dependency());
        e.code = Some("InvalidGroup.Duplicate".into());
        assert!(!e.is_dependency());
    }

    #[test]
    fn display_names_address_operation_and_code() {
        let mut e = ProviderError::new(
            ErrorKind::Conflict,
            "DeleteVpc",
            Some(&Address::new("net", "vpc")),
            "has dependencies",
        );
        e.code = Some("DependencyViolation".into());
        assert_eq!(
            e.to_string(),
            "net/vpc: DeleteVpc failed (conflict, DependencyViolation): has dependencies"
        );
        assert_eq!(e.redact("dependencies").message, "has ***");
    }
}
