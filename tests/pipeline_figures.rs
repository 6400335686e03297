//! The pipeline's own figures reach AMP: the EMF metrics the alarm-handler and the
//! scaler publish, the customNamespace job the stack deploys to collect them
//! (`PipelineFiguresConfigParameter`, on its own 5-minute schedule), and the example
//! the docs and the demo use (`examples/scraper/pipeline-figures.yaml`) must all name
//! the same metrics, or a dashboard panel silently stays empty.

use std::collections::{BTreeMap, BTreeSet};

use function_cli::Figures;
use serde_json::Value;

use crate::template_shape::{find, resolved, template};

/// Every metric name the two functions publish, and whether it is a duration.
fn published() -> BTreeSet<String> {
    let mut handler = alarm_handler::Summary::default();
    // One receiver with each outcome, so the per-receiver sets are there too.
    handler.deliveries.per_receiver.insert("ops".into(), 1);
    handler.deliveries.duplicate("ops");
    handler.deliveries.fail("ops");
    let scaler = scaler::summary::Summary::default();
    let api = alarm_handler::invocation::Outcome::Api(alarm_handler::invocation::ApiOutcome {
        request: "GET /api/v2/status".into(),
        response: alarm_handler::api::ApiResponse::empty(200),
    });
    let mut names = BTreeSet::new();
    for set in handler
        .figures()
        .into_iter()
        .chain(api.figures())
        .chain(scaler.figures())
    {
        for (name, _, _) in set.values {
            names.insert(name.to_string());
        }
    }
    names
}

/// `metric name -> statistics` of the config's one customNamespace job.
fn collected(config_text: &str) -> (Value, BTreeMap<String, Vec<String>>) {
    let config: Value = yaml_serde::from_str(config_text).expect("YAML");
    let jobs = config["cloudwatch"]["customNamespace"]
        .as_array()
        .expect("customNamespace jobs");
    assert_eq!(jobs.len(), 1, "{config}");
    let job = &jobs[0];
    assert_eq!(job["namespace"], function_cli::emf::NAMESPACE);
    let metrics = job["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .map(|m| {
            let stats = m["statistics"]
                .as_array()
                .expect("statistics")
                .iter()
                .map(|s| s.as_str().expect("statistic").to_string())
                .collect();
            (m["name"].as_str().expect("name").to_string(), stats)
        })
        .collect();
    (config, metrics)
}

#[test]
fn the_deployed_job_and_the_example_collect_exactly_what_the_functions_publish() {
    let resources = resolved(&template(), &[("ConfigParameterPrefix", "/pipe")]);
    let parameter = &find(&resources, "PipelineFiguresConfigParameter")["Properties"];
    assert_eq!(parameter["Name"], "/pipe/scraper/pipeline-figures");
    let deployed_text = parameter["Value"].as_str().expect("value");
    scraper::config::Config::from_yaml(deployed_text)
        .unwrap_or_else(|e| panic!("{e}\n{deployed_text}"));
    let example_path = crate::repository_root().join("examples/scraper/pipeline-figures.yaml");
    let example_text = std::fs::read_to_string(&example_path).expect("example");
    scraper::config::Config::from_yaml(&example_text).unwrap_or_else(|e| panic!("{e}"));

    let (deployed, deployed_metrics) = collected(deployed_text);
    let (example, example_metrics) = collected(&example_text);
    let names: BTreeSet<String> = deployed_metrics.keys().cloned().collect();
    assert_eq!(names, published(), "deployed job vs published figures");
    assert_eq!(deployed_metrics, example_metrics, "deployed job vs example");
    assert_eq!(
        deployed_metrics.get("DurationMs"),
        Some(&vec!["Sum".to_string(), "Maximum".to_string()]),
        "the dashboard shows the slowest invocation and the mean"
    );
    // Same job settings apart from where it runs.
    let settings = |config: &Value| {
        let mut job = config["cloudwatch"]["customNamespace"][0].clone();
        if let Some(job) = job.as_object_mut() {
            job.remove("regions");
            job.remove("metrics");
        }
        (job, config["scraper"].clone())
    };
    assert_eq!(settings(&deployed), settings(&example));
    assert_eq!(deployed["scraper"]["schedule_interval"], "5m");
}

#[test]
fn the_figures_have_their_own_five_minute_schedule_and_can_be_left_out() {
    let resources = resolved(&template(), &[("ConfigParameterPrefix", "/pipe")]);
    let schedule = &find(&resources, "PipelineFiguresSchedule")["Properties"];
    assert_eq!(schedule["ScheduleExpression"], "rate(5 minutes)");
    let input: Value = serde_json::from_str(
        schedule["Target"]["Input"]
            .as_str()
            .expect("schedule input"),
    )
    .expect("JSON input");
    assert_eq!(
        input["config_ssm_parameter"],
        "/pipe/scraper/pipeline-figures"
    );
    assert_eq!(input["time"], "<aws.scheduler.scheduled-time>");

    let without = resolved(&template(), &[("PipelineFigures", "false")]);
    for id in ["PipelineFiguresSchedule", "PipelineFiguresConfigParameter"] {
        assert!(
            without.iter().all(|(i, _)| i != id),
            "{id} exists with PipelineFigures=false"
        );
    }
}
