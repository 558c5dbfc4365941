//! `engine new component|policy NAME`: scaffold a plugin crate that builds as is.

/// What to scaffold.
#[derive(Debug, clap::Subcommand)]
pub enum NewCommand {
    /// A component plugin (declares resources)
    Component {
        /// Crate name (lowercase letters, digits, `-`)
        name: String,
    },
    /// A policy plugin (checks plans)
    Policy {
        /// Crate name (lowercase letters, digits, `-`)
        name: String,
    },
}

/// Runs `engine new`.
pub fn run(_cmd: &NewCommand) -> anyhow::Result<u8> {
    anyhow::bail!("`engine new` is not implemented yet")
}
