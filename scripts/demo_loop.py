#!/usr/bin/env python3
"""The pipeline's whole loop on the local stack, narrated hop by hop (scripts/demo.sh).

Started here, on loopback, in a temporary directory, and stopped on exit:
moto (SNS, SQS, CloudWatch, DynamoDB, S3, STS: the AWS stand-in), the Kubernetes API
stand-in (tests/k8s_standin/) holding HPA orders/consumer (maxReplicas 10),
Debian's Prometheus (remote-write receiver, the AMP stand-in, evaluating one alert
rule), Alertmanager (publishing to SNS), node-exporter, and a small "app" exporter
whose orders_queue_depth the demo turns up and down, and whose
orders_batch_in_progress is exposed for one scrape only. The scraper keeps its run
state (scraper.state) in an S3 bucket on moto and writes a staleness marker for that
series when it is gone.

The three functions run as their release binaries on the command line, each on the
event Lambda would hand it: the scraper on a scheduled event, the alarm-handler and
the scaler on SNS events built from what their topics delivered to SQS subscriptions.
A maintenance silence is created through the alarm-handler's Alertmanager API (the
Function URL event Lambda would pass it) and mutes the alarm when it fires again.
Their EMF figures go to CloudWatch (moto) the way CloudWatch Logs extracts them, and
the last scraper run brings them into Prometheus with a customNamespace job.

Usage: demo_loop.py TARGET_DIR [--check-dashboard DASHBOARD]
Exit code 0 when every hop showed what it should; 1 with the hop that did not.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.config
import botocore.session
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGION = "us-east-1"
ACCOUNT = "123456789012"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ALARM = "orders-queue-depth-high"
RULE = "OrdersQueueDepthHigh"
COOLDOWN_SECONDS = 8
STATE_BUCKET = "demo-scraper-state"
STATE_PREFIX = "demo/"


class DemoFailed(Exception):
    """A hop did not show what it should."""


def say(text):
    print(text, flush=True)


def hop(number, text):
    say(f"\n== {number}. {text}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, check, timeout=30.0, interval=0.2):
    """Polls `check` until it returns something truthy; DemoFailed after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise DemoFailed(f"{what}: nothing after {timeout:.0f} s")
        time.sleep(interval)


def http_ok(url, context=None):
    with urllib.request.urlopen(url, timeout=2, context=context) as response:
        return response.status == 200


class Processes:
    """Every process the demo starts, stopped (and its log kept) on exit."""

    def __init__(self, work):
        self.work = work
        self.children = []

    def start(self, name, argv, env=None):
        log = open(os.path.join(self.work, f"{name}.log"), "wb")
        child = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                 env={**os.environ, **(env or {})}, start_new_session=True)
        self.children.append((name, child))
        return child

    def stop_all(self):
        for _, child in reversed(self.children):
            if child.poll() is None:
                try:
                    os.killpg(child.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for _, child in self.children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)

    def check_alive(self):
        for name, child in self.children:
            if child.poll() is not None:
                log = os.path.join(self.work, f"{name}.log")
                with open(log, encoding="utf-8", errors="replace") as f:
                    tail = f.read()[-2000:]
                raise DemoFailed(f"{name} exited with {child.returncode}:\n{tail}")


class AppExporter:
    """The application's exporter: the gauges the demo sets, orders_queue_depth and,
    while a batch runs (`batch` not None), orders_batch_in_progress."""

    def __init__(self):
        self.depth = 0
        self.batch = None
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                text = (
                    "# HELP orders_queue_depth Messages waiting in the orders queue.\n"
                    "# TYPE orders_queue_depth gauge\n"
                    f'orders_queue_depth{{queue="orders"}} {exporter.depth}\n'
                )
                if exporter.batch is not None:
                    text += (
                        "# HELP orders_batch_in_progress Orders in the batch being processed.\n"
                        "# TYPE orders_batch_in_progress gauge\n"
                        f'orders_batch_in_progress{{queue="orders"}} {exporter.batch}\n'
                    )
                body = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


