//! Facts the host reads from AWS for the plugins before they declare, put in the
//! context's config under keys with the `aws:` prefix (which users cannot set).
//!
//! - `aws:availability-zones`: the region's available availability zones (EC2
//!   `DescribeAvailabilityZones`, sorted, comma-separated), so that plugins put
//!   subnets where the region has zones (Tokyo has `ap-northeast-1a`, `-1c` and
//!   `-1d`; no `-1b`). The guest SDK's `ContextExt::availability_zones` reads it.
//! - `aws:availability-zones:SERVICE`, for each interface endpoint service the
//!   plugins declare an endpoint of (`com.amazonaws.REGION.kinesis-streams`): the
//!   zones where the service offers endpoints (EC2 `DescribeVpcEndpointServices`),
//!   since an endpoint's subnets must be in those. Known only once the plugins
//!   have declared, so they declare again with it; the SDK's
//!   `ContextExt::availability_zones_offering` reads it.
//!
//! - `engine plan` and `engine apply` read it once, bounded by [`LOOKUP_BOUND`],
//!   unless the user pinned the zones (`availability-zones` in engine.toml's
//!   `[config]`, or `-c availability-zones=...`) or no plugin reads them
//!   ([`needs_zones`]): then no AWS call is made.
//! - When AWS cannot be asked (no credentials, offline, no permission), one
//!   warning line says so and how to pin the zones, and the plugins use their
//!   defaults (`{region}a`, `{region}b`, ...).
//! - `validate`, `graph` and `check` stay offline: the plugins use their defaults.
//! - A saved plan holds the resolved specs, zones included: `engine apply FILE`
//!   applies exactly them and reads nothing.

use std::collections::BTreeMap;
use std::time::Duration;

use engine_aws::{Aws, ProviderOptions, load_sdk_config};

use crate::config::Config;
use crate::ui;

/// The config key with which the user pins the zones.
pub const ZONES_PIN: &str = "availability-zones";
/// The fact's key.
pub const ZONES_FACT: &str = "aws:availability-zones";
/// The prefix of every fact's key, reserved for the host.
pub const PREFIX: &str = "aws:";
/// The prefix of the per-service facts: `aws:availability-zones:SERVICE`.
pub const SERVICE_ZONES_FACT: &str = "aws:availability-zones:";
/// How long reading the zones may take before the plugins' defaults are used.
pub const LOOKUP_BOUND: Duration = Duration::from_secs(3);

/// Whether a stack of plugins that list `keys` needs the region's zones: one of
/// them reads the zones key, or predates config keys (a contract before 0.3.0
/// does not say what it reads). A stack that does not is planned without an AWS
/// call for them (a 100,000-resource plan should not wait on credentials).
pub fn needs_zones(keys: &[engine_core::config::PluginKeys]) -> bool {
    keys.iter().any(|p| {
        p.keys
            .as_ref()
            .is_none_or(|keys| keys.iter().any(|k| k.name == ZONES_PIN))
    })
}

/// `engine plan`: reads the zones into `ctx` with an SDK config of its own (the
/// standard chain, `options`' region), unless they are pinned.
pub fn add_zones_from_env(ctx: &mut engine_core::Context, options: &engine_aws::SdkOptions) {
    let options = options.clone();
    add_zones_with(ctx, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        rt.block_on(bounded("DescribeAvailabilityZones", LOOKUP_BOUND, async {
            let sdk = load_sdk_config(&options).await;
            Aws::new(&sdk, ProviderOptions::default())
                .availability_zones()
                .await
        }))
    });
}

/// `engine apply`: reads the zones with the provider the apply uses, unless
/// they are pinned. Whether the fact was added (then the plugins declare again).
pub fn add_zones(cfg: &mut Config, rt: &tokio::runtime::Runtime, aws: &Aws) -> bool {
    add_zones_with(&mut cfg.context, || {
        rt.block_on(bounded(
            "DescribeAvailabilityZones",
            LOOKUP_BOUND,
            aws.availability_zones(),
        ))
    })
}

fn add_zones_with(
    ctx: &mut engine_core::Context,
    lookup: impl FnOnce() -> Result<Vec<String>, String>,
) -> bool {
    let region = ctx.region.clone();
    if let Some(warning) = zones_fact(&mut ctx.config, &region, lookup) {
        ui::warning(&warning);
    }
    ctx.config.contains_key(ZONES_FACT)
}

