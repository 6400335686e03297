#!/usr/bin/env bash
# Installs everything the demo and the tests need on a fresh Debian machine with Rust
# and Python: Debian's Prometheus, node-exporter and Alertmanager (and openssl for the
# TLS test), a Python virtualenv (.venv/) with botocore (independent SigV4 check),
# moto (AWS API stand-in: STS, SNS, SQS, DynamoDB, SSM, CloudWatch, EKS), cargo-lambda
# (Lambda Runtime API emulator and arm64 packaging) with ziglang (its cross linker),
# cfn-lint and aws-sam-cli (template checks), all pinned in
# scripts/requirements-test.txt, and the Rust aarch64-unknown-linux-gnu target.
# Idempotent: a second run installs nothing and takes a few seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
export DEBIAN_FRONTEND=noninteractive

say() { printf 'setup: %s\n' "$*"; }

# victoria-metrics provides /usr/bin/vmagent: the reference Kubernetes service discovery
# that tests/k8s_standin/vmagent_targets.py runs against the API stand-in.
APT_PACKAGES=(prometheus prometheus-node-exporter prometheus-alertmanager openssl victoria-metrics)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  say "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  # Debian's postinst scripts try to start the daemons; without an init system that
  # fails harmlessly, and the tests never use their default ports anyway.
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Stop packaged daemons if an init system did start them.
  for svc in prometheus prometheus-node-exporter prometheus-alertmanager victoria-metrics; do
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
else
  say "Debian packages present: ${APT_PACKAGES[*]}"
fi

# The pinned Python tools. pip install -r is idempotent but takes seconds even when
# everything is there, so the hash of the requirements file is recorded in the venv
# after a successful install, and pip runs only when the file changed or the venv's
# tools are not all there (e.g. a half-built venv).
#
# ensure_venv DIR REQUIREMENTS READY...: the virtualenv DIR with REQUIREMENTS
# installed; READY is a command that succeeds when the venv's tools are there.
ensure_venv() {
  local dir="$1" requirements="$2"
  shift 2
  local stamp="$dir/.requirements.sha256" name="${requirements#"$ROOT"/}" wanted installed
  if [ ! -x "$dir/bin/python" ]; then
    say "creating virtualenv $dir"
    python3 -m venv "$dir"
  fi
  wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
  installed="$(cat "$stamp" 2>/dev/null || true)"
  if [ "$wanted" != "$installed" ] || ! "$@" >/dev/null 2>&1; then
    say "pip install -r $name"
    rm -f "$stamp"
    "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    printf '%s\n' "$wanted" >"$stamp"
  else
    say "Python packages present: as pinned in $name"
  fi
}

test_tools_ready() {
  "$VENV/bin/python" -c "import botocore, moto, ziglang" && [ -x "$VENV/bin/moto_server" ] &&
    [ -x "$VENV/bin/cargo-lambda" ] && [ -x "$VENV/bin/cfn-lint" ] && [ -x "$VENV/bin/sam" ]
}
ensure_venv "$VENV" "$ROOT/scripts/requirements-test.txt" test_tools_ready

# checkov in a virtualenv of its own: its pins conflict with moto's (see the file).
CHECKOV_VENV="$ROOT/.venv-checkov"
ensure_venv "$CHECKOV_VENV" "$ROOT/scripts/requirements-checkov.txt" test -x "$CHECKOV_VENV/bin/checkov"

# Lambda functions run on arm64 (Graviton): cargo lambda cross-compiles with zig.
ARM64_TARGET=aarch64-unknown-linux-gnu
if rustup target list --installed 2>/dev/null | grep -qx "$ARM64_TARGET"; then
  say "Rust target present: $ARM64_TARGET"
else
  say "rustup target add $ARM64_TARGET"
  rustup target add "$ARM64_TARGET"
fi

say "prometheus: $(prometheus --version 2>&1 | head -n1)"
say "node-exporter: $(prometheus-node-exporter --version 2>&1 | head -n1)"
say "alertmanager: $(prometheus-alertmanager --version 2>&1 | head -n1)"
# Debian's vmagent is built without a version string: report the package's.
say "vmagent: $(dpkg-query -W -f='${Version}' victoria-metrics) ($(command -v vmagent))"
say "cargo-lambda: $("$VENV/bin/cargo-lambda" lambda --version 2>&1 | head -n1)"
say "zig: $("$VENV/bin/python" -m ziglang version 2>&1 | head -n1)"
say "cfn-lint: $("$VENV/bin/cfn-lint" --version 2>&1 | head -n1)"
say "sam: $(SAM_CLI_TELEMETRY=0 "$VENV/bin/sam" --version 2>&1 | head -n1)"
say "checkov: $("$CHECKOV_VENV/bin/checkov" --version 2>&1 | tail -n1)"
