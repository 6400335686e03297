#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ from the repository's own test
data (testdata/, examples/, test fixtures), each input in the byte layout its target
reads (control bytes, then text; see each target's doc comment). Files larger than
64 KiB are left out so the committed corpora stay small. Run once when a target is
added; the corpora then grow by fuzzing and shrink with `cargo fuzz cmin`.
"""
import base64
import hashlib
import json
import struct
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
MAX_BYTES = 64 * 1024


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_BYTES:
        return
    out = CORPUS / target
    out.mkdir(parents=True, exist_ok=True)
    (out / hashlib.sha1(data).hexdigest()).write_bytes(data)


def files(*patterns):
    for pattern in patterns:
        for path in sorted(ROOT.glob(pattern)):
            if path.is_file() and path.stat().st_size <= MAX_BYTES:
                yield path


def walk(value, key=None):
    """Every (key, value) pair in a JSON document."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from walk(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v, key)


def exposition():
    cuts = struct.pack("<8H", 1, 7, 40, 41, 200, 999, 4096, 65535)
    bodies = []
    for path in files("testdata/prom_textparse_testdata/**/*.txt"):
        bodies.append((path.name.endswith(".om.txt"), path.read_bytes()))
    cases = json.loads((ROOT / "testdata/promparse_cases.json").read_text())
    for key in ("series_tests", "error_tests"):
        for case in cases[key]:
            openmetrics = "openmetrics" in case.get("format", "")
            body = base64.b64decode(case["input_b64"]) if case.get("input_b64") else (
                case.get("input") or "").encode()
            bodies.append((openmetrics, body))
    for openmetrics, body in bodies:
        write("exposition_split", bytes([1 if openmetrics else 0]) + cuts + body)


def alerts():
    texts = [p.read_bytes() for p in files(
        "crates/alert-model/tests/fixtures/*",
        "examples/alarm-handler/events/*.json",
        "examples/setups/*/events/*.json",
    )]
    for i, text in enumerate(texts):
        write("alert_notification", bytes([i % 32]) + text)
        write("lenient_json", text)
        # Cut short, as SNS senders do.
        write("lenient_json", text[: len(text) * 2 // 3])
        write("lambda_events", bytes([1]) + text)
    for path in files("examples/*/events/*.json", "examples/setups/*/events/*.json",
                      "examples/setups/*/cloudwatch-alarm.json"):
        write("lambda_events", bytes([0]) + path.read_bytes())


def templates():
    for path in files("examples/alarm-handler/templates/*.tmpl"):
        write("template", bytes([1]) + path.read_bytes())
    for path in files("examples/alarm-handler/*.yaml", "examples/setups/*/alertmanager.yaml",
                      "examples/setups/*/alarm-handler.yaml"):
        for line in path.read_text().splitlines():
            if "{{" in line:
                value = line.split(":", 1)[-1].strip().strip("'\"")
                write("template", bytes([0]) + value.encode())
    write("template", b"\x00{{ range .Alerts.Firing }}{{ .Labels.alertname }}: "
          b"{{ .Annotations.summary | toUpper }}{{ end }}")
    write("template", b"\x00{{ define \"x\" }}{{ printf \"%s %d %.2f\" .Status 3 1.5 }}"
          b"{{ end }}{{ template \"x\" . }}{{ with .CommonLabels }}{{ .SortedPairs }}{{ end }}")


def matchers():
    data = json.loads((ROOT / "testdata/am_matchers.json").read_text())
    for key, value in walk(data):
        if key == "input" and isinstance(value, str):
            write("matchers", value)


def relabel():
    data = json.loads((ROOT / "testdata/relabel_cases.json").read_text())
    for case in data["relabel_cases"]:
        labels = "\n".join(f"{k}={v}" for k, v in case["input"].items())
        for configs in (case.get("configs_as_written"), case.get("configs")):
            if configs:
                write("relabel", b"\x00" + json.dumps(configs).encode() + b"\x00" +
                      labels.encode())
    for case in data["validate_cases"]:
        config = dict(case["config"])
        utf8 = config.pop("name_validation_scheme", None) == "utf8"
        write("relabel", bytes([1 if utf8 else 0]) + json.dumps([config]).encode() +
              b"\x00a=b")


def configs():
    for path in files("examples/alarm-handler/*.yaml", "examples/setups/*/alertmanager.yaml",
                      "examples/setups/*/alarm-handler.yaml"):
        write("alertmanager_config", path.read_bytes())
    routes = json.loads((ROOT / "testdata/am_routes_cases.json").read_text())
    for key, value in walk(routes):
        if key == "route_yaml":
            route = "\n".join("  " + line for line in value.splitlines())
            write("alertmanager_config", f"route:\n{route}\nreceivers: []\n")
    for path in files("examples/scaler/*.yaml", "examples/setups/*/scaler.yaml"):
        write("scaler_config", path.read_bytes())
    for path in files("examples/scraper/*.yaml", "examples/kubernetes/*.yaml",
                      "examples/setups/*/scraper.yaml"):
        text = path.read_text()
        write("scraper_config", text)
        if "cloudwatch:" in text:
            block = text.split("cloudwatch:", 1)[1]
            lines = [l for l in block.splitlines() if l.startswith("  ") or not l.strip()]
            write("yace_config", "\n".join(l[2:] for l in lines))


def remote_write():
    # Arbitrary-derived input: limits, then entries; a few hand-made shapes.
    write("remote_write_roundtrip", bytes(range(64)))
    write("remote_write_roundtrip", b"\x03\x00\x00\x04" + b"\x00up\x00job\x00node" * 8)


if __name__ == "__main__":
    exposition()
    alerts()
    templates()
    matchers()
    relabel()
    configs()
    remote_write()
    for target in sorted(CORPUS.iterdir()):
        count = sum(1 for _ in target.iterdir())
        size = sum(p.stat().st_size for p in target.iterdir())
        print(f"{target.name}: {count} inputs, {size} bytes")