/// The services of the interface endpoints `graph` declares, sorted.
pub fn endpoint_services(graph: &engine_core::Graph) -> Vec<String> {
    let mut services: Vec<String> = graph
        .resources
        .values()
        .filter_map(|r| match &r.spec {
            engine_core::Spec::VpcEndpoint(e)
                if e.endpoint_type == engine_core::model::VpcEndpointType::Interface =>
            {
                Some(e.service_name.clone())
            }
            _ => None,
        })
        .collect();
    services.sort();
    services.dedup();
    services
}

/// `engine plan`: after a first declaration, the zones of the endpoint services
/// it names, with an SDK config of its own. Whether a fact was added (then the
/// plugins declare again).
pub fn add_service_zones_from_env(cfg: &mut Config, services: &[String]) -> bool {
    let options = cfg.sdk_options();
    add_service_zones_with(cfg, services, |services| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        rt.block_on(bounded(
            "DescribeVpcEndpointServices",
            LOOKUP_BOUND,
            async {
                let sdk = load_sdk_config(&options).await;
                Aws::new(&sdk, ProviderOptions::default())
                    .endpoint_service_zones(services)
                    .await
            },
        ))
    })
}

/// `engine apply`: the same with the provider the apply uses.
pub fn add_service_zones(
    cfg: &mut Config,
    services: &[String],
    rt: &tokio::runtime::Runtime,
    aws: &Aws,
) -> bool {
    add_service_zones_with(cfg, services, |services| {
        rt.block_on(bounded(
            "DescribeVpcEndpointServices",
            LOOKUP_BOUND,
            aws.endpoint_service_zones(services),
        ))
    })
}

fn add_service_zones_with<T>(
    cfg: &mut Config,
    services: &[String],
    lookup: impl FnOnce(&[String]) -> Result<T, String>,
) -> bool
where
    T: IntoIterator<Item = (String, Vec<String>)>,
{
    let config = &mut cfg.context.config;
    // Only with the region's zones read: pinned zones are the user's choice, and
    // when AWS could not be asked for those it has been said once. Facts already
    // known are not read again.
    if !config.contains_key(ZONES_FACT) {
        return false;
    }
    let wanted: Vec<String> = services
        .iter()
        .filter(|s| !config.contains_key(&format!("{SERVICE_ZONES_FACT}{s}")))
        .cloned()
        .collect();
    if wanted.is_empty() {
        return false;
    }
    match lookup(&wanted) {
        Ok(found) => {
            let mut added = false;
            for (service, zones) in found {
                if !zones.is_empty() {
                    config.insert(format!("{SERVICE_ZONES_FACT}{service}"), zones.join(","));
                    added = true;
                }
            }
            added
        }
        Err(why) => {
            ui::warning(&format!(
                "could not read which zones offer {} from AWS: {why}. The plugins use the \
                 region's zones; pin them with `-c {ZONES_PIN}=ZONE,ZONE` if an endpoint \
                 is refused.",
                wanted.join(", ")
            ));
            false
        }
    }
}

/// The lookup, cut at `bound`, its error as one line.
async fn bounded<T>(
    operation: &str,
    bound: Duration,
    lookup: impl Future<Output = Result<T, engine_aws::ProviderError>>,
) -> Result<T, String> {
    match tokio::time::timeout(bound, lookup).await {
        Ok(Ok(zones)) => Ok(zones),
        Ok(Err(e)) if e.code.as_deref() == Some("NoCredentials") => Err(e.message),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("{operation}: no answer within {bound:?}")),
    }
}