class Aws:
    """botocore clients for moto."""

    def __init__(self, endpoint):
        session = botocore.session.get_session()
        kw = dict(region_name=REGION, endpoint_url=endpoint,
                  aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
        self.sns = session.create_client("sns", **kw)
        self.sqs = session.create_client("sqs", **kw)
        self.cloudwatch = session.create_client("cloudwatch", **kw)
        self.dynamodb = session.create_client("dynamodb", **kw)
        self.s3 = session.create_client(
            "s3", config=botocore.config.Config(s3={"addressing_style": "path"}), **kw)

    def topic_with_queue(self, name):
        """Topic `name` and a queue subscribed to it (what a Lambda trigger would get)."""
        topic = self.sns.create_topic(Name=name)["TopicArn"]
        queue_url = self.sqs.create_queue(QueueName=f"{name}-q")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        return topic, queue_url

    def receive(self, queue_url, what, count=1, timeout=30.0):
        """The next `count` SNS envelopes delivered to `queue_url`."""
        envelopes = []

        def poll():
            messages = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", [])
            for message in messages:
                envelopes.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            return len(envelopes) >= count

        wait_until(what, poll, timeout=timeout, interval=0.1)
        return envelopes


def lambda_sns_event(envelopes):
    """The event Lambda builds for an SNS subscription, from SQS-delivered envelopes."""
    records = []
    for e in envelopes:
        attributes = {k: {"Type": v.get("Type", "String"), "Value": v.get("Value", "")}
                      for k, v in (e.get("MessageAttributes") or {}).items()}
        records.append({
            "EventSource": "aws:sns", "EventVersion": "1.0",
            "EventSubscriptionArn": f"{e['TopicArn']}:00000000-0000-0000-0000-000000000000",
            "Sns": {
                "Type": "Notification", "MessageId": e["MessageId"], "TopicArn": e["TopicArn"],
                "Subject": e.get("Subject"), "Message": e["Message"], "Timestamp": e["Timestamp"],
                "SignatureVersion": "1", "Signature": "EXAMPLE",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService.pem",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                "MessageAttributes": attributes,
            },
        })
    return {"Records": records}


def emf_to_cloudwatch(cloudwatch, path, offset):
    """What CloudWatch Logs does with Embedded Metric Format lines in a Lambda's log:
    each directive's metrics become datapoints with the directive's dimensions, at the
    document's timestamp. Returns the new offset and the number of datapoints put."""
    put = 0
    with open(path, encoding="utf-8") as f:
        f.seek(offset)
        lines = f.readlines()
        offset = f.tell()
    for line in lines:
        document = json.loads(line)
        if "_aws" not in document:
            continue  # a plain log event: CloudWatch extracts nothing from it
        meta = document["_aws"]
        stamp = meta["Timestamp"] / 1000.0
        for directive in meta["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = [{"Name": d, "Value": str(document[d])} for d in dimension_set]
                data = [{"MetricName": m["Name"], "Dimensions": dimensions,
                         "Timestamp": stamp, "Value": float(document[m["Name"]]),
                         "Unit": m.get("Unit", "None")} for m in directive["Metrics"]]
                for start in range(0, len(data), 20):
                    cloudwatch.put_metric_data(Namespace=directive["Namespace"],
                                               MetricData=data[start:start + 20])
                put += len(data)
    return offset, put


def function_url_event(method, path, query="", body=""):
    """What Lambda passes the function for a request to its Function URL."""
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {"content-type": "application/json"},
            "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                        "sourceIp": "127.0.0.1", "userAgent": "demo"}},
            "body": body, "isBase64Encoded": False}


def cloudwatch_notification(state, old):
    """The SNS message CloudWatch sends for the alarm's state change."""
    return json.dumps({
        "AlarmName": ALARM, "AlarmDescription": "orders backlog (SQS)", "AWSAccountId": ACCOUNT,
        "NewStateValue": state, "NewStateReason": "Threshold Crossed: 1 datapoint [42.0] > 30.0",
        "StateChangeTime": time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime()),
        "Region": "US East (N. Virginia)", "OldStateValue": old,
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{ALARM}",
        "Trigger": {"MetricName": "ApproximateNumberOfMessagesVisible", "Namespace": "AWS/SQS",
                    "Statistic": "AVERAGE", "Period": 60, "EvaluationPeriods": 1,
                    "ComparisonOperator": "GreaterThanThreshold", "Threshold": 30.0,
                    "Dimensions": [{"name": "QueueName", "value": "orders"}]},
    })


