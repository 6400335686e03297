//! Which tagged resource a CloudWatch metric belongs to, as YACE's max-dimension
//! associator decides it. Each discovered resource belongs to the first of the
//! service's ARN rules (in the table's order) that matches its ARN; a rule that no
//! discovered resource matched takes no part. The remaining rules are tried most
//! dimensions first: a metric that has all of a rule's dimensions is the resource with
//! those values, or, failing that, tries the next rule. A metric that had a rule's
//! dimensions but matched no resource is skipped (it belongs to a resource the search
//! tags excluded); a metric with no dimensions, or none a taking-part rule uses, is
//! exported as `name="global"`. So an RDS cluster metric is global while no cluster
//! was discovered, and skipped once another cluster was.

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

/// One ARN rule that matched at least one discovered resource.
struct Mapping<'r> {
    /// The rule's dimension names, sorted.
    dimensions: &'r [String],
    /// Resources by their values of those dimensions (in the names' order).
    resources: HashMap<Vec<String>, &'r Resource>,
}

/// Resources indexed by the dimension values their ARN rule extracts.
pub struct Associator<'r> {
    /// Rules that matched a resource, most dimensions first (ties in table order).
    mappings: Vec<Mapping<'r>>,
}

impl<'r> Associator<'r> {
    /// Indexes `resources` under the first of `service`'s ARN rules that matches each.
    pub fn new(service: &'r Service, resources: &'r [Resource]) -> Associator<'r> {
        let mut rules: Vec<_> = service.patterns.iter().collect();
        rules.sort_by_key(|p| p.declared);
        let mut claimed = vec![false; resources.len()];
        let mut mappings = Vec::new();
        for pattern in rules {
            let mut by_values = HashMap::new();
            for (resource, claimed) in resources.iter().zip(claimed.iter_mut()) {
                if *claimed {
                    continue;
                }
                let Some(captures) = pattern.regex.captures(&resource.arn) else {
                    continue;
                };
                let mut pairs: Vec<(String, &str)> = pattern
                    .regex
                    .capture_names()
                    .flatten()
                    .filter_map(|n| Some((n.replace('_', " "), captures.name(n)?.as_str())))
                    .collect();
                pairs.sort();
                let values = pairs.into_iter().map(|(_, v)| v.to_string()).collect();
                // Two resources with the same values: the later one, as in YACE.
                by_values.insert(values, resource);
                *claimed = true;
            }
            if !by_values.is_empty() {
                mappings.push(Mapping {
                    dimensions: &pattern.dimensions,
                    resources: by_values,
                });
            }
        }
        mappings.sort_by_key(|m| std::cmp::Reverse(m.dimensions.len()));
        Associator { mappings }
    }

    /// The resource `metric` belongs to.
    pub fn associate(&self, metric: &MetricId) -> Association<'r> {
        if metric.dimensions.is_empty() {
            return Association::Global;
        }
        let mut fitted_a_rule = false;
        for mapping in &self.mappings {
            let values: Option<Vec<String>> = mapping
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
            if let Some(resource) = mapping.resources.get(&values) {
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
    fn api_gateway_v1_and_v2_as_yace_s_associator_tests_have_them() {
        let (service, _) = lookup("AWS/ApiGateway").expect("known");
        let resources = vec![
            resource("arn:aws:apigateway:us-east-2::/restapis/test-api", &[]),
            resource(
                "arn:aws:apigateway:us-east-2::/restapis/test-api/stages/test",
                &[],
            ),
            resource("arn:aws:apigateway:us-east-2::/apis/98765fghij", &[]),
            resource(
                "arn:aws:apigateway:us-east-2::/apis/98765fghij/stages/$default",
                &[],
            ),
        ];
        let a = Associator::new(service, &resources);
        let cases = [
            (
                vec![("ApiId", "98765fghij")],
                Association::Resource(&resources[2]),
            ),
            (
                vec![("ApiId", "98765fghij"), ("Stage", "$default")],
                Association::Resource(&resources[3]),
            ),
            (
                vec![("ApiName", "test-api"), ("Stage", "test")],
                Association::Resource(&resources[1]),
            ),
            // The stage rule misses, the API rule with fewer dimensions takes it.
            (
                vec![("ApiName", "test-api"), ("Stage", "dev")],
                Association::Resource(&resources[0]),
            ),
        ];
        for (dims, want) in cases {
            assert_eq!(a.associate(&metric("Count", &dims)), want, "{dims:?}");
        }
    }

    #[test]
    fn a_rule_no_discovered_resource_matched_takes_no_part() {
        let (rds, _) = lookup("AWS/RDS").expect("known");
        let instances = vec![resource("arn:aws:rds:eu-west-1:1:db:orders-db", &[])];
        let cluster_metric = metric("VolumeBytesUsed", &[("DBClusterIdentifier", "orders")]);
        // Only instances were discovered: the cluster rule takes no part, so a
        // cluster-level metric is exported as global (YACE does; we used to skip it).
        let a = Associator::new(rds, &instances);
        assert_eq!(a.associate(&cluster_metric), Association::Global);
        assert_eq!(
            a.associate(&metric(
                "CPUUtilization",
                &[("DBInstanceIdentifier", "orders-db")]
            )),
            Association::Resource(&instances[0])
        );
        assert_eq!(
            a.associate(&metric(
                "CPUUtilization",
                &[("DBInstanceIdentifier", "other")]
            )),
            Association::Skip
        );
        // Once another cluster was discovered, the cluster rule takes part: skipped.
        let with_cluster = vec![
            instances[0].clone(),
            resource("arn:aws:rds:eu-west-1:1:cluster:billing", &[]),
        ];
        let a = Associator::new(rds, &with_cluster);
        assert_eq!(a.associate(&cluster_metric), Association::Skip);
        // A metric without dimensions is always global.
        assert_eq!(
            a.associate(&metric("AccountQuota", &[])),
            Association::Global
        );
        // Extra dimensions do not stop a match (Lambda's FunctionName + Resource).
        let (lambda, _) = lookup("AWS/Lambda").expect("known");
        let functions = vec![resource("arn:aws:lambda:eu-west-1:1:function:resize", &[])];
        let a = Associator::new(lambda, &functions);
        assert_eq!(
            a.associate(&metric(
                "Errors",
                &[("FunctionName", "resize"), ("Resource", "resize")]
            )),
            Association::Resource(&functions[0])
        );
    }

    #[test]
    fn search_tags_and_dimension_requirements() {
        let tags = vec![SearchTag {
            key: "env".into(),
            value: regex::Regex::new("^(?:prod|staging)$").expect("regex"),
        }];
        let unanchored = vec![SearchTag {
            key: "env".into(),
            value: regex::Regex::new("prod").expect("regex"),
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
        // YACE matches the value anywhere: `prod` selects `production` and `preprod`.
        for value in ["prod", "production", "preprod"] {
            assert!(matches_search_tags(
                &resource("a", &[("env", value)]),
                &unanchored
            ));
        }
        assert!(!matches_search_tags(
            &resource("a", &[("env", "dev")]),
            &unanchored
        ));
        let m = metric("CpuUtilized", &[("ClusterName", "a"), ("ServiceName", "b")]);
        assert!(matches_dimension_requirements(&m, &[]));
        assert!(matches_dimension_requirements(
            &m,
            &["ServiceName".into(), "ClusterName".into()]
        ));
        assert!(!matches_dimension_requirements(&m, &["ClusterName".into()]));
    }
}