/// Puts the zones `lookup` finds into `config` as [`ZONES_FACT`], unless
/// [`ZONES_PIN`] is set (then `lookup` is not called). Returns the warning to
/// show when the lookup failed.
fn zones_fact(
    config: &mut BTreeMap<String, String>,
    region: &str,
    lookup: impl FnOnce() -> Result<Vec<String>, String>,
) -> Option<String> {
    if config.contains_key(ZONES_PIN) {
        return None;
    }
    let why = match lookup() {
        Ok(zones) if !zones.is_empty() => {
            tracing::debug!(region, ?zones, "availability zones");
            config.insert(ZONES_FACT.to_string(), zones.join(","));
            return None;
        }
        Ok(_) => "AWS lists no available zone".to_string(),
        Err(e) => e,
    };
    Some(format!(
        "could not read the availability zones of {region} from AWS: {why}. The plugins use \
         their defaults ({region}a, {region}b, ...); pin the zones with \
         `-c {ZONES_PIN}=ZONE,ZONE` or `{ZONES_PIN}` in engine.toml [config]."
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use engine_core::config::{ConfigKey, ConfigType, PluginKeys};

    #[test]
    fn zones_are_read_only_for_a_stack_with_a_plugin_that_reads_them() {
        let key = |name: &str| ConfigKey {
            name: name.into(),
            description: String::new(),
            ty: ConfigType::Text,
            default: None,
        };
        let plugin = |keys: Option<Vec<ConfigKey>>| PluginKeys {
            plugin: "p".into(),
            keys,
        };
        let generator = plugin(Some(vec![key("generator-count")]));
        let vpc = plugin(Some(vec![key("vpc-cidr"), key(ZONES_PIN)]));
        let older = plugin(None); // before 0.3.0: what it reads is not known
        assert!(!needs_zones(&[]));
        assert!(!needs_zones(std::slice::from_ref(&generator)));
        assert!(needs_zones(&[generator.clone(), vpc]));
        assert!(needs_zones(&[generator, older]));
    }

    #[test]
    fn the_zones_read_become_the_fact() {
        let mut config = BTreeMap::from([("vpc-cidr".to_string(), "10.1.0.0/16".to_string())]);
        let warning = zones_fact(&mut config, "ap-northeast-1", || {
            Ok(vec![
                "ap-northeast-1a".into(),
                "ap-northeast-1c".into(),
                "ap-northeast-1d".into(),
            ])
        });
        assert_eq!(warning, None);
        assert_eq!(
            config[ZONES_FACT],
            "ap-northeast-1a,ap-northeast-1c,ap-northeast-1d"
        );
        assert_eq!(config["vpc-cidr"], "10.1.0.0/16");
    }

    #[test]
    fn pinned_zones_win_without_asking_aws() {
        let mut config = BTreeMap::from([(ZONES_PIN.to_string(), "us-east-1c,us-east-1d".into())]);
        let warning = zones_fact(&mut config, "us-east-1", || {
            panic!("pinned zones make no AWS call")
        });
        assert_eq!(warning, None);
        assert!(!config.contains_key(ZONES_FACT));
    }

    #[test]
    fn a_failed_lookup_warns_once_and_leaves_the_defaults() {
        let mut config = BTreeMap::new();
        let warning = zones_fact(&mut config, "ap-northeast-1", || {
            Err("no AWS credentials were found".into())
        })
        .unwrap();
        assert!(config.is_empty(), "no fact: the plugins' defaults");
        assert!(!warning.contains('\n'), "one line: {warning}");
        assert!(
            warning.starts_with(
                "could not read the availability zones of ap-northeast-1 from AWS: no AWS \
                 credentials were found. The plugins use their defaults (ap-northeast-1a, \
                 ap-northeast-1b, ...)"
            ) && warning.contains("-c availability-zones=ZONE,ZONE"),
            "{warning}"
        );
        let warning = zones_fact(&mut config, "us-east-1", || Ok(vec![])).unwrap();
        assert!(warning.contains("AWS lists no available zone"), "{warning}");
        assert!(config.is_empty());
    }

    #[test]
    fn the_zones_of_each_endpoint_service_become_facts_once() {
        let mut cfg = crate::config::Config::for_tests("ap-northeast-1");
        cfg.context
            .config
            .insert(ZONES_FACT.into(), "ap-northeast-1a,ap-northeast-1c".into());
        let kinesis = "com.amazonaws.ap-northeast-1.kinesis-streams".to_string();
        let services = std::slice::from_ref(&kinesis);
        let added = add_service_zones_with(&mut cfg, services, |asked| {
            assert_eq!(asked, services);
            Ok(vec![(
                kinesis.clone(),
                vec!["ap-northeast-1a".to_string(), "ap-northeast-1c".to_string()],
            )])
        });
        assert!(added);
        assert_eq!(
            cfg.context.config[&format!("{SERVICE_ZONES_FACT}{kinesis}")],
            "ap-northeast-1a,ap-northeast-1c"
        );
        // Known facts are not read again; pinned zones (or none read) make no call.
        let again = add_service_zones_with(&mut cfg, services, |_| -> Result<Vec<_>, _> {
            panic!("read again")
        });
        assert!(!again);
        let mut pinned = crate::config::Config::for_tests("ap-northeast-1");
        pinned
            .context
            .config
            .insert(ZONES_PIN.into(), "ap-northeast-1a,ap-northeast-1c".into());
        assert!(!add_service_zones_with(
            &mut pinned,
            services,
            |_| -> Result<Vec<_>, _> { panic!("pinned") }
        ));
    }

    /// The bound holds even when AWS never answers.
    #[test]
    fn a_lookup_that_hangs_is_cut_at_the_bound() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let bound = Duration::from_millis(20);
        let err = rt
            .block_on(bounded(
                "DescribeAvailabilityZones",
                bound,
                std::future::pending::<Result<(), _>>(),
            ))
            .unwrap_err();
        assert_eq!(err, "DescribeAvailabilityZones: no answer within 20ms");
    }
}
