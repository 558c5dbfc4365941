//! The host's one `bindgen!` site. Nothing outside this crate sees generated types:
//! [`crate::convert`] turns them into `engine_core` types at the boundary.

#![allow(missing_docs)]

/// The `component` world.
pub mod component {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "engine:plugin/component",
    });
}

/// The `policy` world, sharing the `types` and `host` interfaces with `component`.
pub mod policy {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "engine:plugin/policy",
        with: {
            "engine:plugin/types": super::component::engine::plugin::types,
            "engine:plugin/host": super::component::engine::plugin::host,
        },
    });
}

pub use component::engine::plugin::host::LogLevel;
pub use component::engine::plugin::types as wit;
