//! The region's availability zones: one EC2 `DescribeAvailabilityZones`, read by
//! the CLI before plugins declare, so that subnets go where the region has zones
//! (Tokyo has `ap-northeast-1a`, `-1c` and `-1d`, no `-1b`). Only zones in state
//! `available` of type `availability-zone` count: Local Zones and Wavelength Zones
//! are left out (they offer few services, and must be opted into).
//! <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeAvailabilityZones.html>

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;

use crate::error::{ProviderError, sdk_err};
use crate::provider::Aws;

impl Aws {
    /// The names of the region's available availability zones (no Local or
    /// Wavelength Zones), sorted. Zone names map to physical zones per account,
    /// so the list is the account's view of the region.
    pub async fn availability_zones(&self) -> Result<Vec<String>, ProviderError> {
        let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
        let out = self
            .ec2
            .describe_availability_zones()
            .filters(filter("state", "available"))
            .filters(filter("zone-type", "availability-zone"))
            .send()
            .await
            .map_err(sdk_err("DescribeAvailabilityZones", None))?;
        let mut names: Vec<String> = out
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(str::to_string))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// For each of `services` (endpoint service names such as
    /// `com.amazonaws.us-east-1.kinesis-streams`), the zones of the region where
    /// it offers endpoints, sorted: an interface endpoint can only have subnets in
    /// those (`DescribeVpcEndpointServices`, `ServiceDetail.AvailabilityZones`:
    /// <https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcEndpointServices.html>).
    /// A name the region does not know is an error (`InvalidServiceName`).
    pub async fn endpoint_service_zones(
        &self,
        services: &[String],
    ) -> Result<BTreeMap<String, Vec<String>>, ProviderError> {
        let mut out = BTreeMap::new();
        if services.is_empty() {
            return Ok(out);
        }
        let mut token = None;
        loop {
            let page = self
                .ec2
                .describe_vpc_endpoint_services()
                .set_service_names(Some(services.to_vec()))
                .set_next_token(token)
                .send()
                .await
                .map_err(sdk_err("DescribeVpcEndpointServices", None))?;
            for d in page.service_details() {
                let (Some(name), zones) = (d.service_name(), d.availability_zones()) else {
                    continue;
                };
                if services.iter().any(|s| s == name) {
                    let mut zones = zones.to_vec();
                    zones.sort();
                    zones.dedup();
                    out.insert(name.to_string(), zones);
                }
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use crate::moto::MotoServer;
    use crate::{Aws, ProviderOptions, config::load_sdk_config};

    /// moto knows each region's zones as AWS lists them: Tokyo has no `1b`.
    #[tokio::test]
    async fn zones_come_from_the_region() {
        let moto = MotoServer::shared().expect("moto starts (run `./dev setup`)");
        for (region, want) in [
            (
                "ap-northeast-1",
                &["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"][..],
            ),
            ("us-east-1", &["us-east-1a", "us-east-1b", "us-east-1c"][..]),
        ] {
            let mut options = moto.sdk_options();
            options.region = Some(region.into());
            let aws = Aws::new(&load_sdk_config(&options).await, ProviderOptions::default());
            let zones = aws.availability_zones().await.unwrap();
            let first: Vec<&str> = zones.iter().take(want.len()).map(String::as_str).collect();
            assert_eq!(first, want, "{region}: {zones:?}");
            assert!(zones.windows(2).all(|w| w[0] < w[1]), "sorted: {zones:?}");
        }
    }

    /// An endpoint service lists the zones where it offers endpoints; an unknown
    /// one is refused.
    #[tokio::test]
    async fn endpoint_services_name_their_zones() {
        let moto = MotoServer::shared().expect("moto starts (run `./dev setup`)");
        let mut options = moto.sdk_options();
        options.region = Some("ap-northeast-1".into());
        let aws = Aws::new(&load_sdk_config(&options).await, ProviderOptions::default());
        let kinesis = "com.amazonaws.ap-northeast-1.kinesis-streams".to_string();
        let zones = aws
            .endpoint_service_zones(std::slice::from_ref(&kinesis))
            .await
            .unwrap();
        assert_eq!(zones.keys().collect::<Vec<_>>(), [&kinesis], "{zones:?}");
        assert_eq!(
            zones[&kinesis],
            ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]
        );
        assert!(aws.endpoint_service_zones(&[]).await.unwrap().is_empty());
        let err = aws
            .endpoint_service_zones(&["com.example.nothing".into()])
            .await
            .unwrap_err();
        assert_eq!(err.code.as_deref(), Some("InvalidServiceName"));
    }
}
