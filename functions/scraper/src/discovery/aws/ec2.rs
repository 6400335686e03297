//! EC2 instances as targets, with Prometheus' `__meta_ec2_*` labels: one target per
//! instance at `private_ip:port` (or `[ipv6]:port` for an IPv6-only instance),
//! every page of DescribeInstances with the entry's filters, availability zone IDs
//! from one DescribeAvailabilityZones call. Instances with no address are skipped, as
//! Prometheus skips them; stopped instances that keep their private IP are targets
//! (their `__meta_ec2_instance_state` says so; filter them with `filters`).

use std::collections::HashMap;

use aws_sdk_ec2::types::{Filter, Instance};
use kubernetes_sd::labels::sanitize_label_name;
use kubernetes_sd::Target;

use super::calls::ApiCalls;
use crate::config::Ec2SdConfig;

/// The highest ENI device index placed in `__meta_ec2_primary_ipv6_addresses`: EC2
/// instances have a few dozen at most, and a larger one from a malformed answer must
/// not size the list (it would allocate a slot per index).
const MAX_DEVICE_INDEX: usize = 255;

/// The separator Prometheus wraps and joins list labels with: `,a,b,`.
const LIST_SEPARATOR: &str = ",";

/// Why the instances could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("ec2:DescribeInstances failed")]
pub struct Ec2Error(#[source] pub aws_sdk_ec2::Error);

/// Lists the instances of `sd` in `region` and hands each one's target to `sink`.
pub async fn discover(
    client: &aws_sdk_ec2::Client,
    sd: &Ec2SdConfig,
    region: &str,
    calls: &mut ApiCalls,
    objects: &mut u64,
    sink: &mut (dyn FnMut(Target) + Send),
) -> Result<(), Ec2Error> {
    let zone_ids = zone_ids(client, calls).await;
    let filters: Vec<Filter> = sd
        .filters
        .iter()
        .map(|f| {
            Filter::builder()
                .name(&f.name)
                .set_values(Some(f.values.clone()))
                .build()
        })
        .collect();
    let mut pages = client
        .describe_instances()
        .set_filters((!filters.is_empty()).then_some(filters))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        calls.count("ec2:DescribeInstances");
        let page = page.map_err(|e| Ec2Error(e.into()))?;
        for reservation in page.reservations() {
            for instance in reservation.instances() {
                *objects += 1;
                let owner = reservation.owner_id();
                if let Some(target) = instance_target(instance, owner, region, sd.port, &zone_ids) {
                    sink(target);
                }
            }
        }
    }
    Ok(())
}

/// Availability zone name to ID. A failure (no permission) is not the entry's: the
/// targets then carry an empty `__meta_ec2_availability_zone_id`, as in Prometheus.
async fn zone_ids(client: &aws_sdk_ec2::Client, calls: &mut ApiCalls) -> HashMap<String, String> {
    calls.count("ec2:DescribeAvailabilityZones");
    match client.describe_availability_zones().send().await {
        Ok(out) => out
            .availability_zones()
            .iter()
            .filter_map(|z| Some((z.zone_name()?.to_string(), z.zone_id()?.to_string())))
            .collect(),
        Err(e) => {
            let error = aws_sdk_ec2::Error::from(e);
            tracing::warn!(error = %function_cli::error_chain(&error), "ec2:DescribeAvailabilityZones failed; availability_zone_id stays empty");
            HashMap::new()
        }
    }
}

/// `,a,b,`: Prometheus' list label format.
fn list_label(items: &[&str]) -> String {
    format!(
        "{LIST_SEPARATOR}{}{LIST_SEPARATOR}",
        items.join(LIST_SEPARATOR)
    )
}

