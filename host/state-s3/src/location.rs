//! `s3://BUCKET/PREFIX[?kms-key=KEY&region=REGION]`: where a stack's state lives
//! in S3, and how it is encrypted.

use engine_state::StateError;

/// A parsed S3 state location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The key prefix of the stack's objects, without a trailing `/` (may be
    /// empty: the bucket's root).
    pub prefix: String,
    /// `kms-key=`: a KMS key (id, ARN or `alias/NAME`) to encrypt with (SSE-KMS);
    /// without it, objects are encrypted with S3-managed keys (SSE-S3).
    pub kms_key: Option<String>,
    /// `region=`: the bucket's region, when it is not the stack's.
    pub region: Option<String>,
}

impl S3Location {
    /// Parses `s3://BUCKET[/PREFIX][?kms-key=KEY&region=REGION]`.
    pub fn parse(location: &str) -> Result<S3Location, StateError> {
        let bad = || StateError::UnsupportedLocation(location.to_string());
        let rest = location.strip_prefix("s3://").ok_or_else(bad)?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !bucket_ok {
            return Err(bad());
        }
        let mut loc = S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            kms_key: None,
            region: None,
        };
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("kms-key", v)) if !v.is_empty() => loc.kms_key = Some(v.to_string()),
                Some(("region", v)) if !v.is_empty() => loc.region = Some(v.to_string()),
                _ => return Err(bad()),
            }
        }
        Ok(loc)
    }

    /// The key of the stack's object `name`: `PREFIX/name`.
    pub fn key(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    /// `s3://BUCKET/KEY` of an object.
    pub fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The location without its options: `s3://BUCKET/PREFIX`.
    pub fn base(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn locations_parse_with_their_options() {
        let l = S3Location::parse("s3://team-state/infra/dev").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("team-state", "infra/dev")
        );
        assert_eq!(l.key("state.json"), "infra/dev/state.json");
        assert_eq!(l.base(), "s3://team-state/infra/dev");
        assert_eq!(l.kms_key, None);

        let l = S3Location::parse(
            "s3://b.example/p/?kms-key=arn:aws:kms:us-east-1:123456789012:key/abc&region=eu-west-1",
        )
        .unwrap();
        assert_eq!(l.prefix, "p");
        assert_eq!(
            l.kms_key.as_deref(),
            Some("arn:aws:kms:us-east-1:123456789012:key/abc")
        );
        assert_eq!(l.region.as_deref(), Some("eu-west-1"));
        assert_eq!(l.base(), "s3://b.example/p");

        let l = S3Location::parse("s3://bucket").unwrap();
        assert_eq!(l.key("state.lock"), "state.lock");
        assert_eq!(l.url(&l.key("state.lock")), "s3://bucket/state.lock");
    }

    #[test]
    fn bad_locations_are_refused() {
        for bad in [
            "s3://",
            "s3://B/x",
            "s3://ab/x",
            "s3://bucket/x?kms=1",
            "s3://bucket/x?kms-key=",
            "file://x",
        ] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }
}
