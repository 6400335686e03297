#!/usr/bin/env python3
"""Independent check, with botocore, of a SigV4-signed request captured by a server.

Usage:
    sigv4_verify.py CAPTURED.json

CAPTURED.json (an object; fields not listed are ignored):
    "method"      required  HTTP method, e.g. "POST"
    "url"         required  the full URL the client sent to, e.g.
                            "http://127.0.0.1:PORT/api/v1/write" (path and query as sent)
    "headers"     required  object of the request headers as the server received them,
                            name -> value (a list of strings for a repeated header);
                            names in any case. Must hold Authorization and X-Amz-Date;
                            a Host header here is used as signed instead of the URL's.
    "body_hex"    required  the received body, lower- or upper-case hex ("" if none)
    "credentials" optional  {"access_key_id", "secret_access_key", "session_token"
                            (optional or null)}; when absent the environment's
                            AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
                            AWS_SESSION_TOKEN (optional) are used
    "region"      optional  expected region; default: the Authorization credential scope's
    "service"     optional  expected service; default: the credential scope's

What is checked: botocore's SigV4Auth re-signs the same method, URL, body and exactly
the headers named in the captured Authorization's SignedHeaders, at the time given by
the captured X-Amz-Date (botocore.auth.get_current_datetime is patched), with the given
credentials, region and service. Also: a received X-Amz-Security-Token must equal the
credentials' session token, and a received X-Amz-Content-SHA256 must be the body's
SHA-256 (botocore would otherwise trust it in place of the body).

Exit status and output:
    0  prints "sigv4 ok"
    1  prints "sigv4 MISMATCH: ..." with both Authorization values (or the failed check)
    2  unusable input (missing file, field, header or credentials); message on stderr
"""
import datetime
import hashlib
import json
import os
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class BadInput(Exception):
    """The capture or the environment cannot be checked at all (exit 2)."""


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            captured = json.load(f)
    except (OSError, ValueError) as e:
        raise BadInput(f"cannot read {path}: {e}") from e
    for field in ("method", "url", "headers", "body_hex"):
        if field not in captured:
            raise BadInput(f"{path}: missing field {field!r}")
    return captured


def header_values(headers):
    """name (lower case) -> list of values, merging names that differ only in case."""
    merged = {}
    for name, value in headers.items():
        values = value if isinstance(value, list) else [value]
        merged.setdefault(name.lower(), []).extend(str(v) for v in values)
    return merged


def credentials_from(captured):
    given = captured.get("credentials")
    if given is not None:
        try:
            return Credentials(
                given["access_key_id"], given["secret_access_key"], given.get("session_token")
            )
        except KeyError as e:
            raise BadInput(f"credentials: missing {e}") from e
    try:
        return Credentials(
            os.environ["AWS_ACCESS_KEY_ID"],
            os.environ["AWS_SECRET_ACCESS_KEY"],
            os.environ.get("AWS_SESSION_TOKEN") or None,
        )
    except KeyError as e:
        raise BadInput(f"no 'credentials' in the capture and {e} is not set") from e


def parse_authorization(authorization):
    """(access key, date, region, service, signed header names) of an Authorization."""
    try:
        algorithm, rest = authorization.split(" ", 1)
        fields = dict(part.strip().split("=", 1) for part in rest.split(","))
        key, date, region, service, terminator = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
    except (ValueError, KeyError) as e:
        raise BadInput(f"unparseable Authorization {authorization!r}") from e
    if algorithm != "AWS4-HMAC-SHA256" or terminator != "aws4_request":
        raise BadInput(f"not a SigV4 Authorization: {authorization!r}")
    return key, date, region, service, signed


def check(captured):
    """Returns None when everything matches, else a description of the mismatch."""
    headers = header_values(captured["headers"])
    if "authorization" not in headers or "x-amz-date" not in headers:
        raise BadInput("the capture has no Authorization or no X-Amz-Date header")
    authorization = headers["authorization"][0]
    _key, _date, scope_region, scope_service, signed = parse_authorization(authorization)
    region = captured.get("region") or scope_region
    service = captured.get("service") or scope_service
    try:
        frozen = datetime.datetime.strptime(headers["x-amz-date"][0], "%Y%m%dT%H%M%SZ")
        body = bytes.fromhex(captured["body_hex"])
    except ValueError as e:
        raise BadInput(f"bad X-Amz-Date or body_hex: {e}") from e
    credentials = credentials_from(captured)

    sent_token = headers.get("x-amz-security-token", [None])[0]
    if sent_token != credentials.token:
        return f"X-Amz-Security-Token sent {sent_token!r}, credentials have {credentials.token!r}"
    sent_hash = headers.get("x-amz-content-sha256", [None])[0]
    body_hash = hashlib.sha256(body).hexdigest()
    if sent_hash is not None and sent_hash != body_hash:
        return f"X-Amz-Content-SHA256 {sent_hash} is not the body's SHA-256 {body_hash}"

    # botocore adds X-Amz-Date and X-Amz-Security-Token itself (and Host from the URL
    # when absent); give it every other signed header exactly as received.
    request = AWSRequest(method=captured["method"], url=captured["url"], data=body)
    for name in signed:
        if name in ("x-amz-date", "x-amz-security-token"):
            continue
        if name not in headers:
            return f"SignedHeaders names {name!r}, which the request does not carry"
        for value in headers[name]:
            request.headers[name] = value

    botocore.auth.get_current_datetime = lambda *args, **kwargs: frozen
    botocore.auth.SigV4Auth(credentials, service, region).add_auth(request)
    expected = request.headers["Authorization"]
    if expected != authorization:
        return f"Authorization differs\n  received: {authorization}\n  botocore: {expected}"
    return None


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        problem = check(load(argv[1]))
    except BadInput as e:
        print(f"sigv4_verify: {e}", file=sys.stderr)
        return 2
    if problem is None:
        print("sigv4 ok")
        return 0
    print(f"sigv4 MISMATCH: {problem}")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
