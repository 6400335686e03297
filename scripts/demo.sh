#!/usr/bin/env bash
# The main job end to end on the local stack: Debian's Prometheus (remote-write
# receiver, the AMP stand-in) and node-exporter on loopback, one scraper invocation
# with SigV4 (fake static credentials), then Prometheus' query API shows what landed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh

echo "== building the scraper (release)"
cargo build --release --locked -p scraper

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 1 150); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  echo "demo: $1 did not come up" >&2
  return 1
}

PROM_PORT="$(free_port)"
NODE_PORT="$(free_port)"
echo "global: {}" > "$WORK/prometheus.yml"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-remote-write-receiver \
  --log.level=warn 2>"$WORK/prometheus.log" &
PIDS+=($!)
prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_PORT" 2>"$WORK/node.log" &
PIDS+=($!)
wait_http "http://127.0.0.1:$PROM_PORT/-/ready"
wait_http "http://127.0.0.1:$NODE_PORT/metrics"
echo "== Prometheus (AMP stand-in) on 127.0.0.1:$PROM_PORT, node-exporter on 127.0.0.1:$NODE_PORT"

cat > "$WORK/scraper.yaml" <<YAML
global:
  external_labels: {source: demo}
scrape_configs:
  - job_name: node
    static_configs: [{targets: ["127.0.0.1:$NODE_PORT"]}]
remote_write:
  - url: http://127.0.0.1:$PROM_PORT/api/v1/write
    sigv4: {region: us-east-1}
YAML
printf '{"config_file": "%s"}\n' "$WORK/scraper.yaml" > "$WORK/event.json"

echo "== one scraper invocation (SigV4 with fake static credentials)"
AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY \
AWS_SESSION_TOKEN=demo-session AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
  "${CARGO_TARGET_DIR:-target}/release/scraper" --event "$WORK/event.json" | python3 -c '
import json, sys
s = json.load(sys.stdin)
for t in s.pop("target_reports"):
    print("  target %s %s: up=%s samples=%s in %.3fs" % (t["job"], t["url"], t["up"], t["samples_scraped"], t["duration_seconds"]))
print("  " + ", ".join(f"{k}={v}" for k, v in s.items() if k != "config_warnings"))
'

echo "== what Prometheus stored (query API)"
python3 - "$PROM_PORT" <<'PY'
import json, sys, time, urllib.parse, urllib.request
port = sys.argv[1]
def query(expr):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    return json.load(urllib.request.urlopen(url))["data"]["result"]
ok = True
for expr in ['up', 'node_exporter_build_info', 'scrape_samples_scraped',
             'count({job="node"})', 'scraper_samples_sent', 'scraper_run_duration_seconds']:
    result = query(expr)
    print(f"  {expr}:")
    for r in result:
        print(f"    {r['metric']} => {r['value'][1]}")
    if expr == 'node_exporter_build_info' and not result:
        ok = False
sys.exit(0 if ok else 1)
PY
echo "== demo ok: node-exporter samples were remote-written (SigV4) and are queryable"
