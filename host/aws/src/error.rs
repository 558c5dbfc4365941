//! Errors classified at the provider boundary.
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

/// What kind of failure an AWS call had, for deciding what to do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The resource does not exist (on delete: already gone).
    NotFound,
    /// AWS throttled the request; retry later (the SDK already retried).
    Throttled,
    /// A conflicting state: a dependency still in use, a name already taken, a
    /// resource not in a state that allows the call. Often clears with time.
    Conflict,
    /// The credentials lack a permission or are invalid.
    AccessDenied,
    /// AWS rejected the input; retrying the same call cannot help.
    Invalid,
    /// A call or a wait for a slow resource took longer than allowed.
    Timeout,
    /// Anything else (network failures, unexpected responses, 5xx after retries).
    Other,
}

impl ErrorKind {
    /// A short lowercase name, for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Conflict => "conflict",
            ErrorKind::AccessDenied => "access denied",
            ErrorKind::Invalid => "invalid input",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Other => "error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed provider operation, classified.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ProviderError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// The AWS error code, for example `DependencyViolation`, when AWS sent one.
    pub code: Option<Box<str>>,
    /// What went wrong, in AWS's words or ours. Never holds a secret value.
    pub message: String,
    /// The AWS operation (for example `DeleteVpc`) or provider step that failed.
    pub operation: String,
    /// The resource concerned, when the failure is about one resource.
    pub address: Option<Address>,
    /// AWS answered the call that creates the resource with a definite refusal (an
    /// error response in the 4xx range: already exists, invalid input, access
    /// denied, throttled), so nothing was created. A create whose outcome is unknown
    /// (a timeout, a lost connection, a 5xx, a failure after the creating call)
    /// leaves this `false`, and the executor keeps its pending record for adoption.
    pub refused: bool,
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(a) = &self.address {
            write!(f, "{a}: ")?;
        }
        write!(f, "{} failed", self.operation)?;
        match &self.code {
            Some(code) => write!(f, " ({}, {code})", self.kind)?,
            None => write!(f, " ({})", self.kind)?,
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

impl ProviderError {
    /// An error of the given kind raised by the provider itself (no AWS code).
    pub fn new(
        kind: ErrorKind,
        operation: impl Into<String>,
        address: Option<&Address>,
        message: impl Into<String>,
    ) -> Self {
        ProviderError {
            kind,
            code: None,
            message: message.into(),
            operation: operation.into(),
            address: address.cloned(),
            refused: false,
        }
    }

    /// Classifies an SDK error.
    pub fn from_sdk<E, R>(operation: &str, address: Option<&Address>, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        let (kind, code, message) = match &err {
            SdkError::ServiceError(_) => {
                let code = err.code().map(Box::from);
                let message = err
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| DisplayErrorContext(&err).to_string());
                (classify_code(code.as_deref().unwrap_or("")), code, message)
            }
            SdkError::TimeoutError(_) => (
                ErrorKind::Timeout,
                None,
                DisplayErrorContext(&err).to_string(),
            ),
            _ => (
                ErrorKind::Other,
                err.code().map(Box::from),
                DisplayErrorContext(&err).to_string(),
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

    /// Classifies the SDK error of a call that creates a resource, marking it
    /// [`refused`](ProviderError::refused) when AWS answered with a 4xx error
    /// response: the request was understood and turned down, so nothing exists.
    pub fn from_create_call<E>(
        operation: &str,
        address: Option<&Address>,
        err: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        let refused = match &err {
            SdkError::ServiceError(ctx) => (400..500).contains(&ctx.raw().status().as_u16()),
            _ => false,
        };
        let mut e = ProviderError::from_sdk(operation, address, err);
        e.refused = refused;
        e
    }

    /// The same error, marked as a definite refusal of a create (see
    /// [`refused`](ProviderError::refused)).
    pub fn refusing(mut self) -> Self {
        self.refused = true;
        self
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Throttled | ErrorKind::Timeout)
    }

    /// Whether the error says the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// Whether AWS refuses because something still depends on the resource (or it
    /// is in a transitional state), which usually clears by itself.
    pub fn is_dependency(&self) -> bool {
        self.kind == ErrorKind::Conflict
            && self.code.as_deref().is_some_and(|c| {
                !(c.contains("AlreadyExists")
                    || c.contains("Duplicate")
                    || c.contains("ResourceExists"))
            })
    }

    /// Replaces every occurrence of `secret` in the message (defence in depth: AWS
    /// messages do not echo passwords, but nothing that leaves the provider may).
    pub fn redact(mut self, secret: &str) -> Self {
        if !secret.is_empty() && self.message.contains(secret) {
            self.message = self.message.replace(secret, "***");
        }
        self
    }

    /// The same error, about `address`.
    pub fn at(mut self, address: &Address) -> Self {
        self.address = Some(address.clone());
        self
    }
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
    } else if code.contains("NotFound") || code == "NoSuchEntity" || code == "NoSuchEntityException"
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
    move |e| ProviderError::from_sdk(operation, address, e)
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
