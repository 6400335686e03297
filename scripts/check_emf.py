#!/usr/bin/env python3
"""Checks log lines as CloudWatch Logs' EMF extraction would read them.

usage: check_emf.py FILE   (one log event per line; `-` reads stdin)

Every line that has an `_aws` member must be an Embedded Metric Format document:
valid against testdata/emf/emf.schema.json (the specification's document
structure), and carrying every target member its directives name: each dimension
as a string of at most 1024 characters, each metric as a number or an array of at
most 100 numbers. Lines without `_aws` are plain log events and are only checked to
be JSON objects. Prints one JSON line per EMF document, `{"metrics": {name: value},
"dimensions": {name: value}}`, for the caller to assert on; exit code 1 with the
line and the reason on the first violation.

Needs the `jsonschema` package (scripts/setup.sh's .venv has it).
"""
import json
import pathlib
import sys

import jsonschema

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "testdata" / "emf" / "emf.schema.json"


def target_member_errors(document):
    errors = []
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                value = document.get(name)
                if not isinstance(value, str) or len(value) > 1024:
                    errors.append(f"dimension {name!r} is not a root string member of at most 1024 characters")
        for metric in directive["Metrics"]:
            name = metric["Name"]
            value = document.get(name)
            numbers = value if isinstance(value, list) else [value]
            if isinstance(value, list) and len(value) > 100:
                errors.append(f"metric {name!r} has more than 100 values")
            if not numbers or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers
            ):
                errors.append(f"metric {name!r} is not a root number member")
    return errors


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    text = sys.stdin.read() if argv[1] == "-" else pathlib.Path(argv[1]).read_text()
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError as e:
            print(f"line {number}: not JSON ({e}): {line[:200]}", file=sys.stderr)
            return 1
        if not isinstance(document, dict):
            print(f"line {number}: not a JSON object: {line[:200]}", file=sys.stderr)
            return 1
        if "_aws" not in document:
            continue
        problems = [e.message for e in validator.iter_errors(document)]
        if not problems:
            problems = target_member_errors(document)
        if problems:
            print(f"line {number}: not an EMF document: {'; '.join(problems)}: {line[:300]}",
                  file=sys.stderr)
            return 1
        metrics, dimensions = {}, {}
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                for name in dimension_set:
                    dimensions[name] = document[name]
            for metric in directive["Metrics"]:
                metrics[metric["Name"]] = document[metric["Name"]]
        print(json.dumps({"line": number, "metrics": metrics, "dimensions": dimensions,
                          "message": document.get("message")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
