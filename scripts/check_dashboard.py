#!/usr/bin/env python3
"""Checks a Grafana dashboard (classic JSON model) of this project.

  check_dashboard.py schema DASHBOARD
      Validates DASHBOARD against Grafana's published dashboard JSON schema
      (testdata/grafana/dashboard.jsonschema.json, see testdata/PROVENANCE.md) and
      checks what the schema leaves optional: every panel has a title and a gridPos
      inside the 24-column grid, every query panel has targets with a refId and a
      non-empty expr, panel ids and refIds are unique, and every variable a string
      refers to ($name, ${name}, ${name:format}, [[name]]) is defined in templating.

  check_dashboard.py queries DASHBOARD --prometheus http://host:port [--range 10m]
      Runs every target's expr (Grafana's $__range, $__interval, $__rate_interval and
      the dashboard's own variables substituted) against Prometheus' /api/v1/query.
      Prints a line per query with its series count; exits 1 listing each
      panel/refId that returned no series or failed.

  check_dashboard.py selftest [DASHBOARD]
      Mutates the dashboard (default dashboards/pipeline.json) in memory in several
      ways and asserts that the schema check rejects each, and accepts the original.

Needs the `jsonschema` package (scripts/setup.sh's .venv has it).
"""

import argparse
import copy
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "testdata" / "grafana" / "dashboard.jsonschema.json"
DEFAULT_DASHBOARD = ROOT / "dashboards" / "pipeline.json"

# Panel types that show no query results.
NO_QUERY_TYPES = {"row", "text", "news", "dashlist", "annolist", "welcome"}
# $name, ${name}, ${name:format}, [[name]], [[name:format]]
VARIABLE_REF = re.compile(
    r"\$\{([A-Za-z_]\w*)(?:[:.][^}]*)?\}|\$([A-Za-z_]\w*)|\[\[([A-Za-z_]\w*)(?::[^\]]*)?\]\]"
)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def all_panels(dashboard):
    """Every panel, rows' nested (collapsed) panels included, in order."""
    for panel in dashboard.get("panels") or []:
        yield panel
        if isinstance(panel, dict) and panel.get("type") == "row":
            for nested in panel.get("panels") or []:
                yield nested


def panel_name(panel):
    if not isinstance(panel, dict):
        return repr(panel)
    return f"panel {panel.get('id')!r} {panel.get('title', '<no title>')!r}"


