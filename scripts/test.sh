#!/usr/bin/env bash
# The test command: installs what the tests need (scripts/setup.sh), then checks
# formatting and lints, the SAM template (cfn-lint, sam validate), runs every test
# against real local services, every fuzz target briefly on its corpus, the demo with
# every dashboard panel checked against its Prometheus, and builds the arm64 Lambda
# zips (scripts/package.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/setup.sh
export PATH="$ROOT/.venv/bin:$PATH"
export PIPELINE_PYTHON="$ROOT/.venv/bin/python"

# The repository stands alone: no file may point at the shared folder next to it (test
# data lives in testdata/, documentation in docs/). The pattern is written so that this
# check does not match itself. Tracked files in a git checkout; otherwise every file
# except build output and the virtualenv.
echo "== no references outside the repository"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  outside="$(git grep -n -I -e '\.\./shared' || true)"
else
  outside="$(grep -rnI -e '\.\./shared' --exclude-dir=.git --exclude-dir=target \
    --exclude-dir=.venv --exclude-dir=.venv-checkov --exclude-dir=.local . || true)"
fi
if [ -n "$outside" ]; then
  printf '%s\n' "$outside"
  echo "test.sh: the files above refer to a folder outside the repository; use testdata/ or docs/"
  exit 1
fi

started=$(date +%s)
echo "== workspace manifests"
python3 scripts/check_manifest.py
echo "== cfn-lint infra/template.yaml"
cfn-lint infra/template.yaml
echo "== sam validate --lint"
# Offline: the lint and the SAM translation need no AWS account (any region will do).
(cd infra && SAM_CLI_TELEMETRY=0 sam validate --lint --region us-east-1 && SAM_CLI_TELEMETRY=0 sam validate --region us-east-1)
echo "== checkov infra/template.yaml"
# Fails on any finding that is not suppressed, with its reason, next to its resource.
# --skip-download: offline, no Prisma Cloud guideline lookup.
"$ROOT/.venv-checkov/bin/checkov" --file infra/template.yaml --framework cloudformation \
  --compact --quiet --skip-download
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace --locked 2>&1 | tee "$log"
# One closing line for the whole run (cargo prints one per test binary, the last of
# which is usually an empty doc-test run).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
echo "== fuzz: every target replays its corpus, then fuzzes new inputs briefly"
# cargo-fuzz on the nightly toolchain, into fuzz/target (a build of its own: a few
# minutes); the long campaigns are `bash scripts/fuzz.sh long <target>` (docs/testing.md).
BRIEF_SECONDS="${BRIEF_SECONDS:-5}" bash scripts/fuzz.sh brief
echo "== dashboards/pipeline.json: Grafana's dashboard schema, and the checker's self-test"
python scripts/check_dashboard.py schema dashboards/pipeline.json
python scripts/check_dashboard.py selftest dashboards/pipeline.json
echo "== the demo: the whole loop on the local stack, then every dashboard panel's query"
# The debug binaries the tests just built; the demo fails on any hop that does not show
# what it should, and on any panel whose query returns no series.
DEMO_SKIP_SETUP=1 DEMO_PROFILE=dev DEMO_NO_BUILD=1 DEMO_CHECK_DASHBOARD=1 bash scripts/demo.sh
echo "== arm64 Lambda packages"
bash scripts/package.sh
echo "test.sh: $(($(date +%s) - started)) s after setup"
