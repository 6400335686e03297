#!/usr/bin/env python3
"""Checks JSON bodies of Alertmanager's v2 API against Alertmanager's own OpenAPI spec.

The alarm handler speaks to Alertmanager (and serves an Alertmanager-compatible v2 API)
with hand-written Rust types. Those types are only right if the JSON they produce and
accept has exactly the shapes upstream declares, so the tests write the bodies they send
and receive to a file and this script validates them against the Swagger 2.0 spec taken
verbatim from prometheus/alertmanager v0.25.0 (testdata/alertmanager/openapi.yaml, see
testdata/PROVENANCE.md).

  check_openapi.py check FILE.jsonl [--spec SPEC]
      FILE.jsonl holds one JSON object per line, either a response
          {"method": "GET", "path": "/api/v2/silences", "status": 200, "body": [...]}
      or a request body
          {"method": "POST", "path": "/api/v2/silences", "request": {...}}
      (a line may carry both). The path is matched against the spec's path templates
      under its basePath (/api/v2/silence/abc matches /silence/{silenceID}; a query
      string is ignored). A response body is validated against the schema of that
      status code, a request body against the operation's `in: body` parameter.
      Prints one line per checked body, `ok GET /api/v2/silences 200` or
      `FAIL GET /api/v2/silences 200 (line 3): $[0].status.state: ...`, and exits 1
      if any body failed or an operation, status or body parameter is not in the spec.
      A response the spec gives no schema (DELETE /silence/{id} 200, POST /alerts 200)
      must have no body (the key absent, or null).

  check_openapi.py selftest
      Validates hand-built valid bodies (each must pass) and broken ones (each must
      fail); exits 1 on any mismatch.

How Swagger 2.0 is turned into JSON Schema (draft 2020-12, validated with `jsonschema`):
  - `#/definitions/...` refs resolve against a root schema holding the spec's
    definitions; `#/responses/...` refs of responses are followed.
  - Exact shapes: every object schema with `properties` (definitions and inline
    schemas alike) gets `additionalProperties: false` unless it says otherwise. This is
    stricter than Alertmanager, whose go-swagger models ignore unknown fields.
  - Because of that, an `allOf` of object schemas (gettableSilence, postableSilence,
    gettableAlert, postableAlert) is merged into one object schema (properties and
    required lists united); otherwise each part would reject the other's fields.
  - `format: date-time` is checked as RFC 3339 (what Alertmanager emits; go-openapi's
    strfmt parser also accepts a few other layouts, which we do not want to send),
    `int32`/`int64` as ranges. `uri` and `uuid` are not checked.
  - `x-nullable: true` (not used by the v0.25.0 spec, handled in case) admits null.

Needs the `jsonschema` and `yaml` (PyYAML) packages (scripts/setup.sh's .venv has them).
"""

import argparse
import copy
import datetime
import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "testdata" / "alertmanager" / "openapi.yaml"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def load_spec(path=SPEC_PATH):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


# --- Swagger 2.0 -> JSON Schema -------------------------------------------------------


def ref_target(spec, ref):
    if not ref.startswith("#/"):
        raise ValueError(f"only local refs are supported: {ref}")
    node = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def merge_all_of(spec, schema):
    """An allOf of object schemas as one object schema, or None if it is not one."""
    merged = {"type": "object", "properties": {}, "required": []}
    for part in schema["allOf"]:
        while "$ref" in part:
            part = ref_target(spec, part["$ref"])
        if "allOf" in part:
            part = merge_all_of(spec, part)
            if part is None:
                return None
        if part.get("type", "object") != "object" or set(part) - {
            "type", "properties", "required", "description", "title", "additionalProperties",
        }:
            return None
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += [r for r in part.get("required", []) if r not in merged["required"]]
        if "additionalProperties" in part:
            merged["additionalProperties"] = part["additionalProperties"]
    for key in ("description", "title"):
        if key in schema:
            merged[key] = schema[key]
    return merged


