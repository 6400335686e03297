//! EC2 and ECS discovery against moto (with the ECS patches of
//! `tests/moto/launcher.py`), seeded by `tests/seed_ecs.py`: instances with tags,
//! subnets and several ENIs; clusters, services, Fargate and bridge tasks whose task
//! definitions carry exporter docker labels; a stopped task.
//!
//! EC2 is compared with a real Prometheus (Debian's 2.42, `ec2_sd_configs` pointed at
//! moto): every target's `__address__` and `__meta_ec2_*` labels must be the same.
//! Debian's Prometheus has no `aws_sd_configs`, so ECS is checked against what the
//! seed created, label by label, and end to end through a scrape into Prometheus.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use scraper::config::Config;
use scraper::discovery::discover_job;
use scraper::discovery::report::SdReport;
use serde_json::Value;
use test_support::services as support;

use crate::harness;

type LabelSet = BTreeMap<String, String>;

/// Labels newer than Debian's Prometheus 2.42, which the comparison leaves out: both
/// follow IPv6 primaries, which moto never marks (so they would be absent anyway).
const NEWER_THAN_2_42: [&str; 2] = [
    "__meta_ec2_primary_ipv6_addresses", // Prometheus 2.54 (#14156)
    "__meta_ec2_default_ipv6_address",   // Prometheus 3.12 (#16088)
];

fn seed(moto: &str, extra: &[&str]) -> Value {
    let script = support::workspace_root().join("functions/scraper/tests/seed_ecs.py");
    let out = std::process::Command::new(support::venv_python())
        .arg(script)
        .arg(moto)
        .args(extra)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "seeding failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("seed prints JSON")
}

/// The fields every entry needs to reach moto.
fn moto_access(moto: &str) -> String {
    format!("region: eu-west-1, endpoint: '{moto}', access_key: AKIDEXAMPLE, secret_key: secret")
}

/// Discovers `job_yaml`'s single job as the scraper does; the raw label sets and the
/// entry's report.
async fn discover(job_yaml: &str) -> (Vec<LabelSet>, SdReport) {
    discover_config(&format!(
        "scrape_configs:\n{job_yaml}\nremote_write: [{{url: 'http://127.0.0.1:9/api/v1/write'}}]\n"
    ))
    .await
}

