//! The pure core of `engine`: no AWS, no wasm, no I/O.
//!
//! # Layout
//! - [`address`]: `plugin/name` addresses.
//! - [`model`]: the typed resource model, one type per WIT record.
//! - [`schema`]: per-kind rules: replacement fields, referenceable attributes, names.
//! - [`graph`]: merging declarations into one validated dependency graph.
//! - [`diag`]: diagnostics for people.
//! - [`value`]: walks over the JSON form of specs (references).

pub mod address;
pub mod diag;
pub mod graph;
pub mod model;
pub mod schema;
pub mod value;

pub use address::Address;
pub use diag::{Diagnostic, Severity};
pub use graph::Graph;
pub use model::{Context, Declaration, Kind, Output, OutputValue, Reference, Resource, Spec, Text};
