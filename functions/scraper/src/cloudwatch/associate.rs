//! Which tagged resource a CloudWatch metric belongs to, by the service's
//! ARN-to-dimension rules: the rules are tried most dimensions first; a metric whose
//! dimensions fit a rule is the resource with those dimension values (skipped when no
//! discovered resource has them, because it belongs to a resource the search tags
//! excluded); a metric that fits no rule belongs to no resource (`name="global"`).

use std::collections::HashMap;

use super::config::SearchTag;
use super::services::Service;

/// A resource from the Resource Groups Tagging API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// The resource's ARN.
    pub arn: String,
    /// Its tags, key and value.
    pub tags: Vec<(String, String)>,
}

/// A metric from ListMetrics (dimensions sorted by name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MetricId {
    /// The metric name.
    pub name: String,
    /// Its dimensions, name and value, sorted by name.
    pub dimensions: Vec<(String, String)>,
}

/// Where a metric goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Association<'r> {
    /// The metric belongs to this resource.
    Resource(&'r Resource),
    /// The metric belongs to no resource: it is exported with `name="global"`.
    Global,
    /// The metric belongs to a resource that was not found (not tagged as searched, or gone): it is not exported, as YACE does.
    Skip,
}

/// Whether `resource` carries every search tag (key exact, value matching).
pub fn matches_search_tags(resource: &Resource, search_tags: &[SearchTag]) -> bool {
    search_tags.iter().all(|wanted| {
        resource
            .tags
            .iter()
            .any(|(k, v)| *k == wanted.key && wanted.value.is_match(v))
    })
}

/// `dimensionNameRequirements`: the metric has exactly these dimension names (any
/// order); an empty list accepts every metric.
pub fn matches_dimension_requirements(metric: &MetricId, required: &[String]) -> bool {
    required.is_empty()
        || (metric.dimensions.len() == required.len()
            && required
                .iter()
                .all(|r| metric.dimensions.iter().any(|(name, _)| name == r)))
}

/// Resources indexed by the dimension values each rule extracts from their ARNs.
pub struct Associator<'r> {
    service: &'r Service,
    /// (rule index, sorted dimension values) -> resource.
    index: HashMap<(usize, Vec<String>), &'r Resource>,
}

