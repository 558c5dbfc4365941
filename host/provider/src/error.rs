//! Provider errors, classified so the executor knows what to do (retry, treat as
//! already gone, stop) while the cloud's own error code and message are kept for
//! the user. Provider code never puts secret values in an error; the places that
//! handle one scrub it with [`ProviderError::redact`].

use std::fmt;

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

    /// Whether the error is passing by nature: throttling, a timeout, AWS
    /// unreachable, or a server-side failure. A poll inside a long wait that fails
    /// so is polled again rather than failing the wait.
    pub fn is_transient(&self) -> bool {
        const SERVER: &[&str] = &[
            "InternalError",
            "InternalFailure",
            "InternalServerError",
            "ServiceUnavailable",
            "ServiceUnavailableException",
            "Unavailable",
        ];
        match self.kind {
            ErrorKind::Throttled | ErrorKind::Timeout => true,
            // No code: the request never got an answer (connection reset, refused).
            ErrorKind::Other => self.code.as_deref().is_none_or(|c| SERVER.contains(&c)),
            _ => false,
        }
    }

    /// Whether the error carries the AWS error code `code`.
    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
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
