//! `engine import ADDRESS ID PLUGINS...`: bring a resource that exists in AWS under
//! the stack's management.
//!
//! Under the state lock for the whole command: the plugins declare (ADDRESS must be
//! one of theirs, and not in the state yet); the provider turns ID into the read of
//! that kind (`Provider::import_request`) and reads it; its ownership tags are
//! judged (untagged: adopted; another stack's or another address's: refused unless
//! `--force`); the stack's ownership tags are set on it (an update of the live spec
//! to itself, which sets them again); and the state is written once, with the live
//! properties as the resource's inputs, so that the next plan shows exactly where
//! the live resource differs from what is declared. Any refusal writes nothing.

use std::path::PathBuf;

use engine_aws::{OpContext, Ownership, Provider, ReadResult, StackIdentity};
use engine_core::state::ResourceState;
use engine_core::value::replace_refs;
use engine_core::{Address, Diagnostic, Spec, printable};
use serde_json::Value;

use crate::commands::apply::{lock_state, provider, report, tokio};
use crate::commands::plan::{Facts, declare, same_environment};
use crate::{Globals, exit, ui};

/// Options of `engine import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The address a plugin declares the resource at, e.g. `kinesis/transactions`
    #[arg(value_name = "ADDRESS")]
    pub address: String,
    /// The resource as the AWS console names it: an id for what AWS names by id
    /// (vpc-..., subnet-..., sg-..., igw-..., rtb-..., rtbassoc-..., vpce-..., a
    /// KMS key's id or ARN), else its name or ARN (a stream, a secret, a role, a
    /// topic, a bucket, a database's identifier, ...)
    #[arg(value_name = "ID")]
    pub id: String,
    /// Component plugins (.wasm): the stack, which declares ADDRESS
    #[arg(required = true, value_name = "PLUGIN")]
    pub plugins: Vec<PathBuf>,
    /// Import it even though its ownership tags name another stack, or another
    /// address of this one: it is taken over, and its tags then name this stack
    #[arg(long)]
    pub force: bool,
    /// Print what was imported as JSON on stdout
    #[arg(long)]
    pub json: bool,
}