def to_json_schema(spec, schema):
    """A copy of a Swagger 2.0 schema object as strict JSON Schema (see the docstring)."""
    if not isinstance(schema, dict):
        return schema
    if "allOf" in schema:
        merged = merge_all_of(spec, schema)
        if merged is not None:
            schema = merged
    out = {}
    for key, value in schema.items():
        if key in ("properties", "definitions", "$defs"):
            out[key] = {name: to_json_schema(spec, sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = to_json_schema(spec, value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [to_json_schema(spec, sub) for sub in value]
        elif key == "x-nullable":
            continue
        else:
            out[key] = copy.deepcopy(value)
    if "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if schema.get("x-nullable") is True:
        out = {"anyOf": [out, {"type": "null"}]}
    return out


def format_checker():
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def is_date_time(value):
        if not isinstance(value, str):
            return True
        m = RFC3339.match(value)
        if not m:
            raise ValueError("not an RFC 3339 date-time")
        year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
        datetime.datetime(year, month, day, hour, minute, min(second, 59))  # 60: leap second
        offset = m.group(8)
        if offset not in ("Z", "z") and (int(offset[1:3]) > 23 or int(offset[4:6]) > 59):
            raise ValueError("bad UTC offset")
        return True

    @checker.checks("int32")
    def is_int32(value):
        return not isinstance(value, int) or -(2**31) <= value < 2**31

    @checker.checks("int64")
    def is_int64(value):
        return not isinstance(value, int) or -(2**63) <= value < 2**63

    return checker


FORMAT_CHECKER = format_checker()


def validator_for(spec, schema):
    root = to_json_schema(spec, schema)
    root["definitions"] = to_json_schema(spec, {"definitions": spec.get("definitions", {})})[
        "definitions"
    ]
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(root)
    return jsonschema.Draft202012Validator(root, format_checker=FORMAT_CHECKER)


# --- finding the operation ------------------------------------------------------------


def base_path(spec):
    return "/" + (spec.get("basePath") or "/").strip("/")


def find_path(spec, path):
    """(template, path item) for a request path such as /api/v2/silence/abc, or None."""
    path = path.split("?", 1)[0]
    base = base_path(spec)
    if base != "/":
        if not (path == base or path.startswith(base + "/")):
            return None
        path = path[len(base):] or "/"
    paths = spec.get("paths", {})
    if path in paths:
        return path, paths[path]
    for template, item in paths.items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template, item
    return None


def find_operation(spec, method, path):
    """(template, operation, parameters) or raises LookupError."""
    found = find_path(spec, path)
    if found is None:
        raise LookupError(f"path {path} is not in the spec (basePath {base_path(spec)})")
    template, item = found
    op = item.get(method.lower())
    if method.lower() not in HTTP_METHODS or op is None:
        raise LookupError(f"{method.upper()} {template} is not in the spec")
    params = {}
    for p in item.get("parameters", []) + op.get("parameters", []):
        if "$ref" in p:
            p = ref_target(spec, p["$ref"])
        params[(p["in"], p["name"])] = p
    return template, op, list(params.values())


def response_schema(spec, op, status):
    """(found, schema or None) for a status code of an operation."""
    responses = op.get("responses", {})
    resp = responses.get(str(status), responses.get("default"))
    if resp is None:
        return False, None
    while "$ref" in resp:
        resp = ref_target(spec, resp["$ref"])
    return True, resp.get("schema")


def first_error(validator, body):
    errors = sorted(validator.iter_errors(body), key=lambda e: (list(e.absolute_path), e.message))
    if not errors:
        return None
    best = jsonschema.exceptions.best_match(errors)
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    message = best.message if len(best.message) <= 300 else best.message[:297] + "..."
    return f"{best.json_path}: {message}{more}"


def check_entry(spec, entry):
    """[(label, error or None)] for one line of the input: its request and/or response."""
    results = []
    method = str(entry.get("method", "")).upper()
    path = entry.get("path", "")
    if "request" not in entry and "status" not in entry:
        return [(f"{method} {path}", "line has neither `request` nor `status`")]
    try:
        template, op, params = find_operation(spec, method, path)
    except LookupError as e:
        return [(f"{method} {path}", str(e))]
    if "request" in entry:
        label = f"{method} {path} request"
        body_params = [p for p in params if p["in"] == "body"]
        if not body_params:
            results.append((label, f"{method} {template} takes no body parameter"))
        else:
            v = validator_for(spec, body_params[0]["schema"])
            results.append((label, first_error(v, entry["request"])))
    if "status" in entry:
        status = entry["status"]
        label = f"{method} {path} {status}"
        found, schema = response_schema(spec, op, status)
        if not found:
            results.append((label, f"status {status} is not a response of {method} {template}"))
        elif schema is None:
            body = entry.get("body")
            err = None if body is None else f"{method} {template} {status} has no body in the spec"
            results.append((label, err))
        elif "body" not in entry:
            results.append((label, "no `body` given for a response that has one"))
        else:
            results.append((label, first_error(validator_for(spec, schema), entry["body"])))
    return results


def cmd_check(args):
    spec = load_spec(args.spec)
    failed = 0
    checked = 0
    with open(args.file, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"FAIL line {lineno}: not JSON: {e}")
                failed += 1
                checked += 1
                continue
            if not isinstance(entry, dict):
                print(f"FAIL line {lineno}: not a JSON object")
                failed += 1
                checked += 1
                continue
            for label, err in check_entry(spec, entry):
                checked += 1
                if err is None:
                    print(f"ok {label}")
                else:
                    failed += 1
                    print(f"FAIL {label} (line {lineno}): {err}")
    if failed:
        print(f"{args.file}: {failed} of {checked} failed", file=sys.stderr)
        return 1
    if checked == 0:
        print(f"{args.file}: no bodies to check", file=sys.stderr)
        return 1
    return 0


# --- selftest -------------------------------------------------------------------------

T0 = "2023-01-02T03:04:05.000Z"
T1 = "2023-01-02T05:04:05.000Z"


def silence_body():
    return {
        "id": "c3f2b3d4-1e1a-4f4c-9a5e-2b6f1c0d9e8a",
        "status": {"state": "active"},
        "updatedAt": T0,
        "matchers": [{"name": "alertname", "value": "HighLatency", "isRegex": False, "isEqual": True}],
        "startsAt": T0,
        "endsAt": T1,
        "createdBy": "alarm-handler",
        "comment": "deploy",
    }


def alert_body():
    return {
        "annotations": {"summary": "p99 above 1s"},
        "receivers": [{"name": "pager"}],
        "fingerprint": "3c9e5bbd3a7b6f7e",
        "startsAt": T0,
        "updatedAt": T0,
        "endsAt": T1,
        "status": {"state": "suppressed", "silencedBy": ["c3f2b3d4"], "inhibitedBy": []},
        "labels": {"alertname": "HighLatency", "service": "api"},
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
    }


def status_body():
    return {
        "cluster": {"name": "01GM", "status": "ready", "peers": [{"name": "01GM", "address": "10.0.0.1:9094"}]},
        "versionInfo": {
            "version": "0.25.0", "revision": "258fab7c", "branch": "HEAD",
            "buildUser": "root@x", "buildDate": "20221222-14:51:36", "goVersion": "go1.19.4",
        },
        "config": {"original": "route:\n  receiver: pager\n"},
        "uptime": T0,
    }


def postable_silence():
    s = silence_body()
    for key in ("status", "updatedAt"):
        del s[key]
    return s


def without(d, key):
    d = copy.deepcopy(d)
    del d[key]
    return d


def with_(d, **kv):
    d = copy.deepcopy(d)
    d.update(kv)
    return d


def selftest_cases():
    """(name, entry, expect_ok)."""
    s, a, st, ps = silence_body(), alert_body(), status_body(), postable_silence()
    get = lambda path, status, body: {"method": "GET", "path": path, "status": status, "body": body}
    group = {"labels": {"alertname": "HighLatency"}, "receiver": {"name": "pager"}, "alerts": [a]}
    valid = [
        ("gettableSilence", get("/api/v2/silence/c3f2b3d4", 200, s)),
        ("gettableSilences", get("/api/v2/silences", 200, [s, with_(s, status={"state": "expired"})])),
        ("empty silence list", get("/api/v2/silences", 200, [])),
        ("gettableAlerts", get("/api/v2/alerts?active=true&filter=a%3D%22b%22", 200, [a, without(a, "generatorURL")])),
        ("alertGroups", get("/api/v2/alerts/groups", 200, [group])),
        ("alertmanagerStatus", get("/api/v2/status", 200, st)),
        ("cluster disabled, no peers", get("/api/v2/status", 200, with_(st, cluster={"status": "disabled"}))),
        ("postableSilence", {"method": "POST", "path": "/api/v2/silences", "request": ps}),
        ("postableSilence without id", {"method": "POST", "path": "/api/v2/silences", "request": without(ps, "id")}),
        ("postSilences 200", {"method": "POST", "path": "/api/v2/silences", "status": 200, "body": {"silenceID": s["id"]}}),
        ("postSilences 400 string", {"method": "POST", "path": "/api/v2/silences", "status": 400, "body": "bad matcher"}),
        ("postableAlerts", {"method": "POST", "path": "/api/v2/alerts", "request": [
            {"labels": {"alertname": "X"}}, {"labels": {"alertname": "Y"}, "annotations": {}, "startsAt": T0, "endsAt": T1}]}),
        ("postAlerts 200 no body", {"method": "POST", "path": "/api/v2/alerts", "status": 200}),
        ("deleteSilence 200 no body", {"method": "DELETE", "path": "/api/v2/silence/c3f2b3d4", "status": 200, "body": None}),
        ("date-time with offset", get("/api/v2/silence/x", 200, with_(s, endsAt="2023-01-02T07:04:05.123456+02:00"))),
    ]
    bad_matcher = with_(ps, matchers=[{"name": "a", "value": "b"}])
    invalid = [
        ("silence missing createdBy", get("/api/v2/silence/x", 200, without(s, "createdBy"))),
        ("silence missing status", get("/api/v2/silences", 200, [without(s, "status")])),
        ("silence startsAt not a string", get("/api/v2/silence/x", 200, with_(s, startsAt=1672628645))),
        ("silence unknown field", get("/api/v2/silence/x", 200, with_(s, silenceID="x"))),
        ("silence bad date-time", get("/api/v2/silence/x", 200, with_(s, endsAt="2023-01-02 05:04:05"))),
        ("silence date-time without zone", get("/api/v2/silence/x", 200, with_(s, endsAt="2023-01-02T05:04:05"))),
        ("silence impossible date", get("/api/v2/silence/x", 200, with_(s, endsAt="2023-02-30T05:04:05Z"))),
        ("silence state enum", get("/api/v2/silence/x", 200, with_(s, status={"state": "Active"}))),
        ("silence empty matchers", get("/api/v2/silence/x", 200, with_(s, matchers=[]))),
        ("alert state enum", get("/api/v2/alerts", 200, [with_(a, status={"state": "firing", "silencedBy": [], "inhibitedBy": []})])),
        ("alert missing fingerprint", get("/api/v2/alerts", 200, [without(a, "fingerprint")])),
        ("alert label not a string", get("/api/v2/alerts", 200, [with_(a, labels={"severity": 2})])),
        ("alert unknown field", get("/api/v2/alerts", 200, [with_(a, generatorUrl="http://x")])),
        ("alerts not a list", get("/api/v2/alerts", 200, a)),
        ("group missing receiver", get("/api/v2/alerts/groups", 200, [without(group, "receiver")])),
        ("group receiver a string", get("/api/v2/alerts/groups", 200, [with_(group, receiver="pager")])),
        ("status cluster enum", get("/api/v2/status", 200, with_(st, cluster={"status": "up"}))),
        ("status missing uptime", get("/api/v2/status", 200, without(st, "uptime"))),
        ("versionInfo unknown field", get("/api/v2/status", 200, with_(st, versionInfo=with_(st["versionInfo"], extra="1")))),
        ("postableSilence missing comment", {"method": "POST", "path": "/api/v2/silences", "request": without(ps, "comment")}),
        ("postableSilence matcher missing isRegex", {"method": "POST", "path": "/api/v2/silences", "request": bad_matcher}),
        ("postableSilence with status", {"method": "POST", "path": "/api/v2/silences", "request": with_(ps, status={"state": "active"})}),
        ("postSilences 200 unknown field", {"method": "POST", "path": "/api/v2/silences", "status": 200, "body": {"silenceId": "x"}}),
        ("postSilences 200 id not a string", {"method": "POST", "path": "/api/v2/silences", "status": 200, "body": {"silenceID": 7}}),
        ("postAlerts missing labels", {"method": "POST", "path": "/api/v2/alerts", "request": [{"annotations": {}}]}),
        ("postAlerts bad startsAt", {"method": "POST", "path": "/api/v2/alerts", "request": [{"labels": {}, "startsAt": "now"}]}),
        ("postAlerts 200 with a body", {"method": "POST", "path": "/api/v2/alerts", "status": 200, "body": {"ok": True}}),
        ("status code not in spec", get("/api/v2/silences", 404, "nope")),
        ("path not in spec", get("/api/v2/silence", 200, s)),
        ("path outside basePath", get("/api/v1/silences", 200, [s])),
        ("method not in spec", {"method": "PUT", "path": "/api/v2/silences", "status": 200, "body": []}),
        ("GET has no request body", {"method": "GET", "path": "/api/v2/silences", "request": {}}),
    ]
    return [(n, e, True) for n, e in valid] + [(n, e, False) for n, e in invalid]


def cmd_selftest(args):
    spec = load_spec(args.spec)
    # The spec itself, each definition converted, must be a valid JSON Schema.
    for name, definition in spec["definitions"].items():
        validator_for(spec, definition)
    # x-nullable, which the v0.25.0 spec does not use.
    nullable = {"type": "object", "properties": {"a": {"type": "string", "x-nullable": True}}}
    v = validator_for(spec, nullable)
    assert v.is_valid({"a": None}) and v.is_valid({"a": "x"}) and not v.is_valid({"a": 1}), "x-nullable"
    mismatches = []
    cases = selftest_cases()
    for name, entry, expect_ok in cases:
        results = check_entry(spec, entry)
        ok = all(err is None for _, err in results)
        detail = "; ".join(err for _, err in results if err) or "passed"
        if ok != expect_ok:
            mismatches.append(f"{name}: expected {'pass' if expect_ok else 'failure'}, got {detail}")
        elif args.verbose:
            print(f"{'ok  ' if ok else 'FAIL'} (as expected) {name}: {detail}")
    if mismatches:
        for line in mismatches:
            print(f"MISMATCH {line}", file=sys.stderr)
        return 1
    n_ok = sum(1 for *_, e in cases if e)
    print(f"selftest passed: {n_ok} valid bodies accepted, {len(cases) - n_ok} broken ones rejected")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=SPEC_PATH, help="Swagger 2.0 spec (YAML or JSON)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="validate the bodies of a JSON-lines file")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("selftest", help="assert valid bodies pass and broken ones fail")
    p.add_argument("-v", "--verbose", action="store_true", help="print each case")
    p.set_defaults(func=cmd_selftest)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
