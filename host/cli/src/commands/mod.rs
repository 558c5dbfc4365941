//! One module per subcommand.

pub mod apply;
pub mod build;
pub mod check;
pub mod config;
pub mod import;
pub mod new;
pub mod output;
pub mod plan;
pub mod progress;
pub mod refresh;
pub mod stack;
pub mod state;
