//! The host's bindings: one `bindgen!` per contract version. Nothing outside this
//! crate sees generated types: [`crate::convert`] turns them into `engine_core`
//! types at the boundary, and older versions' types into the current ones.

#![allow(missing_docs)]

/// The `component` world of the current contract (`wit/engine.wit`).
pub mod component {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "engine:plugin/component",
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

/// The `policy` world of the current contract, sharing `types` and `host`.
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

/// One frozen contract version's worlds (`component` and `policy`) and `wit`, its
/// shared types.
macro_rules! frozen {
    ($(#[$m:meta])* $module:ident, $path:literal) => {
        $(#[$m])*
        pub mod $module {
            /// Its `component` world.
            pub mod component {
                wasmtime::component::bindgen!({
                    path: $path,
                    world: "engine:plugin/component",
                    additional_derives: [serde::Serialize, serde::Deserialize],
                });
            }

            /// Its `policy` world.
            pub mod policy {
                wasmtime::component::bindgen!({
                    path: $path,
                    world: "engine:plugin/policy",
                    with: {
                        "engine:plugin/types": super::component::engine::plugin::types,
                        "engine:plugin/host": super::component::engine::plugin::host,
                    },
                });
            }

            pub use component::engine::plugin::types as wit;
        }
    };
}

frozen!(
    /// Contract 0.1.0, frozen in `wit/0.1.0`: plugins built against it keep loading.
    v0_1,
    "../../wit/0.1.0"
);
frozen!(
    /// Contract 0.2.0, frozen in `wit/0.2.0`: plugins built against it keep loading.
    v0_2,
    "../../wit/0.2.0"
);
frozen!(
    /// Contract 0.3.0, frozen in `wit/0.3.0`: plugins built against it keep loading.
    v0_3,
    "../../wit/0.3.0"
);

pub use component::engine::plugin::host::LogLevel;
pub use component::engine::plugin::types as wit;

/// The host's own Rego evaluator (`wit/rego/rego.wit`), embedded in the binary:
/// not a plugin contract, so it has no frozen versions.
pub mod rego {
    wasmtime::component::bindgen!({
        path: "../../wit/rego",
        world: "engine:rego/evaluator",
    });
}
