//! The services discovery jobs know: CloudWatch namespace, YACE alias, the
//! Resource Groups Tagging API resource types to list, and how a resource ARN maps
//! to the metric dimensions that identify it (regexes with named groups; `_` in a
//! group name stands for a space in the dimension name). Data, not code: add a
//! service by adding an entry.

use std::sync::OnceLock;

use regex::Regex;

/// One service as written in [`SERVICES`].
pub struct ServiceSpec {
    /// The CloudWatch namespace (`AWS/SQS`).
    pub namespace: &'static str,
    /// YACE's deprecated short name for it (`sqs`), accepted in a job's `type`.
    pub alias: &'static str,
    /// `tag:GetResources` `ResourceTypeFilters`; empty for namespaces whose resources
    /// cannot be tagged (their metrics are all `name="global"`).
    pub resource_types: &'static [&'static str],
    /// ARN -> dimensions; matched against every resource ARN.
    pub arn_patterns: &'static [&'static str],
}

/// The supported services.
pub const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        namespace: "ECS/ContainerInsights",
        alias: "ecs-containerinsights",
        resource_types: &["ecs:cluster", "ecs:service"],
        arn_patterns: &[
            r":cluster/(?P<ClusterName>[^/]+)$",
            r":service/(?P<ClusterName>[^/]+)/(?P<ServiceName>[^/]+)$",
        ],
    },
    ServiceSpec {
        namespace: "AWS/ECS",
        alias: "ecs-svc",
        resource_types: &["ecs:cluster", "ecs:service"],
        arn_patterns: &[
            r":cluster/(?P<ClusterName>[^/]+)$",
            r":service/(?P<ClusterName>[^/]+)/(?P<ServiceName>[^/]+)$",
        ],
    },
    ServiceSpec {
        namespace: "ContainerInsights",
        alias: "containerinsights",
        resource_types: &["eks:cluster"],
        arn_patterns: &[r":cluster/(?P<ClusterName>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/EKS",
        alias: "eks",
        resource_types: &["eks:cluster"],
        arn_patterns: &[r":cluster/(?P<ClusterName>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/EC2",
        alias: "ec2",
        resource_types: &["ec2:instance"],
        arn_patterns: &[r":instance/(?P<InstanceId>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/EBS",
        alias: "ebs",
        resource_types: &["ec2:volume"],
        arn_patterns: &[r":volume/(?P<VolumeId>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/ELB",
        alias: "elb",
        resource_types: &["elasticloadbalancing:loadbalancer"],
        arn_patterns: &[r":loadbalancer/(?P<LoadBalancerName>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/ApplicationELB",
        alias: "alb",
        resource_types: &[
            "elasticloadbalancing:loadbalancer/app",
            "elasticloadbalancing:targetgroup",
        ],
        arn_patterns: &[
            r":(?P<TargetGroup>targetgroup/.+)$",
            r":loadbalancer/(?P<LoadBalancer>app/.+)$",
        ],
    },
    ServiceSpec {
        namespace: "AWS/NetworkELB",
        alias: "nlb",
        resource_types: &[
            "elasticloadbalancing:loadbalancer/net",
            "elasticloadbalancing:targetgroup",
        ],
        arn_patterns: &[
            r":(?P<TargetGroup>targetgroup/.+)$",
            r":loadbalancer/(?P<LoadBalancer>net/.+)$",
        ],
    },
    ServiceSpec {
        namespace: "AWS/SQS",
        alias: "sqs",
        resource_types: &["sqs"],
        arn_patterns: &[r":(?P<QueueName>[^:]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/SNS",
        alias: "sns",
        resource_types: &["sns"],
        arn_patterns: &[r":(?P<TopicName>[^:]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/Lambda",
        alias: "lambda",
        resource_types: &["lambda:function"],
        arn_patterns: &[r":function:(?P<FunctionName>[^:/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/RDS",
        alias: "rds",
        resource_types: &["rds:db", "rds:cluster"],
        arn_patterns: &[
            r":cluster:(?P<DBClusterIdentifier>[^:/]+)$",
            r":db:(?P<DBInstanceIdentifier>[^:/]+)$",
        ],
    },
    ServiceSpec {
        namespace: "AWS/DynamoDB",
        alias: "dynamodb",
        resource_types: &["dynamodb:table"],
        arn_patterns: &[r":table/(?P<TableName>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/ApiGateway",
        alias: "apigateway",
        resource_types: &["apigateway"],
        arn_patterns: &[
            r"/restapis/(?P<ApiName>[^/]+)$",
            r"/restapis/(?P<ApiName>[^/]+)/stages/(?P<Stage>[^/]+)$",
            r"/apis/(?P<ApiId>[^/]+)$",
            r"/apis/(?P<ApiId>[^/]+)/stages/(?P<Stage>[^/]+)$",
        ],
    },
    ServiceSpec {
        namespace: "AWS/Kinesis",
        alias: "kinesis",
        resource_types: &["kinesis:stream"],
        arn_patterns: &[r":stream/(?P<StreamName>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/Firehose",
        alias: "firehose",
        resource_types: &["firehose"],
        arn_patterns: &[r":deliverystream/(?P<DeliveryStreamName>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/S3",
        alias: "s3",
        resource_types: &["s3"],
        arn_patterns: &[r":::(?P<BucketName>[^:/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/ElastiCache",
        alias: "ec",
        resource_types: &["elasticache:cluster", "elasticache:serverlesscache"],
        arn_patterns: &[
            r":cluster:(?P<CacheClusterId>[^:/]+)$",
            r":serverlesscache:(?P<clusterId>[^:/]+)$",
        ],
    },
    ServiceSpec {
        namespace: "AWS/NATGateway",
        alias: "ngw",
        resource_types: &["ec2:natgateway"],
        arn_patterns: &[r":natgateway/(?P<NatGatewayId>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/EFS",
        alias: "efs",
        resource_types: &["elasticfilesystem:file-system"],
        arn_patterns: &[r":file-system/(?P<FileSystemId>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/States",
        alias: "sfn",
        resource_types: &["states"],
        arn_patterns: &[r"^(?P<StateMachineArn>arn:[^:]+:states:.+)$"],
    },
    ServiceSpec {
        namespace: "Glue",
        alias: "glue",
        resource_types: &["glue:job"],
        arn_patterns: &[r":job/(?P<JobName>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "AWS/AutoScaling",
        alias: "asg",
        resource_types: &[],
        arn_patterns: &[r"autoScalingGroupName/(?P<AutoScalingGroupName>[^/]+)$"],
    },
    ServiceSpec {
        namespace: "/aws/sagemaker/TrainingJobs",
        alias: "sagemaker-training",
        resource_types: &["sagemaker:training-job"],
        arn_patterns: &[],
    },
    ServiceSpec {
        namespace: "CWAgent",
        alias: "cwagent",
        resource_types: &[],
        arn_patterns: &[],
    },
    ServiceSpec {
        namespace: "AWS/Usage",
        alias: "usage",
        resource_types: &[],
        arn_patterns: &[],
    },
];

/// A compiled ARN pattern and the dimension names its groups yield (sorted).
pub struct ArnPattern {
    /// The ARN pattern, one capture group per dimension.
    pub regex: Regex,
    /// The dimension names its groups yield, sorted.
    pub dimensions: Vec<String>,
    /// Its place in the service's table: a resource belongs to the first pattern, in
    /// this order, that matches its ARN (YACE's order).
    pub declared: usize,
}

/// A service with compiled patterns.
pub struct Service {
    /// The service as written.
    pub spec: &'static ServiceSpec,
    /// Most dimensions first, as association tries them.
    pub patterns: Vec<ArnPattern>,
}

fn compiled() -> &'static Vec<Service> {
    static SERVICES_COMPILED: OnceLock<Vec<Service>> = OnceLock::new();
    SERVICES_COMPILED.get_or_init(|| {
        SERVICES
            .iter()
            .map(|spec| {
                let mut patterns: Vec<ArnPattern> = spec
                    .arn_patterns
                    .iter()
                    // The table is constant and every entry is compiled by a test.
                    .filter_map(|p| Regex::new(p).ok())
                    .enumerate()
                    .map(|(declared, regex)| {
                        let mut dimensions: Vec<String> = regex
                            .capture_names()
                            .flatten()
                            .map(|n| n.replace('_', " "))
                            .collect();
                        dimensions.sort();
                        ArnPattern {
                            regex,
                            dimensions,
                            declared,
                        }
                    })
                    .collect();
                patterns.sort_by_key(|p| std::cmp::Reverse(p.dimensions.len()));
                Service { spec, patterns }
            })
            .collect()
    })
}

/// The service for a discovery job's `type`: a namespace, or a YACE alias (second
/// value `true`).
pub fn lookup(job_type: &str) -> Option<(&'static Service, bool)> {
    let all = compiled();
    all.iter()
        .find(|s| s.spec.namespace == job_type)
        .map(|s| (s, false))
        .or_else(|| {
            all.iter()
                .find(|s| s.spec.alias == job_type)
                .map(|s| (s, true))
        })
}

/// For [`super::config::YaceConfig::from_file`].
pub fn resolve(job_type: &str) -> Option<(String, bool)> {
    lookup(job_type).map(|(s, alias)| (s.spec.namespace.to_string(), alias))
}

impl Service {
    /// Dimensions an ARN stands for, by the first (most specific) pattern that
    /// matches: `(dimension names sorted, values in the same order)`.
    pub fn arn_dimensions(&self, arn: &str) -> Option<Vec<(String, String)>> {
        self.patterns.iter().find_map(|p| {
            let captures = p.regex.captures(arn)?;
            let mut pairs: Vec<(String, String)> = p
                .regex
                .capture_names()
                .flatten()
                .filter_map(|name| {
                    Some((
                        name.replace('_', " "),
                        captures.name(name)?.as_str().to_string(),
                    ))
                })
                .collect();
            pairs.sort();
            Some(pairs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_names_are_unique() {
        let mut namespaces = std::collections::BTreeSet::new();
        for spec in SERVICES {
            assert!(
                namespaces.insert(spec.namespace),
                "{} twice",
                spec.namespace
            );
            for p in spec.arn_patterns {
                let regex =
                    Regex::new(p).unwrap_or_else(|e| panic!("{}: {p}: {e}", spec.namespace));
                assert!(
                    regex.capture_names().flatten().count() > 0,
                    "{p} has no named group"
                );
            }
        }
        assert_eq!(compiled().len(), SERVICES.len());
    }

    #[test]
    fn the_issue_services_are_covered() {
        for ns in [
            "ECS/ContainerInsights",
            "AWS/ECS",
            "AWS/EC2",
            "AWS/ELB",
            "AWS/ApplicationELB",
            "AWS/NetworkELB",
            "AWS/SQS",
            "AWS/Lambda",
            "AWS/RDS",
            "AWS/DynamoDB",
            "AWS/ApiGateway",
            "AWS/Kinesis",
            "AWS/S3",
            "ContainerInsights",
            "AWS/ElastiCache",
        ] {
            assert!(lookup(ns).is_some(), "{ns}");
        }
        assert_eq!(
            resolve("ecs-containerinsights"),
            Some(("ECS/ContainerInsights".into(), true))
        );
        assert_eq!(resolve("AWS/SQS"), Some(("AWS/SQS".into(), false)));
        assert_eq!(resolve("AWS/Nope"), None);
    }

    #[test]
    fn arns_become_dimensions() {
        let cases = [
            ("ECS/ContainerInsights", "arn:aws:ecs:eu-west-1:123456789012:service/prod/checkout", vec![("ClusterName", "prod"), ("ServiceName", "checkout")]),
            ("ECS/ContainerInsights", "arn:aws:ecs:eu-west-1:123456789012:cluster/prod", vec![("ClusterName", "prod")]),
            ("AWS/EC2", "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc", vec![("InstanceId", "i-0abc")]),
            ("AWS/SQS", "arn:aws:sqs:eu-west-1:123456789012:orders", vec![("QueueName", "orders")]),
            ("AWS/Lambda", "arn:aws:lambda:eu-west-1:123456789012:function:resize", vec![("FunctionName", "resize")]),
            ("AWS/RDS", "arn:aws:rds:eu-west-1:123456789012:db:orders-db", vec![("DBInstanceIdentifier", "orders-db")]),
            ("AWS/DynamoDB", "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders", vec![("TableName", "Orders")]),
            ("AWS/ApiGateway", "arn:aws:apigateway:eu-west-1::/restapis/shop/stages/prod", vec![("ApiName", "shop"), ("Stage", "prod")]),
            ("AWS/Kinesis", "arn:aws:kinesis:eu-west-1:123456789012:stream/clicks", vec![("StreamName", "clicks")]),
            ("AWS/S3", "arn:aws:s3:::my-bucket", vec![("BucketName", "my-bucket")]),
            ("AWS/ElastiCache", "arn:aws:elasticache:eu-west-1:123456789012:cluster:cache-001", vec![("CacheClusterId", "cache-001")]),
            ("AWS/ApplicationELB", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188", vec![("LoadBalancer", "app/web/50dc6c495c0c9188")]),
            ("AWS/ApplicationELB", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/73e2d6bc24d8a067", vec![("TargetGroup", "targetgroup/web/73e2d6bc24d8a067")]),
            ("AWS/ELB", "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/classic-web", vec![("LoadBalancerName", "classic-web")]),
            ("ContainerInsights", "arn:aws:eks:eu-west-1:123456789012:cluster/main", vec![("ClusterName", "main")]),
        ];
        for (ns, arn, want) in cases {
            let (service, _) = lookup(ns).expect("known");
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            assert_eq!(service.arn_dimensions(arn), Some(want), "{ns} {arn}");
        }
        let (alb, _) = lookup("AWS/ApplicationELB").expect("known");
        assert_eq!(
            alb.arn_dimensions("arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/net/x/1"),
            None
        );
    }
}