/// One instance's target, or `None` when it has no address.
pub fn instance_target(
    instance: &Instance,
    owner: Option<&str>,
    region: &str,
    port: u16,
    zone_ids: &HashMap<String, String>,
) -> Option<Target> {
    let mut t = Target::new();
    let mut set = |name: &str, value: &str| {
        t.insert(format!("__meta_ec2_{name}"), value.to_string());
    };
    // IPv6: all addresses of the interfaces in a subnet, in API order; the primary
    // ones by device index (empty slots kept); the default one is the first of those.
    let mut subnets: Vec<&str> = Vec::new();
    let mut ipv6: Vec<&str> = Vec::new();
    let mut primary_ipv6: Vec<&str> = Vec::new();
    if instance.vpc_id().is_some() {
        for eni in instance.network_interfaces() {
            let Some(subnet) = eni.subnet_id() else {
                continue;
            };
            if !subnets.contains(&subnet) {
                subnets.push(subnet);
            }
            for address in eni.ipv6_addresses() {
                let Some(text) = address.ipv6_address() else {
                    continue;
                };
                ipv6.push(text);
                if address.is_primary_ipv6() == Some(true) {
                    let index = eni
                        .attachment()
                        .and_then(|a| a.device_index())
                        .and_then(|i| usize::try_from(i).ok())
                        .unwrap_or(0);
                    if index > MAX_DEVICE_INDEX {
                        continue;
                    }
                    if primary_ipv6.len() <= index {
                        primary_ipv6.resize(index + 1, "");
                    }
                    primary_ipv6[index] = text;
                }
            }
        }
    }
    let default_ipv6 = primary_ipv6
        .iter()
        .chain(ipv6.iter())
        .find(|a| !a.is_empty())
        .copied();
    let address = match (instance.private_ip_address(), default_ipv6) {
        (Some(ip), _) => format!("{ip}:{port}"),
        (None, Some(v6)) => format!("[{v6}]:{port}"),
        (None, None) => return None,
    };

    set("instance_id", instance.instance_id().unwrap_or(""));
    set("region", region);
    if let Some(owner) = owner {
        set("owner_id", owner);
    }
    if let Some(ip) = instance.private_ip_address() {
        set("private_ip", ip);
    }
    if let Some(name) = instance.private_dns_name() {
        set("private_dns_name", name);
    }
    if let Some(platform) = instance.platform() {
        set("platform", platform.as_str());
    }
    if let Some(ip) = instance.public_ip_address() {
        set("public_ip", ip);
        set("public_dns_name", instance.public_dns_name().unwrap_or(""));
    }
    set("ami", instance.image_id().unwrap_or(""));
    let zone = instance
        .placement()
        .and_then(|p| p.availability_zone())
        .unwrap_or("");
    set("availability_zone", zone);
    set(
        "availability_zone_id",
        zone_ids.get(zone).map(String::as_str).unwrap_or(""),
    );
    set(
        "instance_state",
        instance
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str())
            .unwrap_or(""),
    );
    set(
        "instance_type",
        instance.instance_type().map(|t| t.as_str()).unwrap_or(""),
    );
    if let Some(lifecycle) = instance.instance_lifecycle() {
        set("instance_lifecycle", lifecycle.as_str());
    }
    if let Some(architecture) = instance.architecture() {
        set("architecture", architecture.as_str());
    }
    if let Some(vpc) = instance.vpc_id() {
        set("vpc_id", vpc);
        set("primary_subnet_id", instance.subnet_id().unwrap_or(""));
        set("subnet_id", &list_label(&subnets));
        if !ipv6.is_empty() {
            set("ipv6_addresses", &list_label(&ipv6));
        }
        if !primary_ipv6.is_empty() {
            set("primary_ipv6_addresses", &list_label(&primary_ipv6));
        }
        if let Some(v6) = default_ipv6 {
            set("default_ipv6_address", v6);
        }
    }
    for tag in instance.tags() {
        if let (Some(key), Some(value)) = (tag.key(), tag.value()) {
            set(&format!("tag_{}", sanitize_label_name(key)), value);
        }
    }
    t.insert("__address__".to_string(), address);
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{
        InstanceIpv6Address, InstanceNetworkInterface, InstanceNetworkInterfaceAttachment,
        InstanceState, InstanceStateName, Placement, Tag,
    };

    fn zones() -> HashMap<String, String> {
        HashMap::from([
            ("azname-a".to_string(), "azid-1".to_string()),
            ("azname-b".to_string(), "azid-2".to_string()),
        ])
    }

    fn eni(device: i32, subnet: Option<&str>, v6: &[(&str, bool)]) -> InstanceNetworkInterface {
        InstanceNetworkInterface::builder()
            .set_subnet_id(subnet.map(str::to_string))
            .attachment(
                InstanceNetworkInterfaceAttachment::builder()
                    .device_index(device)
                    .build(),
            )
            .set_ipv6_addresses(Some(
                v6.iter()
                    .map(|(a, primary)| {
                        InstanceIpv6Address::builder()
                            .ipv6_address(*a)
                            .is_primary_ipv6(*primary)
                            .build()
                    })
                    .collect(),
            ))
            .build()
    }

    #[test]
    fn an_instance_without_an_address_is_no_target() {
        let instance = Instance::builder().instance_id("i-1").build();
        assert_eq!(
            instance_target(&instance, Some("o"), "r", 80, &zones()),
            None
        );
    }

    #[test]
    fn an_instance_outside_a_vpc_has_no_subnet_labels_and_sanitized_tags() {
        let instance = Instance::builder()
            .instance_id("i-novpc")
            .image_id("ami-1")
            .private_ip_address("1.2.3.4")
            .private_dns_name("ip-1-2-3-4")
            .public_ip_address("42.42.42.2")
            .placement(Placement::builder().availability_zone("azname-b").build())
            .state(
                InstanceState::builder()
                    .name(InstanceStateName::Running)
                    .build(),
            )
            .tags(Tag::builder().key("tag-1-key").value("tag-1-value").build())
            .tags(Tag::builder().key("only-key").build())
            .build();
        let t = instance_target(&instance, Some("owner-1"), "eu-west-1", 4242, &zones())
            .expect("target");
        assert_eq!(t["__address__"], "1.2.3.4:4242");
        assert_eq!(t["__meta_ec2_availability_zone_id"], "azid-2");
        assert_eq!(
            t["__meta_ec2_public_dns_name"], "",
            "present with the public IP"
        );
        assert_eq!(t["__meta_ec2_tag_tag_1_key"], "tag-1-value");
        assert_eq!(t["__meta_ec2_owner_id"], "owner-1");
        assert_eq!(t["__meta_ec2_region"], "eu-west-1");
        assert!(!t.contains_key("__meta_ec2_tag_only_key"));
        assert!(!t.contains_key("__meta_ec2_vpc_id"));
        assert!(!t.contains_key("__meta_ec2_subnet_id"));
    }

    #[test]
    fn ipv6_lists_follow_prometheus_order_and_slots() {
        let instance = Instance::builder()
            .instance_id("i-v6")
            .private_ip_address("9.10.11.12")
            .vpc_id("vpc-1")
            .subnet_id("azid-2")
            .network_interfaces(eni(3, Some("azid-2"), &[("2001:db8:2::1:1", false)]))
            .network_interfaces(eni(
                1,
                Some("azid-2"),
                &[("2001:db8:2::2:1", false), ("2001:db8:2::2:2", true)],
            ))
            .network_interfaces(eni(3, Some("azid-1"), &[("2001:db8:2::3:1", true)]))
            .network_interfaces(eni(0, Some("azid-3"), &[]))
            .network_interfaces(eni(2, None, &[("2001:db8:9::1", true)]))
            .build();
        let t = instance_target(&instance, None, "r", 4242, &zones()).expect("target");
        assert_eq!(t["__address__"], "9.10.11.12:4242");
        assert_eq!(
            t["__meta_ec2_ipv6_addresses"],
            ",2001:db8:2::1:1,2001:db8:2::2:1,2001:db8:2::2:2,2001:db8:2::3:1,"
        );
        assert_eq!(
            t["__meta_ec2_primary_ipv6_addresses"],
            ",,2001:db8:2::2:2,,2001:db8:2::3:1,"
        );
        assert_eq!(t["__meta_ec2_default_ipv6_address"], "2001:db8:2::2:2");
        assert_eq!(t["__meta_ec2_subnet_id"], ",azid-2,azid-1,azid-3,");
        assert_eq!(t["__meta_ec2_primary_subnet_id"], "azid-2");
        assert!(!t.contains_key("__meta_ec2_owner_id"));
    }

    #[test]
    fn an_absurd_device_index_does_not_size_the_primary_list() {
        let instance = Instance::builder()
            .instance_id("i-odd")
            .private_ip_address("10.0.0.1")
            .vpc_id("vpc-1")
            .network_interfaces(eni(i32::MAX, Some("s-1"), &[("2001:db8::1", true)]))
            .build();
        let t = instance_target(&instance, None, "r", 80, &zones()).expect("target");
        assert!(
            !t.contains_key("__meta_ec2_primary_ipv6_addresses"),
            "{t:?}"
        );
        assert_eq!(t["__meta_ec2_ipv6_addresses"], ",2001:db8::1,");
    }

    #[test]
    fn an_ipv6_only_instance_is_scraped_at_its_default_ipv6_address() {
        let instance = Instance::builder()
            .instance_id("i-v6only")
            .vpc_id("vpc-1")
            .network_interfaces(eni(0, Some("azid-2"), &[("2001:db8:2::1:1", false)]))
            .build();
        let t = instance_target(&instance, None, "r", 4242, &zones()).expect("target");
        assert_eq!(t["__address__"], "[2001:db8:2::1:1]:4242");
        assert!(!t.contains_key("__meta_ec2_private_ip"));
        assert!(!t.contains_key("__meta_ec2_primary_ipv6_addresses"));
    }
}
