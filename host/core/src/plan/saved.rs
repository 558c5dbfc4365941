//! Saved plans: `engine plan --out FILE` writes one, `engine apply FILE` applies it
//! exactly, after [`SavedPlan::check`] confirms that neither the state nor a plugin
//! changed since it was made.
//!
//! The file is normalised JSON: `{"format_version": 1, "engine_version": ...,
//! "plugin_sources": {...}, "plan": {...}}`, the plan in the form documented in
//! [`crate::plan`](mod@crate::plan). The state serial and lineage and the plugins' sha256s it was made
//! against are in the plan (`prior_serial`, `prior_lineage`, `plugins`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Plan;
use crate::state::{State, StateFormatError, check_version, to_normalised_json};

/// A plan written to a file, to be applied later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// [`SavedPlan::FORMAT_VERSION`] when written by this engine.
    pub format_version: u32,
    /// The version of the engine that made it; another version refuses to apply it.
    pub engine_version: String,
    /// Where each plugin was loaded from (plugin name to path, as given), so apply
    /// can hash the same files again.
    pub plugin_sources: BTreeMap<String, String>,
    /// The plan.
    pub plan: Plan,
    /// The stack it was made for; applying it to another is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

/// Why a saved plan cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    /// Not a saved plan, or damaged.
    #[error("the saved plan is not valid: {0}")]
    Invalid(String),
    /// Written by a newer engine.
    #[error(
        "the saved plan has format version {found}, but this engine reads version {supported} at most; \
         apply it with the engine that made it"
    )]
    NewerFormat {
        /// The version in the file.
        found: u64,
        /// [`SavedPlan::FORMAT_VERSION`].
        supported: u32,
    },
    /// Made by another engine version.
    #[error(
        "this plan was made by engine {planned}, and this is engine {current}; \
         run `engine plan --out FILE` again with this engine"
    )]
    EngineVersion {
        /// The version that made it.
        planned: String,
        /// This engine's version.
        current: String,
    },
    /// The state is another stack's (or was recreated).
    #[error(
        "this plan was made for a different state (lineage {planned}, now {current}); \
         run `engine plan --out FILE` again"
    )]
    LineageChanged {
        /// The lineage the plan was made against.
        planned: String,
        /// The current lineage.
        current: String,
    },
    /// The state was written since the plan was made.
    #[error(
        "the state changed since this plan was made (serial {planned}, now {current}); \
         run `engine plan --out FILE` again"
    )]
    StateChanged {
        /// The serial the plan was made against.
        planned: u64,
        /// The current serial.
        current: u64,
    },
    /// A plugin file changed.
    #[error(
        "plugin `{plugin}` changed since this plan was made (sha256 {planned}, now {current}); \
         run `engine plan --out FILE` again"
    )]
    PluginChanged {
        /// The plugin name.
        plugin: String,
        /// Its sha256 when planned (shortened).
        planned: String,
        /// Its sha256 now (shortened).
        current: String,
    },
    /// A plugin of the plan is not loaded now.
    #[error(
        "plugin `{plugin}` was part of this plan but is not loaded now; \
         pass the same plugins, or run `engine plan --out FILE` again"
    )]
    PluginMissing {
        /// The plugin name.
        plugin: String,
    },
    /// A plugin is loaded that the plan did not have.
    #[error(
        "plugin `{plugin}` is loaded now but was not part of this plan; \
         pass the same plugins, or run `engine plan --out FILE` again"
    )]
    PluginAdded {
        /// The plugin name.
        plugin: String,
    },
}

impl SavedPlan {
    /// The saved-plan format this engine reads and writes.
    pub const FORMAT_VERSION: u32 = 1;

    /// Wraps a plan for saving.
    pub fn new(
        plan: Plan,
        engine_version: impl Into<String>,
        plugin_sources: BTreeMap<String, String>,
    ) -> SavedPlan {
        SavedPlan {
            format_version: SavedPlan::FORMAT_VERSION,
            engine_version: engine_version.into(),
            plugin_sources,
            plan,
            stack: None,
        }
    }

    /// The normalised JSON form: keys sorted, two-space indentation, final newline.
    pub fn to_json(&self) -> String {
        to_normalised_json(self)
    }

    /// Parses a saved plan, refusing formats this engine does not read.
    pub fn from_json(text: &str) -> Result<SavedPlan, SavedPlanError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SavedPlanError::Invalid(e.to_string()))?;
        check_version(&value, "format_version", SavedPlan::FORMAT_VERSION).map_err(
            |e| match e {
                StateFormatError::NewerVersion { found, supported } => {
                    SavedPlanError::NewerFormat { found, supported }
                }
                other => SavedPlanError::Invalid(other.to_string()),
            },
        )?;
        serde_json::from_value(value).map_err(|e| SavedPlanError::Invalid(e.to_string()))
    }

    /// Checks that the plan still applies: made by this engine version, against
    /// this very state (lineage and serial), from the same plugins (sha256s of the
    /// plugins loaded now, by name).
    pub fn check(
        &self,
        current: &State,
        plugin_sha256s: &BTreeMap<String, String>,
        engine_version: &str,
    ) -> Result<(), SavedPlanError> {
        if self.engine_version != engine_version {
            return Err(SavedPlanError::EngineVersion {
                planned: self.engine_version.clone(),
                current: engine_version.to_string(),
            });
        }
        let plan = &self.plan;
        if !plan.prior_lineage.is_empty()
            && !current.lineage.is_empty()
            && plan.prior_lineage != current.lineage
        {
            return Err(SavedPlanError::LineageChanged {
                planned: plan.prior_lineage.clone(),
                current: current.lineage.clone(),
            });
        }
        if plan.prior_serial != current.serial || plan.prior_lineage != current.lineage {
            return Err(SavedPlanError::StateChanged {
                planned: plan.prior_serial,
                current: current.serial,
            });
        }
        for (plugin, planned) in &plan.plugins {
            match plugin_sha256s.get(plugin) {
                None => {
                    return Err(SavedPlanError::PluginMissing {
                        plugin: plugin.clone(),
                    });
                }
                Some(now) if now != planned => {
                    return Err(SavedPlanError::PluginChanged {
                        plugin: plugin.clone(),
                        planned: short(planned),
                        current: short(now),
                    });
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = plugin_sha256s
            .keys()
            .find(|p| !plan.plugins.contains_key(*p))
        {
            return Err(SavedPlanError::PluginAdded {
                plugin: extra.clone(),
            });
        }
        Ok(())
    }
}

/// The first 12 hex digits of a sha256, enough to tell two apart in a message.
fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}