impl<'r> Associator<'r> {
    /// Indexes `resources` by the dimension values each of `service`'s ARN patterns extracts.
    pub fn new(service: &'r Service, resources: &'r [Resource]) -> Associator<'r> {
        let mut index = HashMap::new();
        for resource in resources {
            for (i, pattern) in service.patterns.iter().enumerate() {
                let Some(captures) = pattern.regex.captures(&resource.arn) else {
                    continue;
                };
                let mut pairs: Vec<(String, String)> = pattern
                    .regex
                    .capture_names()
                    .flatten()
                    .filter_map(|n| {
                        Some((n.replace('_', " "), captures.name(n)?.as_str().to_string()))
                    })
                    .collect();
                pairs.sort();
                let values = pairs.into_iter().map(|(_, v)| v).collect();
                index.entry((i, values)).or_insert(resource);
            }
        }
        Associator { service, index }
    }

    /// The resource `metric` belongs to.
    pub fn associate(&self, metric: &MetricId) -> Association<'r> {
        let mut fitted_a_rule = false;
        for (i, pattern) in self.service.patterns.iter().enumerate() {
            let values: Option<Vec<String>> = pattern
                .dimensions
                .iter()
                .map(|name| {
                    metric
                        .dimensions
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| v.clone())
                })
                .collect();
            let Some(values) = values else {
                continue;
            };
            fitted_a_rule = true;
            if let Some(resource) = self.index.get(&(i, values)) {
                return Association::Resource(resource);
            }
        }
        if fitted_a_rule {
            Association::Skip
        } else {
            Association::Global
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::services::lookup;
    use super::*;

    fn metric(name: &str, dims: &[(&str, &str)]) -> MetricId {
        MetricId {
            name: name.into(),
            dimensions: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn resource(arn: &str, tags: &[(&str, &str)]) -> Resource {
        Resource {
            arn: arn.into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn ecs_container_insights_metrics_find_their_service_or_cluster() {
        let (service, _) = lookup("ECS/ContainerInsights").expect("known");
        let resources = vec![
            resource("arn:aws:ecs:eu-west-1:1:cluster/prod", &[("env", "prod")]),
            resource(
                "arn:aws:ecs:eu-west-1:1:service/prod/checkout",
                &[("env", "prod")],
            ),
        ];
        let a = Associator::new(service, &resources);
        let by_service = metric(
            "CpuUtilized",
            &[("ClusterName", "prod"), ("ServiceName", "checkout")],
        );
        assert_eq!(
            a.associate(&by_service),
            Association::Resource(&resources[1])
        );
        let by_cluster = metric("CpuUtilized", &[("ClusterName", "prod")]);
        assert_eq!(
            a.associate(&by_cluster),
            Association::Resource(&resources[0])
        );
        // An untagged service of a tagged cluster: the cluster's rule still fits.
        let other_service = metric(
            "CpuUtilized",
            &[("ClusterName", "prod"), ("ServiceName", "cart")],
        );
        assert_eq!(
            a.associate(&other_service),
            Association::Resource(&resources[0])
        );
        // A cluster that was not discovered (search tags excluded it): skipped.
        let other_cluster = metric(
            "CpuUtilized",
            &[("ClusterName", "staging"), ("ServiceName", "cart")],
        );
        assert_eq!(a.associate(&other_cluster), Association::Skip);
        // No dimension any rule uses: a global series.
        let global = metric("ContainerInstanceCount", &[("TaskDefinitionFamily", "x")]);
        assert_eq!(a.associate(&global), Association::Global);
    }

    #[test]
    fn sqs_and_ec2() {
        let (sqs, _) = lookup("AWS/SQS").expect("known");
        let resources = vec![resource("arn:aws:sqs:eu-west-1:1:orders", &[])];
        let a = Associator::new(sqs, &resources);
        assert_eq!(
            a.associate(&metric(
                "ApproximateNumberOfMessagesVisible",
                &[("QueueName", "orders")]
            )),
            Association::Resource(&resources[0])
        );
        assert_eq!(
            a.associate(&metric("NumberOfMessagesSent", &[("QueueName", "other")])),
            Association::Skip
        );
        let (ec2, _) = lookup("AWS/EC2").expect("known");
        let instances = vec![resource("arn:aws:ec2:eu-west-1:1:instance/i-1", &[])];
        let a = Associator::new(ec2, &instances);
        assert_eq!(
            a.associate(&metric("CPUUtilization", &[("InstanceId", "i-1")])),
            Association::Resource(&instances[0])
        );
        assert_eq!(
            a.associate(&metric(
                "CPUUtilization",
                &[("AutoScalingGroupName", "web")]
            )),
            Association::Global
        );
    }

    #[test]
    fn search_tags_and_dimension_requirements() {
        let tags = vec![SearchTag {
            key: "env".into(),
            value: regex::Regex::new("^(?:prod|staging)$").expect("regex"),
        }];
        assert!(matches_search_tags(
            &resource("a", &[("env", "prod"), ("team", "x")]),
            &tags
        ));
        assert!(!matches_search_tags(
            &resource("a", &[("env", "production")]),
            &tags
        ));
        assert!(
            !matches_search_tags(&resource("a", &[("Env", "prod")]), &tags),
            "keys are exact"
        );
        assert!(matches_search_tags(&resource("a", &[]), &[]));
        let m = metric("CpuUtilized", &[("ClusterName", "a"), ("ServiceName", "b")]);
        assert!(matches_dimension_requirements(&m, &[]));
        assert!(matches_dimension_requirements(
            &m,
            &["ServiceName".into(), "ClusterName".into()]
        ));
        assert!(!matches_dimension_requirements(&m, &["ClusterName".into()]));
    }
}