def strings_in(value, path=""):
    """(path, string) for every string in a JSON value."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from strings_in(item, f"{path}[{i}]")


def referenced_variables(text):
    for match in VARIABLE_REF.finditer(text):
        yield next(g for g in match.groups() if g)


def schema_errors(dashboard, schema):
    """Every problem found, as readable lines (empty: the dashboard passes)."""
    errors = []
    validator = jsonschema.Draft7Validator(schema)
    for error in sorted(validator.iter_errors(dashboard), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "<root>"
        # panels are oneOf Panel | RowPanel: show the deepest reasons, not just "not valid under any".
        details = sorted(error.context, key=lambda e: -len(e.absolute_path))[:3]
        reason = "; ".join(
            f"{'/'.join(str(p) for p in d.absolute_path)}: {d.message}" for d in details
        ) or error.message
        errors.append(f"schema: {where}: {reason[:400]}")

    templating = dashboard.get("templating") if isinstance(dashboard, dict) else None
    variables = {}
    if isinstance(templating, dict):
        for var in templating.get("list") or []:
            if isinstance(var, dict) and isinstance(var.get("name"), str):
                if var["name"] in variables:
                    errors.append(f"variable {var['name']!r} defined twice")
                variables[var["name"]] = var

    ids = {}
    if not isinstance(dashboard, dict):
        return errors + ["the dashboard is not a JSON object"]
    for panel in all_panels(dashboard):
        name = panel_name(panel)
        if not isinstance(panel, dict):
            errors.append(f"{name}: not an object")
            continue
        pid = panel.get("id")
        if not isinstance(pid, int):
            errors.append(f"{name}: no integer id")
        elif pid in ids:
            errors.append(f"{name}: id {pid} already used by {ids[pid]}")
        else:
            ids[pid] = name
        title = panel.get("title")
        if panel.get("type") != "row" and (not isinstance(title, str) or not title.strip()):
            errors.append(f"{name}: empty or missing title")
        grid = panel.get("gridPos")
        if not isinstance(grid, dict):
            errors.append(f"{name}: gridPos missing or not an object")
        elif all(isinstance(grid.get(k), int) for k in ("x", "w")) and grid["x"] + grid["w"] > 24:
            errors.append(f"{name}: gridPos x + w = {grid['x'] + grid['w']} > 24")
        if panel.get("type") in NO_QUERY_TYPES or panel.get("libraryPanel"):
            continue
        targets = panel.get("targets")
        if not isinstance(targets, list) or not targets:
            errors.append(f"{name}: no targets")
            continue
        ref_ids = set()
        for i, target in enumerate(targets):
            if not isinstance(target, dict):
                errors.append(f"{name}: target {i} is not an object")
                continue
            ref = target.get("refId")
            if not isinstance(ref, str) or not ref:
                errors.append(f"{name}: target {i} has no refId")
            elif ref in ref_ids:
                errors.append(f"{name}: refId {ref!r} used twice")
            ref_ids.add(ref)
            expr = target.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                errors.append(f"{name} [{ref}]: empty or missing expr")
            ds = target.get("datasource", panel.get("datasource"))
            if not isinstance(ds, dict) or not ds.get("uid"):
                errors.append(f"{name} [{ref}]: no datasource uid")

    for path, text in strings_in(dashboard):
        if path.startswith("templating"):
            continue
        for var in referenced_variables(text):
            if var.startswith("__"):
                continue  # Grafana's global variables: $__range, $__interval, ...
            if var not in variables:
                errors.append(f"{path}: refers to ${{{var}}}, which templating does not define")
            elif path.endswith("datasource.uid") and variables[var].get("type") != "datasource":
                errors.append(
                    f"{path}: datasource uid refers to ${{{var}}}, "
                    f"a {variables[var].get('type')!r} variable, not a datasource one"
                )
    return errors


# --- queries ------------------------------------------------------------------

DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w|y)$")
UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def seconds(duration):
    match = DURATION.match(duration)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration like 10m: {duration!r}")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def variable_values(dashboard, args):
    """Values for Grafana's global variables and the dashboard's own ones."""
    rng, interval, rate = seconds(args.range), seconds(args.interval), seconds(args.rate_interval)
    values = {
        "__range": args.range,
        "__range_s": str(int(rng)),
        "__range_ms": str(int(rng * 1000)),
        "__interval": args.interval,
        "__interval_ms": str(int(interval * 1000)),
        "__rate_interval": args.rate_interval,
        "__rate_interval_ms": str(int(rate * 1000)),
    }
    for var in (dashboard.get("templating") or {}).get("list") or []:
        name = var.get("name")
        current = (var.get("current") or {}).get("value")
        if isinstance(current, list):
            current = "|".join(current)
        value = current if current not in (None, "") else var.get("query")
        if var.get("type") == "datasource":
            value = "prometheus"  # only ever used as a datasource uid
        if isinstance(value, str):
            values[name] = value
    return values


def substitute(expr, values):
    def repl(match):
        name = next(g for g in match.groups() if g)
        return values.get(name, match.group(0))

    return VARIABLE_REF.sub(repl, expr)


def run_query(base, expr, at=None):
    params = {"query": expr}
    if at is not None:
        params["time"] = str(at)
    url = base.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = json.load(response)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
        except ValueError:
            return None, f"HTTP {e.code}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        return None, str(e)
    if body.get("status") != "success":
        return None, f"{body.get('errorType')}: {body.get('error')}"
    data = body["data"]
    if data["resultType"] in ("vector", "matrix"):
        return len(data["result"]), None
    return 1, None  # scalar, string


def cmd_queries(args):
    dashboard = load_json(args.dashboard)
    values = variable_values(dashboard, args)
    failed = []
    count = 0
    for panel in all_panels(dashboard):
        for target in panel.get("targets") or []:
            expr = target.get("expr")
            if not isinstance(expr, str) or not expr.strip():
                continue
            count += 1
            where = f"panel {panel.get('id')} {panel.get('title')!r} [{target.get('refId')}]"
            query = substitute(expr, values)
            leftover = list(referenced_variables(query))
            if leftover:
                failed.append(f"{where}: unresolved variables {leftover} in {query}")
                print(f"FAIL  {where}: unresolved variables {leftover}")
                continue
            series, error = run_query(args.prometheus, query, args.time)
            if error:
                failed.append(f"{where}: {error}: {query}")
                print(f"FAIL  {where}: {error}\n        {query}")
            elif series == 0:
                failed.append(f"{where}: no series: {query}")
                print(f"FAIL  {where}: no series\n        {query}")
            else:
                print(f"ok    {where}: {series} series")
    print(f"{count - len(failed)} of {count} queries returned series")
    if failed:
        print("\nqueries without series or failing:", file=sys.stderr)
        for line in failed:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


# --- schema / selftest ----------------------------------------------------------


def cmd_schema(args):
    errors = schema_errors(load_json(args.dashboard), load_json(SCHEMA_PATH))
    for line in errors:
        print(line, file=sys.stderr)
    if errors:
        print(f"{args.dashboard}: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"{args.dashboard}: valid against {SCHEMA_PATH.relative_to(ROOT)}, panels and variables ok")
    return 0


def first_query_panel(d):
    return next(p for p in d["panels"] if p.get("type") != "row")


def mutation_gridpos_string(d):
    first_query_panel(d)["gridPos"] = "0,0,12,8"


def mutation_gridpos_float(d):
    first_query_panel(d)["gridPos"]["w"] = 12.5


def mutation_missing_title(d):
    del first_query_panel(d)["title"]


def mutation_empty_expr(d):
    first_query_panel(d)["targets"][0]["expr"] = "  "


def mutation_duplicate_id(d):
    panels = [p for p in d["panels"] if p.get("type") != "row"]
    panels[1]["id"] = panels[0]["id"]


def mutation_no_datasource_variable(d):
    d["templating"]["list"] = [v for v in d["templating"]["list"] if v.get("type") != "datasource"]


def mutation_schema_version_string(d):
    d["schemaVersion"] = str(d["schemaVersion"])


def mutation_unknown_panel_field(d):
    first_query_panel(d)["gridpos"] = first_query_panel(d).pop("gridPos")


# (mutation, whether Grafana's schema itself must be what rejects it)
MUTATIONS = [
    (mutation_gridpos_string, True),
    (mutation_gridpos_float, True),
    (mutation_schema_version_string, True),
    (mutation_unknown_panel_field, True),
    (mutation_missing_title, False),
    (mutation_empty_expr, False),
    (mutation_duplicate_id, False),
    (mutation_no_datasource_variable, False),
]


def cmd_selftest(args):
    schema = load_json(SCHEMA_PATH)
    original = load_json(args.dashboard)
    errors = schema_errors(original, schema)
    assert not errors, f"the unmodified dashboard fails: {errors}"
    print(f"ok    unmodified {args.dashboard}: accepted")
    for mutate, by_schema in MUTATIONS:
        broken = copy.deepcopy(original)
        mutate(broken)
        errors = schema_errors(broken, schema)
        name = mutate.__name__.removeprefix("mutation_")
        assert errors, f"{name}: the broken dashboard was accepted"
        if by_schema:
            assert any(e.startswith("schema:") for e in errors), (
                f"{name}: rejected, but not by Grafana's schema: {errors}"
            )
        print(f"ok    {name}: rejected ({errors[0][:150]})")
    print(f"selftest passed: {len(MUTATIONS)} broken dashboards rejected")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("schema", help="validate against Grafana's dashboard schema")
    p.add_argument("dashboard")
    p.set_defaults(func=cmd_schema)
    p = sub.add_parser("queries", help="run every panel's query against Prometheus")
    p.add_argument("dashboard")
    p.add_argument("--prometheus", required=True, help="base URL, e.g. http://127.0.0.1:9090")
    p.add_argument("--range", default="10m", type=lambda s: (seconds(s), s)[1], help="$__range (default 10m)")
    p.add_argument("--interval", default="1m", type=lambda s: (seconds(s), s)[1], help="$__interval (default 1m)")
    p.add_argument("--rate-interval", default="2m", type=lambda s: (seconds(s), s)[1],
                   help="$__rate_interval (default 2m)")
    p.add_argument("--time", type=float, help="evaluation time, Unix seconds (default: now)")
    p.set_defaults(func=cmd_queries)
    p = sub.add_parser("selftest", help="assert the schema check rejects broken dashboards")
    p.add_argument("dashboard", nargs="?", default=str(DEFAULT_DASHBOARD))
    p.set_defaults(func=cmd_selftest)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
