//! The pure core of `engine`: no AWS, no wasm, no I/O.
//!
//! # Layout
//! - [`address`]: `plugin/name` addresses.
//! - [`config`]: plugins' config keys, and the check of a stack's values against them.
//! - [`model`]: the typed resource model, one type per WIT record.
//! - [`schema`]: per-kind rules: replacement fields, referenceable attributes, names.
//! - [`graph`]: merging declarations into one validated dependency graph.
//! - [`diag`]: diagnostics for people.
//! - [`value`]: walks over the JSON form of specs (references).
//! - [`state`]: the state model: what was applied, normalised JSON, versioned.
//! - [`plan`](mod@plan): the planner: desired graph + state -> a plan, its steps, saved plans.
//! - [`render`]: plans for people (Terraform-like, optional colour) and as JSON.
//! - [`style`]: terminal colour, the one place that writes ANSI escapes.
//! - [`printable`]: text from plugins made safe for a terminal (control characters
//!   escaped), the one place that does it.
//! - `samples`: a spec of every kind and a sample stack, for tests everywhere
//!   (compiled only for tests: the `testing` feature).

pub mod address;
pub mod config;
pub mod diag;
pub mod graph;
pub mod model;
pub mod plan;
pub mod printable;
pub mod render;
#[cfg(any(test, feature = "testing"))]
pub mod samples;
pub mod schema;
pub mod state;
pub mod style;
pub mod value;

pub use address::Address;
pub use diag::{Diagnostic, Severity};
pub use graph::Graph;
pub use model::{Context, Declaration, Kind, Output, OutputValue, Reference, Resource, Spec, Text};
pub use plan::{Action, Plan, ResourceChange, SavedPlan, plan, plan_for};
pub use state::{ResourceState, State};