/// `engine import`.
pub fn import(g: &Globals, a: &ImportArgs) -> anyhow::Result<u8> {
    let mut locked = match lock_state(g, "engine import") {
        Ok(l) => l,
        Err(d) => return Ok(report(d)),
    };
    let d = declare(g, &a.plugins, Facts::FromAws)?;
    let Some(graph) = &d.graph else {
        return Ok(exit::ERROR);
    };
    let state = &mut locked.state;
    if let Err(diag) = same_environment(g, &d.cfg, state) {
        return Ok(report(diag));
    }
    let shown = printable::short(&a.address, 200);
    let id = a.id.trim();
    let id_shown = printable::short(id, 200);
    let Some(resource) = Address::parse(&a.address)
        .ok()
        .and_then(|address| graph.resources.get(&address))
    else {
        let names: Vec<String> = graph.resources.keys().map(Address::to_string).collect();
        let diag = Diagnostic::error(format!(
            "no plugin declares `{shown}`; nothing was imported"
        ));
        return Ok(report(
            match engine_core::diag::closest(&a.address, names.iter().map(String::as_str)) {
                Some(near) => diag.hint(format!("did you mean `{near}`?")),
                None => diag.hint("`engine graph PLUGINS...` lists the addresses"),
            },
        ));
    };
    let address = &resource.address;
    let kind = resource.spec.kind();
    if state.resources.contains_key(address) || state.deposed.contains_key(address) {
        return Ok(report(
            Diagnostic::error(format!(
                "`{address}` is already in the state of stack `{}`; nothing was imported",
                g.stack_name
            ))
            .hint(format!(
                "to import another {kind} there, forget this one first: engine state rm {address}"
            )),
        ));
    }
    if id.is_empty() {
        return Ok(report(Diagnostic::error(
            "the ID to import is empty; nothing was imported",
        )));
    }

    // The declared spec, its references resolved from the state where it holds
    // them: reads copy what AWS does not report from it.
    let declared = match resolved(&resource.spec, state) {
        Ok(s) => s,
        Err(e) => return Ok(report(Diagnostic::error(e))),
    };
    let rt = tokio()?;
    let (aws, _calls) = rt.block_on(provider(&d.cfg));
    let request = match aws.import_request(address, &declared, id) {
        Ok(r) => r,
        Err(e) => {
            return Ok(report(
                Diagnostic::error(format!(
                    "cannot import `{id_shown}` as `{address}`; nothing was imported"
                ))
                .detail(format!("{}.", e.message)),
            ));
        }
    };
    let found = rt
        .block_on(aws.read_batch(kind, std::slice::from_ref(&request)))
        .map(|mut r| r.pop());
    let (live, attributes, owner) = match found {
        Ok(Some(ReadResult::Found {
            spec,
            attributes,
            owner,
        })) => (spec, attributes, owner),
        Ok(_) => {
            return Ok(report(
                Diagnostic::error(format!(
                    "no {kind} `{id_shown}` exists in {}; nothing was imported",
                    d.cfg.context.region
                ))
                .address(address)
                .hint("check the id and the stack's region (and endpoint)"),
            ));
        }
        Err(e) => {
            return Ok(report(
                Diagnostic::error(format!(
                    "cannot read the {kind} `{id_shown}`; nothing was imported"
                ))
                .address(address)
                .detail(e.to_string()),
            ));
        }
    };

    // The same live resource recorded at another address.
    let identity = engine_exec::display_id(&attributes);
    if let Some(other) = state.resources.iter().find_map(|(other, r)| {
        (r.kind == kind && identity.is_some() && engine_exec::display_id(&r.attributes) == identity)
            .then_some(other)
    }) {
        return Ok(report(
            Diagnostic::error(format!(
                "the {kind} `{id_shown}` is already in the state of stack `{}`, at `{other}`; \
                 nothing was imported",
                g.stack_name
            ))
            .hint(format!(
                "to manage it at `{address}` instead, move it: engine state mv {other} {address}"
            )),
        ));
    }
    // A reference the read could not replace with a live value: what it refers to
    // must be in the state first.
    let props = live.properties();
    let mut missing = Vec::new();
    engine_core::value::walk_refs(&props, &mut String::new(), &mut |_, r| {
        missing.push(r.resource.to_string())
    });
    if let Some(first) = missing.first() {
        return Ok(report(
            Diagnostic::error(format!(
                "`{address}` refers to `{first}`, which is not in the state; nothing was imported"
            ))
            .hint(format!("import `{first}` first, or apply it")),
        ));
    }

    // Whose it is: untagged is adopted; another stack's, or another address's,
    // only with --force.
    if state.lineage.is_empty() {
        state.lineage = engine_state::new_lineage();
    }
    let me = StackIdentity::new(&d.cfg.context.stack, &state.lineage);
    let taken_over = match me.judge(owner.as_ref(), address, false) {
        Ownership::Ours => None,
        Ownership::Unproven(_) if owner.is_none() => None,
        Ownership::Theirs(why) | Ownership::Unproven(why) => Some(why),
    };
    if let Some(why) = &taken_over {
        if !a.force {
            return Ok(report(
                Diagnostic::error(format!(
                    "refusing to import the {kind} `{id_shown}`: it {why}; nothing was imported"
                ))
                .address(address)
                .hint("manage it from the stack that owns it, or take it over with --force"),
            ));
        }
        eprintln!(
            "warning: taking over the {kind} `{id_shown}`, which {why} (--force)",
            why = printable::line(why)
        );
    }

    // This stack's ownership tags on it: an update of the live spec to itself sets
    // them again. Kinds without tags are judged by what they belong to.
    let attributes = if live.tags().is_some() {
        match rt.block_on(aws.update(address, &live, &live, &attributes, &OpContext::new(me))) {
            Ok(a) => a,
            Err(e) => {
                return Ok(report(
                    Diagnostic::error(format!(
                        "cannot set this stack's ownership tags on the {kind} `{id_shown}`; \
                         nothing was imported"
                    ))
                    .address(address)
                    .detail(e.to_string()),
                ));
            }
        }
    } else {
        attributes
    };

    // Through its serde form, as the state file holds it: what is left out takes
    // its default (ready, its tags naming this address).
    let dependencies: Vec<&Address> = graph
        .dependencies
        .get(address)
        .map(|d| d.iter().collect())
        .unwrap_or_default();
    let record: ResourceState = serde_json::from_value(serde_json::json!({
        "kind": kind,
        "plugin_sha256": d.sha256s().remove(&address.plugin).unwrap_or_default(),
        "inputs": props,
        "attributes": attributes,
        "dependencies": dependencies,
    }))?;
    state.environment = Some(d.cfg.context.environment.clone());
    state.resources.insert(address.clone(), record);
    if let Err(e) = locked.backend.write(&locked.lock, &mut locked.state) {
        return Ok(report(e.diagnostic()));
    }
    if a.json {
        let v = serde_json::json!({
            "address": address.to_string(),
            "kind": kind.as_str(),
            "id": id,
            "attributes": attributes,
            "taken_over": taken_over.is_some(),
        });
        ui::out(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    eprintln!("Imported {address} ({kind}, {id_shown})");
    Ok(exit::OK)
}

/// `spec` with each reference replaced by the attribute the state records for it;
/// a reference to what the state does not hold stays (the read replaces the field
/// with its live value, or the import is refused).
fn resolved(spec: &Spec, state: &engine_core::State) -> Result<Spec, String> {
    let mut props = spec.properties();
    replace_refs(&mut props, &mut |r| {
        let v = state
            .resources
            .get(&r.resource)?
            .attributes
            .get(&r.attribute)?;
        Some(match v {
            Value::String(_) => v.clone(),
            other => Value::String(other.to_string()),
        })
    });
    Spec::from_properties(spec.kind(), props)
        .map_err(|e| format!("the declared {} does not rebuild: {e}", spec.kind()))
}
