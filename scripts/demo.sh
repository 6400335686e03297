#!/usr/bin/env bash
# The pipeline's whole loop on the local stack, hop by hop: exporters scraped into
# Prometheus (the AMP stand-in), a rule fires, Alertmanager publishes to SNS (moto), the
# alarm-handler routes it to a notifications topic and to the scaler, the scaler raises
# an HPA's maximum on the Kubernetes API stand-in (10 -> 15), a CloudWatch alarm takes
# the same path, then recovery, cooldown and restore to 10; finally the functions' own
# figures reach Prometheus. Idempotent: everything runs on free loopback ports in a
# temporary directory and is stopped on exit. scripts/demo_loop.py does the hops.
#
# Environment: DEMO_PROFILE=dev uses debug binaries; DEMO_NO_BUILD=1 takes them as
# they are (the test command runs the demo on the binaries `cargo test --workspace`
# just built: a separate `cargo build -p ...` would unify features differently and
# rebuild much of the dependency tree), with DEMO_CHECK_DASHBOARD=1 to also run every
# panel query of dashboards/pipeline.json against the demo's Prometheus.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -z "${DEMO_SKIP_SETUP:-}" ]; then
  bash scripts/setup.sh
fi

profile="${DEMO_PROFILE:-release}"
if [ "$profile" = release ]; then
  bin_dir="${CARGO_TARGET_DIR:-target}/release"
  build=(cargo build --release --locked -p scraper -p alarm-handler -p scaler)
else
  bin_dir="${CARGO_TARGET_DIR:-target}/debug"
  build=(cargo build --locked -p scraper -p alarm-handler -p scaler)
fi
if [ -z "${DEMO_NO_BUILD:-}" ]; then
  echo "== building the three functions ($profile)"
  "${build[@]}"
fi

args=("$bin_dir")
if [ -n "${DEMO_CHECK_DASHBOARD:-}" ]; then
  args+=(--check-dashboard "$ROOT/dashboards/pipeline.json")
fi
exec "$ROOT/.venv/bin/python" scripts/demo_loop.py "${args[@]}"
