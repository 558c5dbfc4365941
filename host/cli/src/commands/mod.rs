//! One module per subcommand.

pub mod build;
pub mod plan;
pub mod state;
