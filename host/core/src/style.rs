//! Terminal colour: the one place that writes ANSI escapes. Whether to colour at
//! all is the caller's decision (the CLI honours `NO_COLOR` and terminals).

/// Green (additions).
pub const GREEN: &str = "32";
/// Yellow (changes, advisories).
pub const YELLOW: &str = "33";
/// Red (deletions, errors).
pub const RED: &str = "31";
/// Bold.
pub const BOLD: &str = "1";
/// Bold red (errors, failures).
pub const BOLD_RED: &str = "1;31";
/// Bold yellow (warnings).
pub const BOLD_YELLOW: &str = "1;33";

/// `s` in the SGR style `code` when `color`, else unchanged (and never an escape
/// around an empty string).
pub fn paint(color: bool, code: &str, s: &str) -> String {
    if color && !s.is_empty() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paints_only_when_asked_and_only_text() {
        assert_eq!(paint(true, RED, "x"), "\x1b[31mx\x1b[0m");
        assert_eq!(paint(false, RED, "x"), "x");
        assert_eq!(paint(true, RED, ""), "");
    }
}
