#!/usr/bin/env python3
"""Independent check of a captured SigV4-signed request, with botocore.

Usage: sigv4_verify.py CAPTURED.json

CAPTURED.json: {"method": "POST", "url": "http://127.0.0.1:PORT/api/v1/write",
                "headers": {"name": "value", ...}, "body_hex": "..."}
Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
Region and service are read from the Authorization header's credential scope, the time
from X-Amz-Date. botocore re-signs the same request (only the headers named in
SignedHeaders) at that time; prints "sigv4 ok" and exits 0 when the Authorization
headers are equal, else prints both and exits 1.
"""
import datetime
import json
import os
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        captured = json.load(f)
    headers = {k.lower(): v for k, v in captured["headers"].items()}
    authorization = headers["authorization"]
    scope = authorization.split("Credential=")[1].split(",")[0]
    _key, _date, region, service, _term = scope.split("/")
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    amz_date = headers["x-amz-date"]
    frozen = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda *a, **k: frozen

    body = bytes.fromhex(captured["body_hex"])
    to_sign = {
        name: headers[name]
        for name in signed
        if name not in ("host", "x-amz-date", "x-amz-security-token")
    }
    request = AWSRequest(method=captured["method"], url=captured["url"], data=body, headers=to_sign)
    credentials = Credentials(
        os.environ["AWS_ACCESS_KEY_ID"],
        os.environ["AWS_SECRET_ACCESS_KEY"],
        os.environ.get("AWS_SESSION_TOKEN"),
    )
    botocore.auth.SigV4Auth(credentials, service, region).add_auth(request)
    expected = request.headers["Authorization"]
    if expected == authorization:
        print("sigv4 ok")
        return 0
    print(f"sigv4 MISMATCH\n  received: {authorization}\n  botocore: {expected}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