class Demo:
    def __init__(self, target_dir, work):
        self.bin = {name: os.path.join(target_dir, name)
                    for name in ("scraper", "alarm-handler", "scaler")}
        for name, path in self.bin.items():
            if not os.access(path, os.X_OK):
                raise DemoFailed(f"{name} binary missing at {path}: build it first")
        self.work = work
        self.procs = Processes(work)
        self.emf_path = os.path.join(work, "figures.emf")
        self.emf_offset = 0
        self.function_env = {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_SESSION_TOKEN": "demo-session", "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true", "RUST_LOG": "warn",
        }

    # ------------------------------------------------------------------ the stack

    def start_stack(self):
        work = self.work
        python = sys.executable
        moto_port = free_port()
        self.moto = f"http://127.0.0.1:{moto_port}"
        self.procs.start("moto", [python, os.path.join(ROOT, "tests/moto/launcher.py"),
                                  "-H", "127.0.0.1", "-p", str(moto_port)])
        self.function_env["AWS_ENDPOINT_URL"] = self.moto

        certs = os.path.join(work, "certs")
        subprocess.run(["sh", os.path.join(ROOT, "tests/k8s_standin/make_certs.sh"), certs],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ca = os.path.join(certs, "ca.pem")
        seed = os.path.join(work, "cluster.json")
        with open(seed, "w", encoding="utf-8") as f:
            json.dump([
                {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                 "metadata": {"name": "consumer", "namespace": "orders"},
                 "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                             "name": "consumer"},
                          "minReplicas": 2, "maxReplicas": 10,
                          "metrics": [{"type": "Resource", "resource": {
                              "name": "cpu", "target": {"type": "Utilization",
                                                        "averageUtilization": 70}}}]},
                 "status": {"currentReplicas": 8, "desiredReplicas": 8}},
                {"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": "consumer", "namespace": "orders", "labels": {"app": "consumer"}},
                 "spec": {"replicas": 8, "selector": {"matchLabels": {"app": "consumer"}},
                          "template": {"metadata": {"labels": {"app": "consumer"}},
                                       "spec": {"containers": [{"name": "consumer", "image": "consumer"}]}}},
                 "status": {"replicas": 8}},
            ], f)
        port_file = os.path.join(work, "standin.port")
        self.procs.start("k8s-standin", [
            python, os.path.join(ROOT, "tests/k8s_standin/standin.py"), "--port", "0",
            "--port-file", port_file, "--cert", os.path.join(certs, "server.pem"),
            "--key", os.path.join(certs, "server-key.pem"), "--cluster", "prod",
            "--region", REGION, "--access-key-id", ACCESS_KEY, "--secret-access-key", SECRET_KEY,
            "--session-token", "demo-session", "--seed", seed])

        self.app = AppExporter()
        node_port = free_port()
        self.node = f"127.0.0.1:{node_port}"
        self.procs.start("node-exporter", ["prometheus-node-exporter",
                                           f"--web.listen-address={self.node}"])

        am_port = free_port()
        self.alertmanager = f"127.0.0.1:{am_port}"
        prom_port = free_port()
        self.prometheus = f"http://127.0.0.1:{prom_port}"
        with open(os.path.join(work, "rules.yml"), "w", encoding="utf-8") as f:
            f.write(f"""groups:
  - name: orders
    interval: 1s
    rules:
      - alert: {RULE}
        expr: orders_queue_depth > 30
        labels: {{severity: warning, team: orders}}
        annotations:
          summary: 'orders queue depth is {{{{ $value }}}}'
""")
        with open(os.path.join(work, "prometheus.yml"), "w", encoding="utf-8") as f:
            f.write(f"""global: {{evaluation_interval: 1s}}
rule_files: [rules.yml]
alerting:
  alertmanagers: [{{static_configs: [{{targets: ['{self.alertmanager}']}}]}}]
""")
        self.procs.start("prometheus", [
            "prometheus", f"--config.file={work}/prometheus.yml",
            f"--storage.tsdb.path={work}/prometheus-data",
            f"--web.listen-address=127.0.0.1:{prom_port}", "--web.enable-remote-write-receiver",
            "--log.level=warn"])

        wait_until("moto", lambda: http_ok(f"{self.moto}/moto-api/"))
        self.aws = Aws(self.moto)
        self.alerts_topic, self.alerts_queue = self.aws.topic_with_queue("alerts")
        self.notifications_topic, self.notifications_queue = self.aws.topic_with_queue("notifications")
        self.scaler_topic, self.scaler_queue = self.aws.topic_with_queue("scaler")
        self.aws.dynamodb.create_table(
            TableName="alarm-handler", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                       {"AttributeName": "sk", "KeyType": "RANGE"}])
        self.aws.cloudwatch.put_metric_alarm(
            AlarmName=ALARM, Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": "orders"}], Statistic="Average",
            Period=60, EvaluationPeriods=1, Threshold=30.0,
            ComparisonOperator="GreaterThanThreshold", AlarmActions=[self.alerts_topic],
            OKActions=[self.alerts_topic])
        self.aws.cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK",
                                            StateReason="demo start")
        # The scraper's run state (scraper.state), as the template's ScraperStateBucket.
        self.aws.s3.create_bucket(Bucket=STATE_BUCKET)

        with open(os.path.join(work, "alertmanager.yml"), "w", encoding="utf-8") as f:
            f.write(f"""route:
  receiver: sns
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: sns
    sns_configs:
      - api_url: {self.moto}
        topic_arn: {self.alerts_topic}
        send_resolved: true
        sigv4: {{region: {REGION}, access_key: {ACCESS_KEY}, secret_key: {SECRET_KEY}}}
""")
        self.procs.start("alertmanager", [
            "prometheus-alertmanager", f"--config.file={work}/alertmanager.yml",
            f"--storage.path={work}/alertmanager-data", f"--web.listen-address={self.alertmanager}",
            "--cluster.listen-address=", "--log.level=warn"])

        context = ssl.create_default_context(cafile=self.ca)
        self.standin_context = context
        self.standin = "https://127.0.0.1:" + wait_until(
            "Kubernetes stand-in port", lambda: open(port_file, encoding="utf-8").read().strip())
        wait_until("Kubernetes stand-in", lambda: http_ok(
            f"{self.standin}/_standin/objects/horizontalpodautoscalers/orders/consumer", context))
        wait_until("node-exporter", lambda: http_ok(f"http://{self.node}/metrics"))
        wait_until("Prometheus", lambda: http_ok(f"{self.prometheus}/-/ready"))
        wait_until("Alertmanager", lambda: http_ok(f"http://{self.alertmanager}/-/ready"))
        # Prometheus applies discovered Alertmanagers every 5 s; an alert that fires
        # before would wait a minute for its resend.
        wait_until("Prometheus knowing Alertmanager", self.alertmanager_active, timeout=20)
        self.write_configs()

    def alertmanager_active(self):
        url = f"{self.prometheus}/api/v1/alertmanagers"
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.load(response)["data"]["activeAlertmanagers"]

    def write_configs(self):
        work = self.work
        self.scraper_config = os.path.join(work, "scraper.yaml")
        with open(self.scraper_config, "w", encoding="utf-8") as f:
            f.write(f"""global:
  external_labels: {{source: demo}}
scrape_configs:
  - job_name: app
    static_configs: [{{targets: ['127.0.0.1:{self.app.port}']}}]
  - job_name: node
    static_configs: [{{targets: ['{self.node}']}}]
remote_write:
  - url: {self.prometheus}/api/v1/write
    sigv4: {{region: {REGION}}}
scraper:
  state:
    s3: {{bucket: {STATE_BUCKET}, prefix: {STATE_PREFIX}}}
""")
        # The pipeline's own figures, with the job the stack deploys
        # (examples/scraper/pipeline-figures.yaml), pointed at the local stack; one run
        # owns the demo's last ten minutes.
        with open(os.path.join(ROOT, "examples/scraper/pipeline-figures.yaml"), encoding="utf-8") as f:
            figures = yaml.safe_load(f)
        figures["scraper"]["schedule_interval"] = "10m"
        figures["remote_write"] = [{"url": f"{self.prometheus}/api/v1/write",
                                    "sigv4": {"region": REGION}}]
        for job in figures["cloudwatch"]["customNamespace"]:
            job["regions"] = [REGION]
        self.scraper_config_figures = os.path.join(work, "scraper-figures.yaml")
        with open(self.scraper_config_figures, "w", encoding="utf-8") as f:
            yaml.safe_dump(figures, f)
        self.handler_config = os.path.join(work, "alarm-handler.yaml")
        with open(self.handler_config, "w", encoding="utf-8") as f:
            f.write(f"""route:
  receiver: on-call
  group_by: [alertname]
  routes:
    - matchers: ['alertname=~"{RULE}|{ALARM}"']
      receiver: scaler
      continue: true
    - receiver: on-call
receivers:
  - name: on-call
    sns_configs: [{{topic_arn: '{self.notifications_topic}'}}]
  - name: scaler
    scaler_configs: [{{topic_arn: '{self.scaler_topic}'}}]
alarm_handler:
  idempotency_table: alarm-handler
  state_table: alarm-handler
""")
        self.scaler_config = os.path.join(work, "scaler.yaml")
        with open(self.scaler_config, "w", encoding="utf-8") as f:
            f.write(f"""clusters:
  prod:
    endpoint: {self.standin}
    ca_file: {self.ca}
    token: {{eks: {{name: prod, region: {REGION}}}}}
policies:
  - name: orders-backlog
    triggers:
      alarms: [{ALARM}]
      matchers: ['alertname="{RULE}"']
    target: {{cluster: prod, namespace: orders, kind: HorizontalPodAutoscaler, name: consumer}}
    while_firing: {{max_replicas: {{add: 5}}}}
    ceiling: 40
    cooldown: {COOLDOWN_SECONDS}s
""")

    # ------------------------------------------------------------ the functions

    def run_function(self, name, event, env):
        """One invocation of `name` on the command line; its summary."""
        path = os.path.join(self.work, f"event-{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(event, f)
        done = subprocess.run([self.bin[name], "--event", path, "--emf", self.emf_path],
                              capture_output=True, text=True,
                              env={**os.environ, **self.function_env, **env}, timeout=120)
        try:
            summary = json.loads(done.stdout)
        except ValueError:
            summary = None
        if done.returncode != 0 or summary is None:
            raise DemoFailed(f"{name} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return summary

    def scrape(self, config, scheduled=None, state_read=None):
        """One scraper run; with `state_read`, its run state must have been read so
        ("absent" on the first run, "loaded" after) and written, without errors."""
        event = {"config_file": config}
        if scheduled is not None:
            event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(scheduled))
        summary = self.run_function("scraper", event, {})
        for t in summary.get("target_reports", []):
            say(f"   scraper: target {t['job']} {t['url']} up={t['up']} "
                f"samples={t['samples_scraped']}")
        if summary.get("samples_unsent", 0):
            raise DemoFailed(f"scraper: samples unsent: {summary}")
        state = summary.get("state")
        if state is not None:
            say(f"   scraper: run state {state['object']} read={state['read']} "
                f"(series {state['series_loaded']}), stale markers {state['stale_markers']}, "
                f"written={str(state['written']).lower()} "
                f"(series {state['series_saved']}, {state['object_bytes']} bytes)")
        if state_read is not None:
            if state is None:
                raise DemoFailed(f"scraper: no run state in the summary: {summary}")
            if (state["read"] != state_read or not state["written"]
                    or summary.get("state_errors") != 0 or summary.get("state_conflicts") != 0):
                raise DemoFailed(f"scraper: expected run state read={state_read}, written, "
                                 f"no errors or conflicts: {state}, "
                                 f"state_errors={summary.get('state_errors')}, "
                                 f"state_conflicts={summary.get('state_conflicts')}")
        return summary

    def alarm_handler(self, envelopes):
        event = lambda_sns_event(envelopes)
        summary = self.run_function("alarm-handler", event,
                                    {"ALARM_HANDLER_CONFIG_FILE": self.handler_config})
        d = summary["deliveries"]
        say(f"   alarm-handler: formats={summary['formats']} alerts={summary['alerts']} "
            f"(firing {summary['firing']}, resolved {summary['resolved']}), "
            f"groups={summary['groups']}, sent={d['sent']} per receiver {d['per_receiver']}")
        return summary

    def alertmanager_api(self, method, path, query="", body=None):
        """One Alertmanager API request, as the Function URL would invoke the function."""
        event = function_url_event(method, path, query, json.dumps(body) if body else "")
        response = self.run_function("alarm-handler", event,
                                     {"ALARM_HANDLER_CONFIG_FILE": self.handler_config})
        if response.get("statusCode") != 200:
            raise DemoFailed(f"{method} {path}: {response}")
        return json.loads(response["body"]) if response.get("body") else None

    def scaler(self, event, what):
        summary = self.run_function("scaler", event, {"SCALER_CONFIG_FILE": self.scaler_config})
        for p in summary["policies"]:
            change = f" {p['from']} -> {p['to']}" if p.get("to") else ""
            say(f"   scaler ({what}): policy {p['policy']} on {p['target']}: "
                f"signal={p['signal']} action={p['action']}{change}")
        return summary

    def hpa_max(self):
        url = f"{self.standin}/_standin/objects/horizontalpodautoscalers/orders/consumer"
        with urllib.request.urlopen(url, timeout=5, context=self.standin_context) as response:
            return json.load(response)["spec"]["maxReplicas"]

    def expect_hpa_max(self, value):
        now = self.hpa_max()
        say(f"   Kubernetes: HPA orders/consumer maxReplicas = {now}")
        if now != value:
            raise DemoFailed(f"HPA maxReplicas is {now}, expected {value}")

    def query(self, expr):
        url = f"{self.prometheus}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)["data"]["result"]

    def route_alert_path(self, what, expect_status):
        """SNS alerts topic -> alarm-handler -> notifications topic and scaler topic."""
        envelopes = self.aws.receive(self.alerts_queue, f"{what} on the alerts topic")
        first = envelopes[0]
        say(f"   SNS alerts topic: subject {first.get('Subject')!r}")
        summary = self.alarm_handler(envelopes)
        if summary["deliveries"]["failed"]:
            raise DemoFailed(f"alarm-handler failed deliveries: {summary['failures']}")
        notified = self.aws.receive(self.notifications_queue, "the on-call notification")
        body = notified[0]["Message"].strip().splitlines()
        say(f"   notifications topic (read through SQS): subject {notified[0].get('Subject')!r}")
        for line in [line for line in body if line.strip()][:6]:
            say(f"     | {line[:150]}")
        batches = self.aws.receive(self.scaler_queue, "the AlertBatch on the scaler topic")
        batch = json.loads(batches[0]["Message"])
        say(f"   scaler topic: AlertBatch v{batch['schemaVersion']} status={batch['status']} "
            f"from {batch['sourceFormat']}")
        if batch["status"] != expect_status:
            raise DemoFailed(f"AlertBatch status {batch['status']}, expected {expect_status}")
        return batches

    def publish_cloudwatch(self, state, old):
        self.aws.cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue=state,
                                            StateReason=f"demo: {old} -> {state}")
        self.aws.sns.publish(TopicArn=self.alerts_topic,
                             Subject=f'{state}: "{ALARM}" in US East (N. Virginia)',
                             Message=cloudwatch_notification(state, old))

    # ------------------------------------------------------------------ the loop

    def run(self, check_dashboard):
        hop(0, "starting the local stack (moto, Kubernetes API stand-in, Prometheus, "
               "Alertmanager, node-exporter, app exporter)")
        self.start_stack()
        say(f"   Prometheus (AMP stand-in) {self.prometheus}, Alertmanager http://{self.alertmanager}, "
            f"moto {self.moto}, Kubernetes API stand-in {self.standin}")
        self.expect_hpa_max(10)

        hop(1, "scraper: exporters -> remote write (SigV4) -> Prometheus; queue depth 5, "
               "a batch of 12 orders in progress; first run: no run state in S3 yet")
        self.app.depth = 5
        self.app.batch = 12
        self.scrape(self.scraper_config, state_read="absent")
        stored = self.query('orders_queue_depth')
        batch = self.query('orders_batch_in_progress')
        node_series = self.query('count({job="node"})')
        say(f"   Prometheus: orders_queue_depth = {[r['value'][1] for r in stored]}, "
            f"orders_batch_in_progress = {[r['value'][1] for r in batch]}, "
            f"node-exporter series = {[r['value'][1] for r in node_series]}")
        if not stored or not batch:
            raise DemoFailed("orders_queue_depth or orders_batch_in_progress did not reach "
                             "Prometheus")

        hop(2, "the queue grows to 42: the rule orders_queue_depth > 30 fires; "
               "Alertmanager publishes to SNS. The batch is done: with last run's series "
               "from S3, the scraper marks orders_batch_in_progress stale")
        self.app.depth = 42
        self.app.batch = None
        summary = self.scrape(self.scraper_config, state_read="loaded")
        if summary["stale_markers"] < 1:
            raise DemoFailed(f"scraper: no staleness marker for orders_batch_in_progress: "
                             f"{summary['state']}")
        batch = self.query('orders_batch_in_progress')
        say(f"   Prometheus: orders_batch_in_progress = {[r['value'][1] for r in batch]} "
            f"(the marker ends it at this scrape, not 5 minutes of lookback later)")
        if batch:
            raise DemoFailed(f"orders_batch_in_progress still returned after its "
                             f"staleness marker: {batch}")
        wait_until("the alert firing in Prometheus",
                   lambda: self.query(f'ALERTS{{alertname="{RULE}",alertstate="firing"}}'))
        say(f"   Prometheus: alert {RULE} firing")
        self.procs.check_alive()

        hop(3, "alarm-handler routes it to on-call (notifications topic) and to the scaler")
        batches = self.route_alert_path("the Alertmanager notification", "firing")

        hop(4, "scaler raises the HPA's maximum on the Kubernetes API")
        summary = self.scaler(lambda_sns_event(batches), "AlertBatch")
        if summary["changes"] != 1:
            raise DemoFailed(f"scaler: expected one change: {summary}")
        self.expect_hpa_max(15)

        hop(5, "a CloudWatch alarm on the SQS queue goes to ALARM (SetAlarmState on moto) "
               "and takes the same path")
        say("   (moto runs no alarm actions: the demo publishes the notification CloudWatch "
            "would send to the alerts topic)")
        self.publish_cloudwatch("ALARM", "OK")
        batches = self.route_alert_path("the CloudWatch alarm notification", "firing")
        self.scaler(lambda_sns_event(batches), "AlertBatch")
        self.expect_hpa_max(15)

        hop(6, "recovery: the queue drains to 3; the rule resolves; Alertmanager sends resolved")
        self.app.depth = 3
        self.scrape(self.scraper_config, state_read="loaded")
        batches = self.route_alert_path("the resolved notification", "resolved")
        self.scaler(lambda_sns_event(batches), "AlertBatch")
        say("   (the CloudWatch alarm still fires, so the HPA stays raised)")
        self.expect_hpa_max(15)

        hop(7, f"the CloudWatch alarm returns to OK: the scaler starts its cooldown "
               f"({COOLDOWN_SECONDS}s here, 15m by default)")
        self.publish_cloudwatch("OK", "ALARM")
        batches = self.route_alert_path("the OK notification", "resolved")
        summary = self.scaler(lambda_sns_event(batches), "AlertBatch")
        actions = [p["action"] for p in summary["policies"]]
        if actions != ["cooldown_started"]:
            raise DemoFailed(f"scaler: expected cooldown_started, got {actions}")
        self.expect_hpa_max(15)

        hop(8, "after the cooldown, the scheduled reconcile restores the recorded original")
        time.sleep(COOLDOWN_SECONDS + 1)
        summary = self.scaler({"reconcile": True}, "reconcile")
        actions = [p["action"] for p in summary["policies"]]
        if actions != ["restore"]:
            raise DemoFailed(f"scaler: expected restore, got {actions}")
        self.expect_hpa_max(10)

        hop(9, "a maintenance window: a silence through the alarm-handler's Alertmanager API "
               "(as amtool or Grafana would create it) mutes the alarm when it fires again")
        now = time.time()
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
        created = self.alertmanager_api("POST", "/api/v2/silences", body={
            "matchers": [{"name": "alertname", "value": ALARM, "isRegex": False, "isEqual": True}],
            "startsAt": iso(now), "endsAt": iso(now + 3600),
            "createdBy": "demo", "comment": "queue maintenance"})
        say(f"   POST /api/v2/silences (Function URL event): silence {created['silenceID']}")
        self.publish_cloudwatch("ALARM", "OK")
        envelopes = self.aws.receive(self.alerts_queue, "the CloudWatch alarm notification")
        summary = self.alarm_handler(envelopes)
        say(f"   alarm-handler: silenced {summary['silenced']}, sent {summary['deliveries']['sent']}")
        if summary["silenced"] < 1 or summary["deliveries"]["sent"] != 0:
            raise DemoFailed(f"the silence did not mute the alarm: {summary}")
        alerts = self.alertmanager_api("GET", "/api/v2/alerts",
                                       urllib.parse.urlencode({"silenced": "true"}))
        for alert in alerts:
            if alert["labels"].get("alertname") == ALARM:
                say(f"   GET /api/v2/alerts: {ALARM} {alert['status']['state']}, "
                    f"silenced by {alert['status']['silencedBy']}")
        self.expect_hpa_max(10)

        hop(10, "the pipeline's own figures: EMF lines -> CloudWatch -> scraper "
                "(customNamespace job) -> Prometheus")
        self.emf_offset, put = emf_to_cloudwatch(self.aws.cloudwatch, self.emf_path,
                                                 self.emf_offset)
        say(f"   CloudWatch (moto): {put} datapoints in namespace MetricsPipeline, "
            f"as CloudWatch Logs extracts them")
        # As the run scheduled at the next minute would: its window then holds this one.
        summary = self.scrape(self.scraper_config_figures, scheduled=time.time() + 60)
        cw = summary.get("cloudwatch") or {}
        say(f"   scraper: CloudWatch series {cw.get('series', '?')}, "
            f"GetMetricData calls {cw.get('get_metric_data_calls', '?')}")
        for expr in ['sum by (dimension_Function) (aws_metricspipeline_invocations_sum)',
                     'sum by (dimension_Receiver) (aws_metricspipeline_deliveries_sent_sum'
                     '{dimension_Receiver!=""})',
                     'aws_metricspipeline_changes_sum']:
            result = self.query(expr)
            say(f"   Prometheus: {expr}")
            for r in result:
                labels = ",".join(f"{k}={v}" for k, v in r["metric"].items()
                                  if k.startswith("dimension_"))
                say(f"     {labels or '-'} => {r['value'][1]}")
            if not result:
                raise DemoFailed(f"{expr}: no data in Prometheus")

        if check_dashboard:
            hop(11, f"every panel of {os.path.relpath(check_dashboard, ROOT)} against Prometheus")
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts/check_dashboard.py"),
                            "queries", check_dashboard, "--prometheus", self.prometheus,
                            "--range", "10m"], check=True)

        say("\n== the loop is closed: metrics -> alert -> routing -> scale up -> recovery -> "
            "cooldown -> restore -> silence")
        say("   Next: docs/architecture.md (the picture), docs/deploy.md (sam deploy), "
            "examples/setups/ (seed setups),\n"
            "   dashboards/pipeline.json (import into Grafana), docs/operations.md "
            "(alarms, failure queues, sizing).")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target_dir", help="directory with the scraper, alarm-handler and scaler binaries")
    parser.add_argument("--check-dashboard", metavar="DASHBOARD",
                        help="also run every panel query of DASHBOARD against Prometheus")
    args = parser.parse_args()
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="pipeline-demo-")
    demo = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        demo = Demo(args.target_dir, work)
        demo.run(args.check_dashboard)
        say(f"   ({time.monotonic() - started:.0f} s)")
        return 0
    except (DemoFailed, subprocess.CalledProcessError) as e:
        say(f"\ndemo FAILED: {e}\n   logs: {work}")
        work = None  # kept for a look
        return 1
    except KeyboardInterrupt:
        say("\ndemo interrupted: stopping what it started")
        return 130
    finally:
        if demo is not None:
            demo.procs.stop_all()
            if hasattr(demo, "app"):
                demo.app.stop()
        if work:
            subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    sys.exit(main())
