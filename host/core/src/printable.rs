//! Text from plugins made safe to print on a terminal.
//!
//! A plugin chooses the names, messages, panic text and violations it returns.
//! Printed raw, a control character in them could recolour or clear the terminal,
//! move the cursor, or (a newline) fake a line of the engine's own output. Every
//! such string a person reads passes through [`line`] (every control character
//! escaped) or, for text of several lines, [`lines`] (line breaks kept); long ones
//! are shortened with [`clip`]. A message that quotes a plugin's text (a name, its
//! error, its panic) quotes it with [`short`] where the message is written, so the
//! message is safe in any output, JSON included; and [`crate::Diagnostic`]'s
//! `Display`, the plan, the policy report, the log and the progress lines escape
//! what they print once more, in case. Data (a violation, a property's value) is
//! left as it is in JSON and SARIF, where serde writes control characters as
//! `\u001b`.
//!
//! Escapes are visible and read like Rust's: `\n`, `\r`, `\t`, `\0`, `\x1b` (other
//! ASCII controls), `\u{85}` (C1 controls), `\u{202e}` (the Unicode bidirectional
//! controls, which reorder what is shown, and the line and paragraph separators).
//! A backslash is left as it is: the point is what reaches the terminal, not a
//! reversible encoding.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must not reach a terminal as it is.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
                | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

fn escape(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let keep = |c: char| keep_newlines && c == '\n';
    if !s.chars().any(|c| unsafe_char(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if keep(c) || !unsafe_char(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_ascii() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// `s` on one line: every control character escaped, line breaks included.
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// `s` as text of several lines: line breaks kept, every other control character
/// escaped.
pub fn lines(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// `s` as quoted inside a message: on one line ([`line`]), clipped to `max`
/// characters ([`clip`]). Messages quote plugin text this way where they are
/// written, so they are safe to print in every output, JSON included.
pub fn short(s: &str, max: usize) -> String {
    line(&clip(s, max)).into_owned()
}

/// `s` cut to its first `max` characters, saying how many were left out.
pub fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((end, _)) => {
            let more = s[end..].chars().count();
            Cow::Owned(format!("{}... ({more} more characters)", &s[..end]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_visibly() {
        let hostile = "../../etc/passwd\n\x1b[31m";
        assert_eq!(line(hostile), "../../etc/passwd\\n\\x1b[31m");
        assert_eq!(line("a\r\tb\0\x7f"), "a\\r\\tb\\0\\x7f");
        assert_eq!(
            line("c1 \u{85} bidi \u{202e}txt"),
            "c1 \\u{85} bidi \\u{202e}txt"
        );
        assert_eq!(lines("one\ntwo\x1b[2J"), "one\ntwo\\x1b[2J");
        assert_eq!(lines("tab\there"), "tab\\there");
    }

    #[test]
    fn plain_text_is_untouched_and_not_copied() {
        for s in ["$(rm -rf /)", "a;b|c", "résumé ✓ 日本", "C:\\path", ""] {
            assert!(matches!(line(s), Cow::Borrowed(_)), "{s}");
            assert_eq!(line(s), s);
        }
        assert!(matches!(lines("a\nb"), Cow::Borrowed(_)));
    }

    #[test]
    fn clip_keeps_short_text_and_counts_what_it_cuts() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("exactly10!", 10), "exactly10!");
        assert_eq!(clip("ééééé", 2), "éé... (3 more characters)");
    }
}
