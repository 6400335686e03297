#!/usr/bin/env python3
"""Runs vmagent's Kubernetes service discovery against the API stand-in and prints
what it discovered, so a test can compare it with ours.

Usage:
  vmagent_targets.py --port PORT --ca-file CA.pem (--token TOKEN | --token-file FILE)
                     [--config-template FILE] [--roles node,pod,...] [--timeout 60]
                     [--vmagent /usr/bin/vmagent] [--min-targets JOB=N ...]

  --port             the stand-in's HTTPS port (api_server https://127.0.0.1:PORT)
  --ca-file          the CA that signed the stand-in's certificate (ca.pem)
  --token/--token-file
                     an EKS bearer token (k8s-aws-v1....) the stand-in accepts; it is
                     written to a private temporary file for vmagent's bearer_token_file
  --config-template  a vmagent scrape config (YAML text) in which {api_server},
                     {ca_file} and {token_file} are replaced (str.format: write literal
                     braces as {{ and }}). Without it, one job per role ("k8s-<role>")
                     with kubernetes_sd_configs, and a labelmap of __meta_(.+) so that no
                     two targets end up with identical labels (vmagent silently drops
                     such duplicates from /api/v1/targets, e.g. two paths of one ingress
                     host).
  --roles            the roles of the default config (default: all six:
                     node,pod,service,endpoints,endpointslice,ingress)
  --timeout          seconds to wait for every job to have at least one target
  --min-targets      JOB=N: wait until JOB has at least N targets (repeatable)

It starts vmagent on a free local port with
  -promscrape.config=<config> -promscrape.dropOriginalLabels=false
  -remoteWrite.url=http://127.0.0.1:1/api/v1/write (never reachable: nothing is sent)
  -remoteWrite.tmpDataPath=<tmp> -httpListenAddr=127.0.0.1:<free port>
polls http://127.0.0.1:<port>/api/v1/targets until every job of the config has
targets (a job is a `job_name:` line of the config), prints
  {"<job>": [<discoveredLabels of each target, keys sorted>, ...], ...}
(each job's list sorted by its JSON text) as JSON on stdout, and stops vmagent.
Exit status 0 on success; 1 with vmagent's log on stderr if the jobs never all had
targets within --timeout; 2 on bad arguments. Standard library only.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROLES = ("node", "pod", "service", "endpoints", "endpointslice", "ingress")


def default_config(roles):
    """One job per role; labelmap keeps every discovered target distinct."""
    jobs = []
    for role in roles:
        jobs.append(
            f"  - job_name: k8s-{role}\n"
            f"    kubernetes_sd_configs:\n"
            f"      - role: {role}\n"
            f"        api_server: {{api_server}}\n"
            f"        tls_config:\n"
            f"          ca_file: {{ca_file}}\n"
            f"        bearer_token_file: {{token_file}}\n"
            f"    relabel_configs:\n"
            f"      - action: labelmap\n"
            f"        regex: __meta_(.+)\n")
    return "scrape_configs:\n" + "".join(jobs)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch_targets(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5) as r:
        return json.load(r)["data"]["activeTargets"]


def group(targets):
    """{job: [sorted discoveredLabels]} (jobs by the discovered `job` label)."""
    result = {}
    for target in targets:
        labels = target.get("discoveredLabels") or {}
        job = labels.get("job") or target.get("scrapePool") or target["labels"].get("job")
        result.setdefault(job, []).append(dict(sorted(labels.items())))
    for job in result:
        result[job].sort(key=lambda d: json.dumps(d, sort_keys=True))
    return dict(sorted(result.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ca-file", required=True)
    tokens = parser.add_mutually_exclusive_group(required=True)
    tokens.add_argument("--token")
    tokens.add_argument("--token-file")
    parser.add_argument("--config-template")
    parser.add_argument("--roles", default=",".join(ROLES))
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--vmagent", default=shutil.which("vmagent") or "/usr/bin/vmagent")
    parser.add_argument("--min-targets", action="append", default=[], metavar="JOB=N")
    args = parser.parse_args(argv)
    roles = [r for r in args.roles.split(",") if r]
    if any(r not in ROLES for r in roles):
        parser.error(f"--roles: one of {','.join(ROLES)}")
    minimum = {}
    for item in args.min_targets:
        job, _, count = item.partition("=")
        if not job or not count.isdigit():
            parser.error(f"--min-targets {item!r}: expected JOB=N")
        minimum[job] = int(count)
    if not os.access(args.vmagent, os.X_OK):
        parser.error(f"vmagent not found at {args.vmagent} (scripts/setup.sh installs it)")

    with tempfile.TemporaryDirectory(prefix="vmagent-targets-") as tmp:
        token_file = os.path.join(tmp, "token")
        token = args.token
        if token is None:
            with open(args.token_file, encoding="utf-8") as f:
                token = f.read().strip()
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(token)
        if args.config_template:
            with open(args.config_template, encoding="utf-8") as f:
                template = f.read()
        else:
            template = default_config(roles)
        config = template.format(api_server=f"https://127.0.0.1:{args.port}",
                                 ca_file=os.path.abspath(args.ca_file), token_file=token_file)
        jobs = re.findall(r"^\s*-?\s*job_name:\s*['\"]?([^'\"\s]+)", config, re.M)
        config_path = os.path.join(tmp, "vmagent.yml")
        with open(config_path, "w", encoding="utf-8") as f:
            f.write(config)
        http_port = free_port()
        log_path = os.path.join(tmp, "vmagent.log")
        command = [args.vmagent, f"-promscrape.config={config_path}",
                   "-promscrape.dropOriginalLabels=false",
                   "-remoteWrite.url=http://127.0.0.1:1/api/v1/write",
                   f"-remoteWrite.tmpDataPath={os.path.join(tmp, 'vmagent-data')}",
                   f"-httpListenAddr=127.0.0.1:{http_port}", "-loggerLevel=INFO"]
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + args.timeout
            grouped, problem = {}, "vmagent did not answer"
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    problem = f"vmagent exited with status {proc.returncode}"
                    break
                try:
                    grouped = group(fetch_targets(http_port))
                except (OSError, ValueError, KeyError):
                    time.sleep(0.3)
                    continue
                missing = [j for j in jobs if len(grouped.get(j, [])) < max(minimum.get(j, 1), 1)]
                if not missing:
                    # one more round: a job's last targets may still be arriving
                    time.sleep(1.0)
                    grouped = group(fetch_targets(http_port))
                    json.dump(grouped, sys.stdout, indent=1, sort_keys=False)
                    sys.stdout.write("\n")
                    return 0
                problem = (f"jobs without (enough) targets: {missing}; have "
                           f"{ {j: len(v) for j, v in grouped.items()} }")
                time.sleep(0.5)
            sys.stderr.write(f"vmagent_targets: {problem} after {args.timeout:g} s\n"
                             f"command: {' '.join(command)}\n--- vmagent log ---\n")
            with open(log_path, encoding="utf-8", errors="replace") as f:
                sys.stderr.write(f.read()[-20000:])
            return 1
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


if __name__ == "__main__":
    sys.exit(main())
