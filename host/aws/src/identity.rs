//! Who the engine acts as: one STS `GetCallerIdentity` before an apply or destroy,
//! so that missing or expired credentials stop everything with one clear error
//! before any change, and the plan names the account it would change.
//! <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html>

use crate::error::{ProviderError, sdk_err};
use crate::provider::{Aws, client};

/// The account and principal the credentials belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The 12-digit account id.
    pub account: String,
    /// The principal's ARN (user, assumed role, ...).
    pub arn: String,
}

impl Aws {
    /// Asks STS who the credentials belong to. Needs no permission (STS answers
    /// it for any valid credentials), so its failure means the credentials are
    /// missing, invalid or expired, or AWS cannot be reached.
    pub async fn caller_identity(&self) -> Result<CallerIdentity, ProviderError> {
        let sts = self.client(|sdk, options| client!(aws_sdk_sts, sdk, options));
        let out = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(sdk_err("GetCallerIdentity", None))?;
        Ok(CallerIdentity {
            account: out.account().unwrap_or_default().to_string(),
            arn: out.arn().unwrap_or_default().to_string(),
        })
    }
}
