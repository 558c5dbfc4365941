//! One module per subcommand.

pub mod apply;
pub mod build;
pub mod check;
pub mod new;
pub mod plan;
pub mod state;
