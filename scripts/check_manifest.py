#!/usr/bin/env python3
"""Checks the workspace manifest against the lock file, so what Cargo.toml says stays
true as dependencies move:

- `rust-version` in [workspace.package] is at least the newest `rust-version` any
  locked dependency declares (an older one would promise a toolchain that cannot
  build the lock);
- the lock holds one version of each AWS crate (aws-*, aws_lambda_events, lambda_*):
  two would mean two HTTP/TLS stacks in every function;
- every member inherits the workspace lints and package fields.

Run by scripts/test.sh; reads only `cargo metadata` (no network with --locked
--offline after the first build).
"""
import json
import subprocess
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def version_tuple(text):
    return tuple(int(part) for part in text.split("."))


def main():
    manifest = tomllib.loads((ROOT / "Cargo.toml").read_text())
    declared = manifest["workspace"]["package"]["rust-version"]
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
    )
    resolved = {node["id"] for node in meta["resolve"]["nodes"]}
    members = set(meta["workspace_members"])
    problems = []

    newest = max(
        ((version_tuple(p["rust_version"]), p["name"], p["version"])
         for p in meta["packages"]
         if p["id"] in resolved and p["id"] not in members and p.get("rust_version")),
        default=((0,), "", ""),
    )
    if version_tuple(declared) < newest[0]:
        problems.append(
            f"rust-version {declared} is older than {newest[1]} {newest[2]} needs "
            f"({'.'.join(map(str, newest[0]))})"
        )

    versions = defaultdict(set)
    for p in meta["packages"]:
        if p["id"] in resolved and p["id"] not in members:
            versions[p["name"]].add(p["version"])
    for name, found in sorted(versions.items()):
        aws = name.startswith(("aws-", "aws_")) or name.startswith("lambda_")
        if aws and len(found) > 1:
            problems.append(f"two versions of {name} in the lock: {', '.join(sorted(found))}")

    for p in meta["packages"]:
        if p["id"] not in members:
            continue
        member = tomllib.loads(Path(p["manifest_path"]).read_text())
        package = member["package"]
        for key in ("edition", "license", "rust-version", "publish"):
            if not (isinstance(package.get(key), dict) and package[key].get("workspace")):
                problems.append(f"{p['name']}: `{key}` is not inherited from the workspace")
        if member.get("lints", {}).get("workspace") is not True:
            problems.append(f"{p['name']}: [lints] does not inherit the workspace lints")

    for problem in problems:
        print(f"check_manifest: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(
        f"check_manifest: rust-version {declared} covers the lock (newest: {newest[1]} "
        f"{newest[2]}); one version of each AWS crate; {len(members)} members inherit "
        "package fields and lints"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
