//! The scale generator of `just bench` (issue 17): declares `generator-count`
//! resources in groups of ten with the references of a real stack, so the planner,
//! the state and the sandbox see what a large team's stack gives them:
//!
//! - a VPC (a /24 of its own in 10.0.0.0/8, so the groups never overlap);
//! - two subnets in it, in two zones;
//! - a security group in it, open to the VPC's CIDR block (a reference);
//! - a KMS key, and an SNS topic encrypted with it (a reference);
//! - four CloudWatch alarms that notify the topic (references).
//!
//! `generator-changed-percent` P changes the threshold of P alarms in every 100
//! resources (P% of the stack, updated in place), so a plan against the state of
//! an apply at P = 0 shows P% of the resources changed.

use engine_sdk::*;

struct Generator;

/// Resources per group.
pub const GROUP: u32 = 10;

const COUNT: IntKey<u32> = IntKey::new(
    "generator-count",
    1000,
    0..=1_000_000,
    "How many resources to declare (in groups of 10: VPC, 2 subnets, security group, \
     KMS key, SNS topic, 4 alarms; the last group is cut short).",
);
const CHANGED: IntKey<u32> = IntKey::new(
    "generator-changed-percent",
    0,
    0..=40,
    "Percent of the resources to change: the threshold of that many alarms in every 100 \
     resources.",
);

impl ComponentPlugin for Generator {
    fn info() -> PluginInfo {
        info!(
            "generator",
            "Declares N resources with realistic references, for benchmarks.",
            [COUNT, CHANGED, PROJECT]
        )
    }

    fn declare(ctx: &Context) -> Result<Stack, String> {
        let count = COUNT.get(ctx)?;
        let changed = CHANGED.get(ctx)?;
        let mut stack = Stack::new();
        let mut left = count;
        let mut group = 0u32;
        while left > 0 {
            let n = left.min(GROUP);
            declare_group(&mut stack, ctx, group, n, changed);
            left -= n;
            group += 1;
        }
        Ok(stack)
    }
}

/// The first `n` resources of group `g`.
fn declare_group(stack: &mut Stack, ctx: &Context, g: u32, n: u32, changed: u32) {
    // One /24 per group: 10.a.b.0/24 (65,536 groups, 655,360 resources).
    let cidr = format!("10.{}.{}.0/24", (g >> 8) & 0xff, g & 0xff);
    let name = |what: &str| format!("g{g}-{what}");
    let mut made = 0;
    let room = |made: &mut u32| {
        *made += 1;
        *made <= n
    };
    if !room(&mut made) {
        return;
    }
    let vpc = stack.add(
        &name("vpc"),
        Vpc {
            cidr_block: cidr.clone(),
            enable_dns_support: true,
            enable_dns_hostnames: true,
            tags: ctx.tags(&[("Name", &name("vpc"))]),
        },
    );
    // Two zones by name: no zone lookup, so a plan makes no AWS call.
    let zones = [format!("{}a", ctx.region), format!("{}b", ctx.region)];
    for (i, half) in ["0/25", "128/25"].iter().enumerate() {
        if !room(&mut made) {
            return;
        }
        let base = cidr.trim_end_matches("0/24");
        stack.add(
            &name(&format!("subnet-{i}")),
            Subnet {
                vpc_id: vpc.attr("id"),
                cidr_block: format!("{base}{half}"),
                availability_zone: zones[i].clone(),
                map_public_ip_on_launch: false,
                tags: ctx.tags(&[("Name", &name(&format!("subnet-{i}")))]),
            },
        );
    }
    if !room(&mut made) {
        return;
    }
    stack.add(
        &name("sg"),
        SecurityGroup {
            name: ctx.named(&name("sg")),
            description: "HTTPS from inside the VPC".into(),
            vpc_id: vpc.attr("id"),
            ingress: vec![SecurityGroupRule::tcp(
                443,
                vec![vpc.attr("cidr-block")],
                "HTTPS from the VPC",
            )],
            egress: vec![],
            tags: ctx.tags(&[("Name", &name("sg"))]),
        },
    );
    if !room(&mut made) {
        return;
    }
    let key = stack.add(
        &name("key"),
        KmsKey {
            description: format!("Encrypts group {g}'s notifications"),
            enable_key_rotation: true,
            deletion_window_days: 7,
            service_principals: vec!["cloudwatch.amazonaws.com".into()],
            tags: ctx.tags(&[("Name", &name("key"))]),
        },
    );
    if !room(&mut made) {
        return;
    }
    let topic = stack.add(
        &name("topic"),
        SnsTopic {
            name: ctx.named(&name("topic")),
            kms_key_id: Some(key.attr("arn")),
            tags: ctx.tags(&[("Name", &name("topic"))]),
        },
    );
    for a in 0..4u32 {
        if !room(&mut made) {
            return;
        }
        // The a-th alarm of group g is alarm 4g+a of the stack; 40 alarms in every
        // 100 resources, of which `changed` get another threshold.
        let index = g * 4 + a;
        let threshold = if index % 40 < changed { 90.0 } else { 80.0 };
        let alarm = name(&format!("alarm-{a}"));
        stack.add(
            &alarm,
            MetricAlarm {
                name: ctx.named(&alarm),
                description: format!("Alarm {a} of group {g}"),
                namespace: "AWS/EC2".into(),
                metric_name: "CPUUtilization".into(),
                dimensions: vec![Dimension {
                    name: "AutoScalingGroupName".into(),
                    value: Text::from(name("asg")),
                }],
                statistic: Statistic::Average,
                period_seconds: 300,
                evaluation_periods: 2,
                threshold,
                comparison_operator: ComparisonOperator::GreaterThanThreshold,
                treat_missing_data: "notBreaching".into(),
                alarm_actions: vec![topic.attr("arn")],
                ok_actions: vec![topic.attr("arn")],
                tags: ctx.tags(&[("Name", &alarm)]),
            },
        );
    }
}

component!(Generator);

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(count: &str, changed: &str) -> Vec<Resource> {
        let ctx = Context::new("bench", "us-east-1", "dev")
            .with_config("generator-count", count)
            .with_config("generator-changed-percent", changed);
        Generator::declare(&ctx).unwrap().resources().to_vec()
    }

    #[test]
    fn declares_exactly_count_resources() {
        for n in [0, 1, 9, 10, 11, 1000, 1234] {
            assert_eq!(declared(&n.to_string(), "0").len(), n, "count {n}");
        }
    }

    #[test]
    fn changes_the_given_percent_of_the_resources() {
        let before = declared("10000", "0");
        let after = declared("10000", "1");
        let differ = before
            .iter()
            .zip(&after)
            .filter(|(a, b)| format!("{a:?}") != format!("{b:?}"))
            .count();
        assert_eq!(differ, 100);
    }

    #[test]
    fn lists_every_key_it_reads() {
        let ctx = Context::new("bench", "us-east-1", "dev");
        assert_eq!(undeclared_keys::<Generator>(&ctx), Vec::<String>::new());
    }
}
