//! Output for people: colour decisions and diagnostics on stderr.

use std::io::IsTerminal;

use engine_core::{Diagnostic, style};

/// Whether to colour a stream: never with `NO_COLOR`, else when it is a terminal.
pub fn color(stdout: bool) -> bool {
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| v != "0") {
        return true;
    }
    if stdout {
        std::io::stdout().is_terminal()
    } else {
        std::io::stderr().is_terminal()
    }
}

/// Prints diagnostics to stderr.
pub fn diagnostics(diags: &[Diagnostic]) {
    let color = color(false);
    for d in diags {
        let text = d.to_string();
        if color {
            let (code, rest) = text.split_once(':').unwrap_or((&text, ""));
            let c = if d.is_error() {
                style::BOLD_RED
            } else {
                style::BOLD_YELLOW
            };
            eprintln!(
                "{}{}",
                style::paint(true, c, code),
                style::paint(
                    true,
                    style::BOLD,
                    &format!(":{}", rest.lines().next().unwrap_or(""))
                )
            );
            for line in rest.lines().skip(1) {
                eprintln!("{line}");
            }
        } else {
            eprintln!("{text}");
        }
        eprintln!();
    }
}

/// Prints one warning line to stderr (`warning: ...`), control characters escaped.
pub fn warning(line: &str) {
    let label = style::paint(color(false), style::BOLD_YELLOW, "warning");
    eprintln!("{label}: {}", engine_core::printable::line(line));
}

/// Writes data to stdout; a closed pipe (`engine plan --json | head`) ends the
/// process quietly instead of panicking.
pub fn out(s: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_all(s.as_bytes()).and_then(|()| stdout.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}