/// [`discover`] for a whole config whose first job has one discovery entry.
async fn discover_config(yaml: &str) -> (Vec<LabelSet>, SdReport) {
    let loaded = Config::from_yaml(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let job = &loaded.config.scrape_configs[0];
    let mut found: Vec<LabelSet> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut reports = discover_job(job, "scrape_configs[0]".into(), deadline, &mut found).await;
    assert_eq!(reports.len(), 1);
    (found, reports.remove(0))
}

fn running_tasks(seeded: &Value, cluster: &str) -> Vec<(String, Value)> {
    let mut tasks = Vec::new();
    for (service, body) in seeded["clusters"][cluster]["services"]
        .as_object()
        .expect("services")
    {
        for task in body["tasks"].as_array().expect("tasks") {
            tasks.push((service.clone(), task.clone()));
        }
    }
    tasks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_targets_and_labels_are_prometheus_own() {
    let moto = support::start_moto().await.expect("moto");
    let seeded = seed(&moto.address, &[]);
    let sd = format!(
        "ec2_sd_configs: [{{{}, port: 9100}}]",
        moto_access(&moto.address)
    );
    let prometheus = support::start_prometheus_with_config(&format!(
        "global: {{scrape_interval: 1h}}\nscrape_configs:\n  - job_name: ec2\n    {sd}\n"
    ))
    .await
    .expect("prometheus");
    let (ours, report) = discover(&format!("  - job_name: ec2\n    {sd}")).await;
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(
        report.calls.get("ec2:DescribeInstances"),
        Some(&1),
        "{report:?}"
    );

    let instances = seeded["instances"].as_object().expect("instances").len();
    let url = format!("{}/api/v1/targets", prometheus.address);
    let started = Instant::now();
    let theirs: Vec<LabelSet> = loop {
        let text = reqwest::get(&url)
            .await
            .expect("GET")
            .text()
            .await
            .expect("body");
        let body: Value = serde_json::from_str(&text).expect("JSON");
        let found: Vec<LabelSet> = body["data"]["activeTargets"]
            .as_array()
            .expect("targets")
            .iter()
            .map(|t| serde_json::from_value(t["discoveredLabels"].clone()).expect("labels"))
            .collect();
        if found.len() >= instances || started.elapsed() > Duration::from_secs(30) {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let keep = |set: &LabelSet| -> LabelSet {
        set.iter()
            .filter(|(k, _)| {
                (k.starts_with("__meta_ec2_") || *k == "__address__")
                    && !NEWER_THAN_2_42.contains(&k.as_str())
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let ours: BTreeSet<LabelSet> = ours.iter().map(keep).collect();
    let theirs: BTreeSet<LabelSet> = theirs.iter().map(keep).collect();
    assert_eq!(ours.len(), instances, "{ours:#?}");
    assert_eq!(ours, theirs);
    // What the comparison covers: several ENIs, public IPs, tags.
    let multi = ours
        .iter()
        .find(|t| t.get("__meta_ec2_tag_Name").map(String::as_str) == Some("multi-1"))
        .expect("multi-1");
    assert_eq!(
        multi["__meta_ec2_subnet_id"].matches(',').count(),
        3,
        "two subnets, Prometheus' ,a,b, format: {multi:?}"
    );
    assert!(multi.contains_key("__meta_ec2_public_ip"), "{multi:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecs_running_tasks_are_targets_with_prometheus_labels() {
    let moto = support::start_moto().await.expect("moto");
    let seeded = seed(&moto.address, &[]);
    let (found, report) = discover(&format!(
        "  - job_name: ecs\n    aws_sd_configs: [{{role: ecs, {}, port: 9779}}]",
        moto_access(&moto.address)
    ))
    .await;
    assert!(report.error.is_none(), "{report:?}");
    let tasks = running_tasks(&seeded, "prod");
    let want: BTreeSet<String> = tasks
        .iter()
        .map(|(_, t)| format!("{}:9779", t["ip"].as_str().expect("ip")))
        .collect();
    let got: BTreeSet<String> = found.iter().map(|t| t["__address__"].clone()).collect();
    assert_eq!(
        got, want,
        "one target per running task, the stopped one skipped"
    );
    assert_eq!(found.len(), tasks.len());
    let stopped: Vec<&str> = seeded["clusters"]["prod"]["stopped_tasks"]
        .as_array()
        .expect("stopped")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!stopped.is_empty());
    assert!(found
        .iter()
        .all(|t| !stopped.contains(&t["__meta_ecs_task_arn"].as_str())));

    let web = &seeded["clusters"]["prod"]["services"]["web"];
    let web_task = web["tasks"][0]["arn"].as_str().expect("arn");
    let t = found
        .iter()
        .find(|t| t["__meta_ecs_task_arn"] == web_task)
        .expect("web task");
    for (name, want) in [
        ("__meta_ecs_cluster", "prod"),
        ("__meta_ecs_service", "web"),
        ("__meta_ecs_task_group", "service:web"),
        ("__meta_ecs_network_mode", "awsvpc"),
        ("__meta_ecs_launch_type", "FARGATE"),
        ("__meta_ecs_region", "eu-west-1"),
        ("__meta_ecs_desired_status", "RUNNING"),
        ("__meta_ecs_tag_cluster_env", "prod"),
        ("__meta_ecs_tag_cluster_team", "shop"),
    ] {
        assert_eq!(
            t.get(name).map(String::as_str),
            Some(want),
            "{name}: {t:#?}"
        );
    }
    assert_eq!(
        t["__meta_ecs_task_definition"],
        web["task_definition"].as_str().expect("definition")
    );
    assert_eq!(
        t["__meta_ecs_cluster_arn"],
        seeded["clusters"]["prod"]["arn"].as_str().expect("arn")
    );
    // A bridge task on an EC2 container instance is reached at its host.
    let node = &seeded["clusters"]["prod"]["services"]["node-exporter"]["tasks"][0];
    let t = found
        .iter()
        .find(|t| t["__meta_ecs_task_arn"] == node["arn"].as_str().expect("arn"))
        .expect("node-exporter task");
    assert_eq!(t["__meta_ecs_network_mode"], "bridge");
    assert_eq!(
        t["__meta_ecs_ec2_instance_id"],
        node["instance_id"].as_str().expect("instance")
    );
    assert_eq!(t["__meta_ecs_ip_address"], node["ip"].as_str().expect("ip"));
    assert_eq!(
        t.get("__meta_ecs_tag_ec2_env").map(String::as_str),
        Some("prod")
    );
    // Batched: one DescribeTasks for the cluster's running tasks, services described
    // by the names the tasks' groups give (four services: one call of up to ten).
    let prod_tasks = tasks.len() as u64;
    assert!(prod_tasks <= 100);
    assert_eq!(
        report.calls.get("ecs:DescribeTasks"),
        Some(&1),
        "{report:?}"
    );
    assert_eq!(
        report.calls.get("ecs:DescribeServices"),
        Some(&1),
        "{report:?}"
    );
    assert_eq!(report.objects_listed, prod_tasks, "{report:?}");
    assert!(!report.calls.contains_key("ecs:DescribeTaskDefinition"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exporter_containers_are_targets_from_their_docker_labels() {
    let moto = support::start_moto().await.expect("moto");
    let seeded = seed(&moto.address, &[]);
    let (found, report) = discover(&format!(
        "  - job_name: ecs\n    aws_sd_configs: [{{role: ecs, clusters: [prod], {}, container_targets: {{}}}}]",
        moto_access(&moto.address)
    ))
    .await;
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(report.objects_malformed, 0, "{report:?}");
    let mut want: BTreeSet<(String, String, String)> = BTreeSet::new();
    for (service, task) in running_tasks(&seeded, "prod") {
        let ip = task["ip"].as_str().expect("ip");
        match service.as_str() {
            "web" => {
                want.insert(("app".into(), format!("{ip}:8080"), "/metrics".into()));
                want.insert((
                    "envoy".into(),
                    format!("{ip}:9901"),
                    "/stats/prometheus".into(),
                ));
            }
            "batch" => {
                want.insert(("batch".into(), format!("{ip}:9090"), "-".into()));
            }
            "node-exporter" => {
                let port = task["host_ports"]
                    .as_object()
                    .and_then(|ports| ports.values().next())
                    .and_then(Value::as_u64)
                    .expect("a dynamic host port");
                want.insert(("node-exporter".into(), format!("{ip}:{port}"), "-".into()));
            }
            _ => {}
        }
    }
    let got: BTreeSet<(String, String, String)> = found
        .iter()
        .map(|t| {
            (
                t["__meta_ecs_container_name"].clone(),
                t["__address__"].clone(),
                t.get("__metrics_path__")
                    .cloned()
                    .unwrap_or_else(|| "-".into()),
            )
        })
        .collect();
    assert_eq!(got, want, "worker has no exporter label: no target");
    let envoy = found
        .iter()
        .find(|t| t["__meta_ecs_container_name"] == "envoy")
        .expect("envoy");
    assert_eq!(envoy["__meta_ecs_service"], "web");
    assert_eq!(envoy["__meta_ecs_container_port"], "9901");
    assert_eq!(
        envoy["__meta_ecs_container_label_PROMETHEUS_EXPORTER_PATH"],
        "/stats/prometheus"
    );
    // Each task definition is described once, however many tasks share it.
    let definitions: BTreeSet<&str> = seeded["clusters"]["prod"]["services"]
        .as_object()
        .expect("services")
        .values()
        .filter_map(|s| s["task_definition"].as_str())
        .collect();
    assert_eq!(
        report.calls.get("ecs:DescribeTaskDefinition").copied(),
        Some(definitions.len() as u64),
        "{report:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_calls_are_batched_by_the_hundred() {
    let moto = support::start_moto().await.expect("moto");
    let seeded = seed(&moto.address, &["--tasks", "250", "--services", "12"]);
    let (found, report) = discover(&format!(
        "  - job_name: ecs\n    aws_sd_configs: [{{role: ecs, clusters: [scale], {}, container_targets: {{}}, role_arn: 'arn:aws:iam::123456789012:role/discovery', external_id: ext-1}}]",
        moto_access(&moto.address)
    ))
    .await;
    // Through an assumed role (moto's STS), as cross-account discovery runs.
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(running_tasks(&seeded, "scale").len(), 250);
    assert_eq!(found.len(), 250, "one exporter container per task");
    let calls = |name: &str| report.calls.get(name).copied().unwrap_or(0);
    assert_eq!(calls("ecs:ListTasks"), 3, "100 per page: {report:?}");
    assert_eq!(calls("ecs:DescribeTasks"), 3, "ceil(250/100): {report:?}");
    assert_eq!(
        calls("ecs:DescribeServices"),
        2,
        "12 services, 10 per call: {report:?}"
    );
    assert_eq!(
        calls("ecs:DescribeTaskDefinition"),
        1,
        "one shared definition: {report:?}"
    );
    assert_eq!(calls("ecs:DescribeClusters"), 1, "{report:?}");
    assert!(
        !report.calls.contains_key("ecs:ListClusters"),
        "clusters are named"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovered_containers_are_scraped_and_a_failed_entry_fails_only_itself() {
    let moto = support::start_moto().await.expect("moto");
    seed(&moto.address, &[]);
    let node = support::start_node_exporter().await.expect("node-exporter");
    let node_address = node.address.trim_start_matches("http://").to_string();
    let prometheus = support::start_prometheus_receiver()
        .await
        .expect("prometheus");
    let closed = format!("http://127.0.0.1:{}", support::free_port());
    // Every discovered container is scraped at the local node-exporter (the task IPs
    // exist only in moto): the envoy containers' /stats/prometheus path answers 404
    // there, the app containers' /metrics answers.
    let config = format!(
        r#"
scrape_configs:
  - job_name: ecs
    aws_sd_configs:
      - {{role: ecs, clusters: [prod], {access}, container_targets: {{}}}}
    relabel_configs:
      - {{source_labels: [__meta_ecs_container_name], regex: 'app|envoy', action: keep}}
      - {{source_labels: [__meta_ecs_container_name], target_label: container}}
      - {{source_labels: [__meta_ecs_task_arn], target_label: task_arn}}
      - {{target_label: __address__, replacement: '{node_address}'}}
  - job_name: broken
    aws_sd_configs:
      - {{role: ecs, region: eu-west-1, endpoint: '{closed}', access_key: a, secret_key: b}}
  - job_name: node
    static_configs: [{{targets: ['{node_address}']}}]
remote_write: [{{url: '{write}'}}]
"#,
        access = moto_access(&moto.address),
        write = prometheus.write_url,
    );
    let run = harness::run_scraper(&config, 60.0).await;
    let summary = &run.summary;
    let reports = summary["target_reports"].as_array().expect("reports");
    let ecs: Vec<&Value> = reports.iter().filter(|r| r["job"] == "ecs").collect();
    assert_eq!(ecs.len(), 4, "two web tasks x app and envoy: {summary}");
    for report in &ecs {
        let url = report["url"].as_str().expect("url");
        let envoy = url.ends_with("/stats/prometheus");
        assert_eq!(report["up"], !envoy, "{report}");
    }
    assert_eq!(harness_up(reports, "node"), Some(true), "{summary}");
    let discovery = summary["discovery"].as_array().expect("discovery");
    let broken = discovery
        .iter()
        .find(|d| d["job"] == "broken")
        .expect("broken entry reported");
    assert!(
        broken["error"]
            .as_str()
            .is_some_and(|e| e.contains("ecs:ListClusters")),
        "{broken}"
    );
    assert_eq!(run.count("discovery_failures"), 1, "{summary}");
    assert!(
        run.success,
        "the run itself succeeds (a retry would scrape again); the entry's error is reported and counted: {}",
        run.stderr
    );
    let up = prometheus
        .query_until_found("up{job=\"ecs\", container=\"app\"}")
        .await
        .expect("query");
    assert_eq!(up.len(), 2, "{up:?}");
    assert!(up
        .iter()
        .all(|(labels, value)| *value == 1.0 && labels.contains_key("task_arn")));
}

fn harness_up(reports: &[Value], job: &str) -> Option<bool> {
    reports.iter().find(|r| r["job"] == job)?["up"].as_bool()
}

/// An example config pointed at moto: its AWS discovery entries get moto's endpoint
/// and test keys after their `region: eu-west-1` line.
fn example_on_moto(path: &str, moto: &str) -> String {
    let text = std::fs::read_to_string(support::workspace_root().join("examples").join(path))
        .expect("example");
    let marker = "        region: eu-west-1\n";
    assert!(text.contains(marker), "{path} names its region");
    text.replace(
        marker,
        &format!("{marker}        endpoint: '{moto}'\n        access_key: AKIDEXAMPLE\n        secret_key: secret\n"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_ec2_and_fargate_setups_find_their_targets() {
    let moto = support::start_moto().await.expect("moto");
    let definition = support::workspace_root()
        .join("examples/setups/fargate-exporter-sidecars/task-definition.json");
    let seeded = seed(
        &moto.address,
        &["--task-definition", &definition.to_string_lossy()],
    );

    // ec2-node-exporter.yaml: the running instances tagged env=prod, at 9100.
    let (found, report) = discover_config(&example_on_moto(
        "scraper/ec2-node-exporter.yaml",
        &moto.address,
    ))
    .await;
    assert!(report.error.is_none(), "{report:?}");
    let names: BTreeSet<&str> = found
        .iter()
        .map(|t| t["__meta_ec2_tag_Name"].as_str())
        .collect();
    let prod: BTreeSet<&str> = seeded["instances"]
        .as_object()
        .expect("instances")
        .iter()
        .filter(|(_, i)| i["env"] == "prod")
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(names, prod, "staging is filtered out by tag");
    assert!(found.iter().all(|t| t["__address__"].ends_with(":9100")));

    // fargate-exporter-sidecars: app and Envoy of each checkout task.
    let (found, report) = discover_config(&example_on_moto(
        "setups/fargate-exporter-sidecars/scraper.yaml",
        &moto.address,
    ))
    .await;
    assert!(report.error.is_none(), "{report:?}");
    assert_eq!(report.objects_malformed, 0, "{report:?}");
    let mut want: BTreeSet<(String, String, String)> = BTreeSet::new();
    for task in seeded["clusters"]["prod"]["services"]["checkout"]["tasks"]
        .as_array()
        .expect("tasks")
    {
        let ip = task["ip"].as_str().expect("ip");
        want.insert((
            format!("{ip}:8080"),
            "/actuator/prometheus".into(),
            "-".into(),
        ));
        want.insert((
            format!("{ip}:9901"),
            "/stats/prometheus".into(),
            "envoy".into(),
        ));
    }
    assert_eq!(want.len(), 4);
    let got: BTreeSet<(String, String, String)> = found
        .iter()
        .filter(|t| t.get("__meta_ecs_service").map(String::as_str) == Some("checkout"))
        .map(|t| {
            (
                t["__address__"].clone(),
                t["__metrics_path__"].clone(),
                t.get("job").cloned().unwrap_or_else(|| "-".into()),
            )
        })
        .collect();
    assert_eq!(got, want, "the log router has no exporter label");
}
