//! Host-generated passwords and a string type that keeps them out of output.

use std::fmt;

use zeroize::Zeroize;

use crate::error::{ErrorKind, ProviderError};

/// Longest password the host generates (Secrets Manager's own limit is 4096).
pub const MAX_LENGTH: u32 = 4096;

/// A secret string: `Debug` and `Display` print `***`, the memory is wiped on drop,
/// and it is not `Serialize`, so it cannot reach state, plans or logs by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a value.
    pub fn new(value: String) -> Self {
        SecretString(value)
    }

    /// The value, for the one call that must send it to AWS.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Generates a password of `length` printable ASCII characters (no space), none of
/// them in `exclude`, from the operating system's CSPRNG, uniformly (rejection
/// sampling, no modulo bias).
pub fn generate(length: u32, exclude: &str) -> Result<SecretString, ProviderError> {
    let invalid = |m: String| ProviderError::new(ErrorKind::Invalid, "generate password", None, m);
    if length == 0 || length > MAX_LENGTH {
        return Err(invalid(format!(
            "password length must be 1 to {MAX_LENGTH}, not {length}"
        )));
    }
    let alphabet: Vec<u8> = (b'!'..=b'~')
        .filter(|c| !exclude.as_bytes().contains(c))
        .collect();
    if alphabet.len() < 16 {
        return Err(invalid(format!(
            "only {} characters are left once `exclude-characters` are removed; at least 16 are needed",
            alphabet.len()
        )));
    }
    let n = alphabet.len();
    // Bytes at or above `limit` would favour the first characters: draw again.
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(length as usize);
    let mut buf = [0u8; 256];
    while out.len() < length as usize {
        getrandom::fill(&mut buf)
            .map_err(|e| invalid(format!("the OS random source failed: {e}")))?;
        for &b in &buf {
            if (b as usize) < limit && out.len() < length as usize {
                out.push(alphabet[b as usize % n] as char);
            }
        }
    }
    buf.zeroize();
    Ok(SecretString(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honours_length_and_exclusions() {
        let p = generate(64, "/@\" ").expect("password");
        assert_eq!(p.expose().len(), 64);
        assert!(
            p.expose()
                .chars()
                .all(|c| c.is_ascii_graphic() && !"/@\"".contains(c))
        );
        assert_ne!(generate(64, "").expect("password"), p);
    }

    #[test]
    fn never_prints_the_value() {
        let p = generate(32, "").expect("password");
        assert_eq!(format!("{p:?}"), "SecretString(***)");
        assert_eq!(p.to_string(), "***");
    }

    #[test]
    fn refuses_impossible_policies() {
        assert!(generate(0, "").is_err());
        let all: String = (b'!'..=b'~').map(char::from).collect();
        assert!(generate(10, &all).is_err());
    }
}
