//! A policy plugin that passes everything: a plugin of the other world.

use engine_sdk::*;

struct PassAll;

impl PolicyPlugin for PassAll {
    fn info() -> PluginInfo {
        info!("pass-all", "Passes every plan.")
    }

    fn check(_plan: &PlanView) -> Vec<Violation> {
        Vec::new()
    }
}

policy!(PassAll);
