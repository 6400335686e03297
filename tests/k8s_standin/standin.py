#!/usr/bin/env python3
"""A stand-in for the part of the Kubernetes API that the scaler calls.

No real API server can run on the test machine, so the scaler's tests talk to this
program instead. It serves HTTPS, checks EKS bearer tokens the way EKS does (a
presigned STS GetCallerIdentity URL, re-signed here with botocore), and implements:

  autoscaling/v2  horizontalpodautoscalers          GET, PATCH, PUT, list
  apps/v1         deployments, statefulsets         GET, PATCH, PUT, list
  apps/v1         deployments/scale, .../scale      GET, PATCH, PUT (autoscaling/v1 Scale)
  v1              events                            POST, list, GET, PATCH
  events.k8s.io/v1 events                           POST, list, GET, PATCH (same storage)
  v1              pods, services, endpoints, nodes  GET, list, watch (read-only)
  discovery.k8s.io/v1 endpointslices                GET, list, watch (read-only)
  networking.k8s.io/v1 ingresses                    GET, list, watch (read-only)
  v1              nodes/proxy, pods/proxy           forwarded to local plain-HTTP backends
  /version, /api, /apis, /api/v1, /apis/{group}[/{version}]   discovery documents

Lists page with limit/continue over a consistent snapshot (remainingItemCount, 410
after compaction) and take label and field selectors; watch=true streams
ADDED/MODIFIED/DELETED/BOOKMARK events of changes made after the given resourceVersion.

with the API server's documented behaviour where the scaler can observe it: merge,
JSON and (as merge) strategic-merge patches; resourceVersion preconditions (409);
generation; defaulting and validation (422 with field causes); name/namespace/uid
checks; dryRun=All; unknown fields dropped with a Warning header (fieldValidation);
no-op writes that keep the resourceVersion; and Kubernetes Status error bodies.

A small unauthenticated control API under /_standin/ lets tests seed objects, inject
concurrent edits and faults (409, 500, dropped connections), read the request log and
an object's history. See README.md next to this file.

Usage:
  standin.py --port PORT --cert CERT.pem --key KEY.pem --cluster NAME --region REGION
             --access-key-id ID --secret-access-key SECRET [--session-token TOKEN]
             [--token-max-age 900] [--host 127.0.0.1] [--port-file FILE] [--verbose]
             [--seed FILE ...] [--generate-pods N] [--git-version v1.33.1]
             [--watch-timeout 300]

Prints READY on stdout once it listens.
"""
import argparse
import base64
import bisect
import copy
import datetime as dt
import hmac
import http.client
import http.server
import json
import re
import secrets
import select
import socket
import ssl
import sys
import threading
import time
import traceback
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
MAX_BODY_BYTES = 3 * 1024 * 1024  # the API server's limit for a request body
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)


# ---------------------------------------------------------------------------
# Status bodies and field errors (k8s.io/apimachinery/pkg/api/errors)
# ---------------------------------------------------------------------------


class ApiError(Exception):
    """An error answered with a Kubernetes Status body.

    `detail` is a more precise reason for the request log when the Status itself says
    less (as the real API does, e.g. for a failed JSON-patch `test`)."""

    def __init__(self, status, detail=None):
        super().__init__(status.get("message", ""))
        self.status = status
        self.detail = detail or status.get("message")

    @property
    def code(self):
        return self.status["code"]


def status_body(code, reason, message, details=None):
    """A metav1.Status with the field order and omissions of the real API."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
    if message:
        body["message"] = message
    if reason:
        body["reason"] = reason
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def status_details(name="", group="", kind="", causes=None):
    """metav1.StatusDetails; empty fields are omitted as in Go (omitempty)."""
    details = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    return details


def go_quote(text):
    """Go's %q for ordinary strings."""
    return json.dumps(text, ensure_ascii=False)


class GoRaw(str):
    """A value already formatted the way Go would print it."""


def go_value(value):
    """How field.Error prints a bad value."""
    if isinstance(value, GoRaw):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return go_quote(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class FieldError:
    """One k8s.io/apimachinery/pkg/util/validation/field.Error."""

    LABELS = {
        "Invalid": ("Invalid value", "FieldValueInvalid"),
        "Required": ("Required value", "FieldValueRequired"),
        "NotSupported": ("Unsupported value", "FieldValueNotSupported"),
        "Forbidden": ("Forbidden", "FieldValueForbidden"),
        "TooLong": ("Too long", "FieldValueTooLong"),
    }

    def __init__(self, kind, field, value=None, detail=""):
        self.kind, self.field, self.value, self.detail = kind, field, value, detail

    def body(self):
        label = self.LABELS[self.kind][0]
        text = label if self.kind in ("Required", "Forbidden", "TooLong") else (
            f"{label}: {go_value(self.value)}")
        return f"{text}: {self.detail}" if self.detail else text

    def error(self):
        return f"{self.field}: {self.body()}"

    def cause(self):
        return {"reason": self.LABELS[self.kind][1], "message": self.body(), "field": self.field}


def aggregate(errors):
    """utilerrors.NewAggregate(...).Error(): one message, or [a, b] (deduplicated)."""
    messages = []
    for e in errors:
        if e.error() not in messages:
            messages.append(e.error())
    return messages[0] if len(messages) == 1 else "[" + ", ".join(messages) + "]"


def err_not_found(kind, name):
    """errors.NewNotFound."""
    message = f"{kind.group_resource} {go_quote(name)} not found"
    return ApiError(status_body(404, "NotFound", message,
                                status_details(name, kind.group, kind.plural)))


def err_already_exists(kind, name):
    """errors.NewAlreadyExists."""
    return ApiError(status_body(409, "AlreadyExists",
                                f"{kind.group_resource} {go_quote(name)} already exists",
                                status_details(name, kind.group, kind.plural)))


def err_conflict(group, resource, name, why):
    """errors.NewConflict: details.kind is the resource (plural), as in the real API."""
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(status_body(
        409, "Conflict", f"Operation cannot be fulfilled on {qualified} {go_quote(name)}: {why}",
        status_details(name, group, resource)))


OPTIMISTIC_LOCK = ("the object has been modified; please apply your changes to the latest "
                   "version and try again")


def err_invalid(group, kind_name, name, errors):
    """errors.NewInvalid for a GroupKind (empty group and kind give the bare form)."""
    qualified = f"{kind_name}.{group}" if group else kind_name
    return ApiError(status_body(
        422, "Invalid", f"{qualified} {go_quote(name)} is invalid: {aggregate(errors)}",
        status_details(name, group, kind_name, [e.cause() for e in errors])))


def err_bad_request(message):
    """errors.NewBadRequest: no details."""
    return ApiError(status_body(400, "BadRequest", message))


def err_generic(code, detail=None):
    """errors.NewGenericServerResponse without a resource: fixed message, empty details."""
    reason, message = {
        404: ("NotFound", "the server could not find the requested resource"),
        405: ("MethodNotAllowed",
              "the server does not allow this method on the requested resource"),
        422: ("Invalid", "the server rejected our request due to an error in our request"),
    }[code]
    return ApiError(status_body(code, reason, message, {}), detail)


def err_unsupported_media_type(content_type):
    """The patch handler's answer to a Content-Type it does not accept."""
    message = ("the body of the request was in an unknown format - accepted media types include: "
               + ", ".join(PATCH_TYPES))
    return ApiError(status_body(415, "UnsupportedMediaType", message),
                    f"unsupported Content-Type {content_type!r}")


def err_unauthorized(why):
    """The authenticator's 401; `why` goes to the request log only."""
    return ApiError(status_body(401, "Unauthorized", "Unauthorized"), why)


def err_internal(message):
    """errors.NewInternalError (a bug in the stand-in)."""
    return ApiError(status_body(500, "InternalError", f"Internal error occurred: {message}",
                                {"causes": [{"message": message}]}))


# ---------------------------------------------------------------------------
# EKS bearer tokens (aws-iam-authenticator's checks, then botocore re-signs)
# ---------------------------------------------------------------------------

TOKEN_PREFIX = "k8s-aws-v1."
TOKEN_PARAMETERS = ("Action", "Version", "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date",
                    "X-Amz-Expires", "X-Amz-SignedHeaders", "X-Amz-Signature",
                    "X-Amz-Security-Token")
_SIGNING_LOCK = threading.Lock()


class TokenVerifier:
    """Checks `Authorization: Bearer k8s-aws-v1.<base64url(presigned URL)>`."""

    def __init__(self, cluster, region, access_key_id, secret_access_key, session_token,
                 max_age_seconds):
        self.cluster = cluster
        self.region = region
        self.credentials = Credentials(access_key_id, secret_access_key, session_token)
        self.max_age = dt.timedelta(seconds=max_age_seconds)
        self.host = f"sts.{region}.amazonaws.com"

    def verify(self, authorization):
        """Returns None when the header carries a valid token, else the reason."""
        try:
            self._verify(authorization)
        except ValueError as e:
            return str(e)
        return None

    def _verify(self, authorization):
        if not authorization:
            raise ValueError("no Authorization header")
        parts = authorization.strip().split(" ", 1)
        if len(parts) != 2 or parts[0].lower() != "bearer" or not parts[1].strip():
            raise ValueError("Authorization is not a bearer token")
        url = self._decode(parts[1].strip())
        params = self._parameters(url)
        amz_date = self._check_parameters(params)
        self._check_signature(params, amz_date)

    def _decode(self, token):
        if not token.startswith(TOKEN_PREFIX):
            raise ValueError(f"token does not start with {TOKEN_PREFIX!r}")
        payload = token[len(TOKEN_PREFIX):]
        if len(token) > 4096:
            raise ValueError("token is longer than 4096 bytes")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", payload):
            # base64.RawURLEncoding (as aws-iam-authenticator decodes) has no padding
            # and no '+' or '/'.
            raise ValueError("token payload is not base64url without padding")
        if len(payload) % 4 == 1:
            raise ValueError("token payload has an impossible base64 length")
        try:
            return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8")
        except (ValueError, UnicodeDecodeError) as e:
            raise ValueError(f"token payload does not decode: {e}") from e

    def _parameters(self, url):
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise ValueError(f"unexpected scheme {parts.scheme!r} in pre-signed URL")
        if parts.netloc != self.host:
            raise ValueError(f"unexpected host {parts.netloc!r} in pre-signed URL "
                             f"(expected {self.host!r})")
        if parts.path != "/":
            raise ValueError(f"unexpected path {parts.path!r} in pre-signed URL")
        if parts.fragment:
            raise ValueError("unexpected fragment in pre-signed URL")
        query = parse_qs(parts.query, keep_blank_values=True)
        allowed = {p.lower() for p in TOKEN_PARAMETERS}
        params = {}
        for key, values in query.items():
            if key.lower() not in allowed:
                raise ValueError(f"non-whitelisted query parameter {key!r}")
            if len(values) != 1:
                raise ValueError(f"query parameter {key!r} given more than once")
            params[key] = values[0]
        return params

    def _check_parameters(self, params):
        """Checks every parameter but the signature; returns X-Amz-Date as a datetime."""
        def expect(name, value):
            if params.get(name) != value:
                raise ValueError(f"{name} is {params.get(name)!r}, expected {value!r}")
        expect("Action", "GetCallerIdentity")
        expect("Version", "2011-06-15")
        expect("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
        expect("X-Amz-Expires", "60")
        expect("X-Amz-SignedHeaders", "host;x-k8s-aws-id")
        if "X-Amz-Signature" not in params:
            raise ValueError("no X-Amz-Signature")
        if self.credentials.token is None:
            if "X-Amz-Security-Token" in params:
                raise ValueError("X-Amz-Security-Token given, but the credentials have none")
        elif "X-Amz-Security-Token" not in params:
            raise ValueError("no X-Amz-Security-Token, but the credentials have a session token")
        elif params["X-Amz-Security-Token"] != self.credentials.token:
            raise ValueError("X-Amz-Security-Token is not the credentials' session token")
        try:
            amz_date = dt.datetime.strptime(params.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ")
        except ValueError as e:
            raise ValueError(f"bad X-Amz-Date {params.get('X-Amz-Date')!r}") from e
        scope = (params.get("X-Amz-Credential") or "").split("/")
        expected_scope = [self.credentials.access_key, amz_date.strftime("%Y%m%d"), self.region,
                          "sts", "aws4_request"]
        if scope != expected_scope:
            raise ValueError(f"X-Amz-Credential is {params.get('X-Amz-Credential')!r}, expected "
                             f"{'/'.join(expected_scope)!r}")
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        if now - amz_date > self.max_age:
            raise ValueError(f"X-Amz-Date {params['X-Amz-Date']} is expired "
                             f"(older than {int(self.max_age.total_seconds())} s)")
        if amz_date - now > dt.timedelta(minutes=5):
            raise ValueError(f"X-Amz-Date {params['X-Amz-Date']} is more than 5 minutes ahead")
        return amz_date

    def _check_signature(self, params, amz_date):
        """botocore signs the same GetCallerIdentity at the token's time; compare."""
        request = AWSRequest(
            method="GET",
            url=f"https://{self.host}/?Action={params['Action']}&Version={params['Version']}",
            headers={"x-k8s-aws-id": self.cluster},
        )
        signer = botocore.auth.SigV4QueryAuth(self.credentials, "sts", self.region, expires=60)
        with _SIGNING_LOCK:
            original = botocore.auth.get_current_datetime
            botocore.auth.get_current_datetime = lambda *args, **kwargs: amz_date
            try:
                signer.add_auth(request)
            finally:
                botocore.auth.get_current_datetime = original
        signed = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query,
                                                keep_blank_values=True).items()}
        expected = signed.pop("X-Amz-Signature")
        received = dict(params)
        received_signature = received.pop("X-Amz-Signature")
        if signed != received:
            raise ValueError(f"query parameters differ from botocore's: {sorted(received)} "
                             f"vs {sorted(signed)}")
        if not hmac.compare_digest(expected.encode(), received_signature.encode()):
            raise ValueError("X-Amz-Signature does not match (wrong cluster, secret or "
                             "tampered URL)")


# ---------------------------------------------------------------------------
# JSON Merge Patch (RFC 7386) and JSON Patch (RFC 6902)
# ---------------------------------------------------------------------------


def merge_patch(target, patch):
    """RFC 7386: objects merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class JsonPatchError(Exception):
    """A JSON patch that does not apply (the real API answers 422)."""


def json_equal(a, b):
    """JSON value equality: numbers by value, but true is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def pointer_tokens(pointer):
    """RFC 6901 tokens of a JSON pointer (~1 is '/', ~0 is '~')."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise JsonPatchError(f"JSON pointer {pointer!r} does not start with '/'")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def array_index(token, length, allow_end, op, path):
    """An RFC 6902 array index: digits without leading zeros, or '-' where allowed."""
    if token == "-" and allow_end:
        return length
    if not re.fullmatch(r"0|[1-9][0-9]*", token):
        raise JsonPatchError(f"{op} operation does not apply: invalid array index {token!r} "
                             f"in {path}")
    index = int(token)
    if index > length or (index == length and not allow_end):
        raise JsonPatchError(f"{op} operation does not apply: index {index} out of range "
                             f"in {path}")
    return index


def resolve_parent(doc, tokens, op, path):
    """The container holding the pointer's last token."""
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[array_index(token, len(node), False, op, path)]
        else:
            raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {path}")
    if not isinstance(node, (dict, list)):
        raise JsonPatchError(f"{op} operation does not apply: doc is missing path: {path}")
    return node


def pointer_get(doc, path, op):
    """The value at a JSON pointer (it must exist)."""
    tokens = pointer_tokens(path)
    if not tokens:
        return doc
    parent = resolve_parent(doc, tokens, op, path)
    last = tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise JsonPatchError(f"{op} operation does not apply: doc is missing key: {path}")
        return parent[last]
    return parent[array_index(last, len(parent), False, op, path)]


def pointer_add(doc, path, value, op="add"):
    """RFC 6902 add: set an object member or insert into an array; returns doc."""
    tokens = pointer_tokens(path)
    if not tokens:
        return value
    parent = resolve_parent(doc, tokens, op, path)
    if isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        parent.insert(array_index(tokens[-1], len(parent), True, op, path), value)
    return doc


def pointer_remove(doc, path, op="remove"):
    """RFC 6902 remove (the target must exist); returns the removed value."""
    tokens = pointer_tokens(path)
    if not tokens:
        raise JsonPatchError(f"{op} operation does not apply: cannot remove the whole document")
    parent = resolve_parent(doc, tokens, op, path)
    if isinstance(parent, dict):
        if tokens[-1] not in parent:
            raise JsonPatchError(f"{op} operation does not apply: doc is missing key: {path}")
        return parent.pop(tokens[-1])
    return parent.pop(array_index(tokens[-1], len(parent), False, op, path))


def check_json_patch_document(ops):
    """What decoding the patch checks (400 Bad Request): an array of operation objects
    whose op, path and from are strings."""
    if not isinstance(ops, list):
        raise err_bad_request("error decoding patch: json: cannot unmarshal "
                              f"{json_type(ops)} into Go value of type []handlers.jsonPatchOp")
    for op in ops:
        if not isinstance(op, dict):
            raise err_bad_request("error decoding patch: json: cannot unmarshal "
                                  f"{json_type(op)} into Go value of type handlers.jsonPatchOp")
        for key in ("op", "path", "from"):
            if key in op and op[key] is not None and not isinstance(op[key], str):
                raise err_bad_request(
                    f"error decoding patch: json: cannot unmarshal {json_type(op[key])} into Go "
                    f"struct field jsonPatchOp.{key} of type string")


def apply_json_patch(doc, ops):
    """RFC 6902 on a copy of doc: add, remove, replace, move, copy, test."""
    doc = copy.deepcopy(doc)
    for op in ops:
        name = op.get("op")
        if "path" not in op:
            raise JsonPatchError(f"operation {name!r} missing path")
        path = op["path"]
        needs_value = name in ("add", "replace", "test")
        if needs_value and "value" not in op:
            raise JsonPatchError(f"{name} operation missing value")
        if name == "add":
            doc = pointer_add(doc, path, copy.deepcopy(op["value"]))
        elif name == "remove":
            pointer_remove(doc, path)
        elif name == "replace":
            pointer_get(doc, path, "replace")
            if pointer_tokens(path):
                pointer_remove(doc, path, "replace")
            doc = pointer_add(doc, path, copy.deepcopy(op["value"]), "replace")
        elif name in ("move", "copy"):
            source = op.get("from")
            if source is None:
                raise JsonPatchError(f"{name} operation missing from")
            if name == "move" and path != source and path.startswith(source + "/"):
                raise JsonPatchError(f"move operation does not apply: {path} is a child of "
                                     f"{source}")
            value = copy.deepcopy(pointer_get(doc, source, name))
            if name == "move":
                pointer_remove(doc, source, name)
            doc = pointer_add(doc, path, value, name)
        elif name == "test":
            try:
                current = pointer_get(doc, path, "test")
            except JsonPatchError as e:
                raise JsonPatchError(f"testing value {path} failed: {e}") from e
            if not json_equal(current, op["value"]):
                raise JsonPatchError(f"testing value {path} failed: test failed")
        else:
            raise JsonPatchError(f"Unexpected kind: {name}")
    return doc


def find_directive(value, path=""):
    """The first strategic-merge-patch directive key ($patch, $retainKeys, ...)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("$"):
                return f"{path}{key}"
            found = find_directive(item, f"{path}{key}.")
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = find_directive(item, path)
            if found:
                return found
    return None


# ---------------------------------------------------------------------------
# Schemas: just enough of each type to decode like the API server does (type errors,
# unknown fields, nulls)
# ---------------------------------------------------------------------------

STRING, INT32, INT64, BOOL, TIME, OBJECT, ARRAY, MAP = (
    "string", "int32", "int64", "bool", "time", "object", "array", "map")

OBJECT_META = {
    "name": STRING, "generateName": STRING, "namespace": STRING, "selfLink": STRING,
    "uid": STRING, "resourceVersion": STRING, "generation": INT64,
    "creationTimestamp": TIME, "deletionTimestamp": TIME, "deletionGracePeriodSeconds": INT64,
    "labels": MAP, "annotations": MAP, "ownerReferences": ARRAY, "finalizers": ARRAY,
    "managedFields": ARRAY,
}
META_ORDER = list(OBJECT_META)
OBJECT_REFERENCE = {k: STRING for k in ("kind", "namespace", "name", "uid", "apiVersion",
                                         "resourceVersion", "fieldPath")}
EVENT_SOURCE = {"component": STRING, "host": STRING}
EVENT_SERIES = {"count": INT32, "lastObservedTime": TIME}


def typed(spec, status=OBJECT):
    """The schema of an object with metadata, spec and status."""
    return {"kind": STRING, "apiVersion": STRING, "metadata": OBJECT_META, "spec": spec,
            "status": status}


HPA_SCHEMA = typed({
    "scaleTargetRef": {"kind": STRING, "name": STRING, "apiVersion": STRING},
    "minReplicas": INT32, "maxReplicas": INT32, "metrics": ARRAY, "behavior": OBJECT,
})
DEPLOYMENT_SCHEMA = typed({
    "replicas": INT32, "selector": OBJECT, "template": OBJECT, "strategy": OBJECT,
    "minReadySeconds": INT32, "revisionHistoryLimit": INT32, "paused": BOOL,
    "progressDeadlineSeconds": INT32,
})
STATEFULSET_SCHEMA = typed({
    "replicas": INT32, "selector": OBJECT, "template": OBJECT, "volumeClaimTemplates": ARRAY,
    "serviceName": STRING, "podManagementPolicy": STRING, "updateStrategy": OBJECT,
    "revisionHistoryLimit": INT32, "minReadySeconds": INT32,
    "persistentVolumeClaimRetentionPolicy": OBJECT, "ordinals": OBJECT,
})
SCALE_SCHEMA = typed({"replicas": INT32}, {"replicas": INT32, "selector": STRING})
CORE_EVENT_SCHEMA = {
    "kind": STRING, "apiVersion": STRING, "metadata": OBJECT_META,
    "involvedObject": OBJECT_REFERENCE, "reason": STRING, "message": STRING,
    "source": EVENT_SOURCE, "firstTimestamp": TIME, "lastTimestamp": TIME, "count": INT32,
    "type": STRING, "eventTime": TIME, "series": EVENT_SERIES, "action": STRING,
    "related": OBJECT_REFERENCE, "reportingComponent": STRING, "reportingInstance": STRING,
}
EVENTS_V1_SCHEMA = {
    "kind": STRING, "apiVersion": STRING, "metadata": OBJECT_META, "eventTime": TIME,
    "series": EVENT_SERIES, "reportingController": STRING, "reportingInstance": STRING,
    "action": STRING, "reason": STRING, "regarding": OBJECT_REFERENCE,
    "related": OBJECT_REFERENCE, "note": STRING, "type": STRING,
    "deprecatedSource": EVENT_SOURCE, "deprecatedFirstTimestamp": TIME,
    "deprecatedLastTimestamp": TIME, "deprecatedCount": INT32,
}


class DecodeError(Exception):
    """The JSON does not fit the Go type (encoding/json's message)."""


def json_type(value):
    """How encoding/json names a JSON value's type in its errors."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return f"number {value}" if isinstance(value, float) else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def decode(value, schema, struct, path, unknown):
    """Checks value against schema like encoding/json would, returning a copy with
    unknown fields dropped (their paths appended to `unknown`) and nulls removed."""
    def fail(go_type):
        where = f"Go struct field {struct}.{path}" if path else "Go value"
        raise DecodeError(f"json: cannot unmarshal {json_type(value)} into {where} of type "
                          f"{go_type}")

    if isinstance(schema, dict):
        if not isinstance(value, dict):
            fail("struct")
        result = {}
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            if key not in schema:
                unknown.append(child)
            elif item is not None:
                result[key] = decode(item, schema[key], struct, child, unknown)
        return result
    if schema in (INT32, INT64):
        if isinstance(value, bool) or not isinstance(value, int):
            fail(schema)
        if schema == INT32 and not INT32_MIN <= value <= INT32_MAX:
            fail(schema)
        return value
    if schema == STRING:
        if not isinstance(value, str):
            fail("string")
        return value
    if schema == BOOL:
        if not isinstance(value, bool):
            fail("bool")
        return value
    if schema == TIME:
        if not isinstance(value, str):
            fail("Time")
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as e:
            raise DecodeError(f'parsing time {go_quote(value)} as "2006-01-02T15:04:05Z07:00": '
                              f"cannot parse {go_quote(value)}") from e
        return value
    if schema == MAP:
        if not isinstance(value, dict) or not all(isinstance(v, (str, type(None)))
                                                   for v in value.values()):
            fail("map[string]string")
        return {k: ("" if v is None else v) for k, v in value.items()}
    if schema == ARRAY:
        if not isinstance(value, list):
            fail("[]")
        return copy.deepcopy(value)
    if not isinstance(value, dict):
        fail("struct")
    return copy.deepcopy(value)


# ---------------------------------------------------------------------------
# Kinds: names, defaulting, update preparation and validation
# ---------------------------------------------------------------------------

PATH_SEGMENT_BAD = (("/", "may not contain '/'"), ("%", "may not contain '%'"))
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")


def path_segment_errors(value, field):
    """pathvalidation.IsValidPathSegmentName."""
    if value in (".", ".."):
        return [FieldError("Invalid", field, value, f"may not be '{value}'")]
    return [FieldError("Invalid", field, value, msg) for bad, msg in PATH_SEGMENT_BAD
            if bad in value]


def label_selector_string(selector):
    """metav1.LabelSelectorAsSelector(...).String(): requirements sorted by key."""
    if not isinstance(selector, dict):
        return ""
    requirements = [(k, f"{k}={v}") for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(sorted(expr.get("values") or []))
        text = {"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                "Exists": key, "DoesNotExist": f"!{key}"}.get(op, key)
        requirements.append((key, text))
    requirements.sort(key=lambda r: r[0])
    return ",".join(text for _, text in requirements)


class Kind:
    """One resource as seen through one API group/version."""

    def __init__(self, plural, group, version, kind, schema, storage=None, scalable=False,
                 generation=True, annotations_bump_generation=False):
        self.plural, self.group, self.version, self.kind = plural, group, version, kind
        self.schema = schema
        self.storage = storage or plural  # the store key: both Event APIs share "events"
        self.scalable = scalable
        self.generation = generation
        self.annotations_bump_generation = annotations_bump_generation
        self.namespaced = True

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self):
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def bad_body(self, message):
        """How the API server answers a POST/PUT body it cannot decode."""
        return err_bad_request(f"{self.kind} in version {go_quote(self.version)} cannot be "
                               f"handled as a {self.kind}: {message}")

    def invalid(self, name, errors):
        return err_invalid(self.group, self.kind, name, errors)

    # Defaulting (SetDefaults_*), applied whenever an object is decoded.
    def default(self, obj):
        if self.plural == "horizontalpodautoscalers":
            spec = obj.setdefault("spec", {})
            spec.setdefault("minReplicas", 1)
            if "metrics" not in spec:
                spec["metrics"] = [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
        if self.plural in ("deployments", "statefulsets"):
            obj.setdefault("spec", {}).setdefault("replicas", 1)

    def validate(self, obj, old=None):
        """strategy.Validate / ValidateUpdate for the fields the stand-in models."""
        spec = obj.get("spec") or {}
        errors = []
        if self.plural == "horizontalpodautoscalers":
            minimum, maximum = spec.get("minReplicas"), spec.get("maxReplicas", 0)
            if minimum is not None and minimum < 1:
                errors.append(FieldError("Invalid", "spec.minReplicas", minimum,
                                         "must be greater than or equal to 1"))
            if maximum < 1:
                errors.append(FieldError("Invalid", "spec.maxReplicas", maximum,
                                         "must be greater than 0"))
            if minimum is not None and maximum < minimum:
                errors.append(FieldError("Invalid", "spec.maxReplicas", maximum,
                                         "must be greater than or equal to `minReplicas`"))
            ref = spec.get("scaleTargetRef") or {}
            for field in ("kind", "name"):
                if not ref.get(field):
                    errors.append(FieldError("Required", f"spec.scaleTargetRef.{field}"))
                else:
                    errors += path_segment_errors(ref[field], f"spec.scaleTargetRef.{field}")
        elif self.plural in ("deployments", "statefulsets"):
            replicas = spec.get("replicas", 0)
            if replicas < 0:
                errors.append(FieldError("Invalid", "spec.replicas", replicas,
                                         "must be greater than or equal to 0"))
        return errors

    def prepare_for_update(self, new, old):
        """strategy.PrepareForUpdate: status is kept, spec changes bump generation."""
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
        bump_generation(self, new, old)


def bump_generation(kind, new, old):
    """generation = old + 1 when spec (Deployments: or annotations) changed."""
    if not kind.generation:
        return
    generation = old["metadata"].get("generation", 0)
    changed = not json_equal(new.get("spec"), old.get("spec"))
    if kind.annotations_bump_generation:
        changed = changed or not json_equal(new["metadata"].get("annotations"),
                                            old["metadata"].get("annotations"))
    new["metadata"]["generation"] = generation + 1 if changed else generation


class EventKind(Kind):
    """Events: stored in core/v1 form; events.k8s.io/v1 renames fields on the way."""

    # events.k8s.io/v1 name -> core/v1 name
    RENAMES = {"regarding": "involvedObject", "note": "message", "deprecatedSource": "source",
               "deprecatedFirstTimestamp": "firstTimestamp",
               "deprecatedLastTimestamp": "lastTimestamp", "deprecatedCount": "count",
               "reportingController": "reportingComponent"}

    def __init__(self, group, schema):
        super().__init__("events", group, "v1", "Event", schema, generation=False)
        self.strict = bool(group)  # events.k8s.io validates strictly

    # Fields Go always writes (no omitempty, or structs/times that omitempty cannot drop).
    ALWAYS = {
        "": {"involvedObject": {}, "source": {}, "firstTimestamp": None, "lastTimestamp": None,
             "eventTime": None, "reportingComponent": "", "reportingInstance": ""},
        "events.k8s.io": {"eventTime": None, "regarding": {}, "deprecatedSource": {},
                          "deprecatedFirstTimestamp": None, "deprecatedLastTimestamp": None},
    }

    def to_storage(self, obj):
        """Core/v1 field names; zero values dropped (Go cannot tell them from unset)."""
        renamed = {self.RENAMES.get(k, k) if self.strict else k: v for k, v in obj.items()}
        return {k: v for k, v in renamed.items() if k == "metadata" or v not in ("", 0, {}, None)}

    def from_storage(self, obj):
        """The wire form of this API, fields in Go's order."""
        back = {v: k for k, v in self.RENAMES.items()} if self.strict else {}
        named = {back.get(k, k): v for k, v in obj.items()}
        named.update({k: v for k, v in self.ALWAYS[self.group].items() if k not in named})
        return {k: named[k] for k in self.schema if k in named}

    def default(self, obj):
        pass

    def prepare_for_update(self, new, old):
        pass

    def validate(self, obj, old=None):
        """ValidateEventCreate / ValidateEventUpdate (obj in core/v1 field names; the
        real API reports core field paths for both APIs too)."""
        errors = self._legacy(obj)
        if not self.strict:
            return errors
        if old is None:
            errors += self._strict_create(obj)
        else:
            errors += self._series(obj)
            for field in ("involvedObject", "reason", "message", "source", "firstTimestamp",
                          "lastTimestamp", "count", "type", "eventTime", "action", "related",
                          "reportingComponent", "reportingInstance"):
                if not json_equal(obj.get(field), old.get(field)):
                    name = "reportingController" if field == "reportingComponent" else field
                    errors.append(FieldError("Invalid", name, obj.get(field), "field is immutable"))
        return errors

    def _legacy(self, ev):
        errors = []
        namespace = ev["metadata"].get("namespace", "")
        involved = (ev.get("involvedObject") or {}).get("namespace", "")
        mismatch = FieldError("Invalid", "involvedObject.namespace", involved,
                              "does not match event.namespace")
        if not ev.get("eventTime"):
            if (not involved and namespace not in ("", "default")) or (
                    involved and involved != namespace):
                errors.append(mismatch)
        else:
            if not involved and namespace not in ("default", "kube-system"):
                errors.append(mismatch)
            controller = "reportingController" if self.strict else "reportingComponent"
            value = ev.get("reportingComponent", "")
            if not value:
                errors.append(FieldError("Required", controller))
            elif not QUALIFIED_NAME.fullmatch(value.split("/")[-1]):
                errors.append(FieldError("Invalid", controller, value,
                                         "name part must consist of alphanumeric characters, "
                                         "'-', '_' or '.'"))
            for field, limit in (("reportingInstance", 128), ("action", 128), ("reason", 128)):
                if not ev.get(field):
                    errors.append(FieldError("Required", field))
                elif len(ev[field]) > limit:
                    errors.append(FieldError("Invalid", field, "",
                                             f"can have at most {limit} characters"))
            if len(ev.get("message", "")) > 1024:
                errors.append(FieldError("Invalid", "message", "",
                                         "can have at most 1024 characters"))
        if namespace and not DNS1123_SUBDOMAIN.fullmatch(namespace):
            errors.append(FieldError("Invalid", "namespace", namespace,
                                     "a lowercase RFC 1123 subdomain must consist of lower case "
                                     "alphanumeric characters, '-' or '.'"))
        return errors

    def _series(self, ev):
        series = ev.get("series")
        if series is None:
            return []
        errors = []
        if series.get("count", 0) < 2:
            errors.append(FieldError("Invalid", "series.count", "",
                                     "should be at least 2"))
        if not series.get("lastObservedTime"):
            errors.append(FieldError("Required", "series.lastObservedTime"))
        return errors

    def _strict_create(self, ev):
        errors = []
        name = ev["metadata"].get("name", "")
        if name and not DNS1123_SUBDOMAIN.fullmatch(name):
            errors.append(FieldError("Invalid", "metadata.name", name,
                                     "a lowercase RFC 1123 subdomain must consist of lower case "
                                     "alphanumeric characters, '-' or '.'"))
        errors += self._series(ev)
        if not ev.get("eventTime"):
            errors.append(FieldError("Required", "eventTime"))
        if ev.get("type") not in ("Normal", "Warning"):
            errors.append(FieldError("Invalid", "type", "",
                                     f"has invalid value: {ev.get('type', '')}"))
        for field in ("firstTimestamp", "lastTimestamp", "count"):
            if ev.get(field):
                errors.append(FieldError("Invalid", field, "", "needs to be unset"))
        if any((ev.get("source") or {}).values()):
            errors.append(FieldError("Invalid", "source", "", "needs to be unset"))
        return errors


HPA = Kind("horizontalpodautoscalers", "autoscaling", "v2", "HorizontalPodAutoscaler",
           HPA_SCHEMA)
DEPLOYMENT = Kind("deployments", "apps", "v1", "Deployment", DEPLOYMENT_SCHEMA, scalable=True,
                  annotations_bump_generation=True)
STATEFULSET = Kind("statefulsets", "apps", "v1", "StatefulSet", STATEFULSET_SCHEMA,
                   scalable=True)
CORE_EVENT = EventKind("", CORE_EVENT_SCHEMA)
EVENTS_V1_EVENT = EventKind("events.k8s.io", EVENTS_V1_SCHEMA)
SCALE = Kind("scale", "autoscaling", "v1", "Scale", SCALE_SCHEMA)

# The read-only resources service discovery lists and watches (seeded through the
# control API). Decoding keeps every field a real object has at the top level.
POD_SCHEMA = typed(OBJECT)
SERVICE_SCHEMA = typed(OBJECT)
NODE_SCHEMA = typed(OBJECT)
INGRESS_SCHEMA = typed(OBJECT)
ENDPOINTS_SCHEMA = {"kind": STRING, "apiVersion": STRING, "metadata": OBJECT_META,
                    "subsets": ARRAY}
ENDPOINTSLICE_SCHEMA = {"kind": STRING, "apiVersion": STRING, "metadata": OBJECT_META,
                        "addressType": STRING, "endpoints": ARRAY, "ports": ARRAY}

POD = Kind("pods", "", "v1", "Pod", POD_SCHEMA, generation=False)
SERVICE = Kind("services", "", "v1", "Service", SERVICE_SCHEMA, generation=False)
ENDPOINTS = Kind("endpoints", "", "v1", "Endpoints", ENDPOINTS_SCHEMA, generation=False)
NODE = Kind("nodes", "", "v1", "Node", NODE_SCHEMA, generation=False)
NODE.namespaced = False
ENDPOINTSLICE = Kind("endpointslices", "discovery.k8s.io", "v1", "EndpointSlice",
                     ENDPOINTSLICE_SCHEMA)
INGRESS = Kind("ingresses", "networking.k8s.io", "v1", "Ingress", INGRESS_SCHEMA)
DISCOVERY_KINDS = (POD, SERVICE, ENDPOINTS, NODE, ENDPOINTSLICE, INGRESS)

API_KINDS = {(k.group, k.version, k.plural): k
             for k in (HPA, DEPLOYMENT, STATEFULSET, CORE_EVENT, EVENTS_V1_EVENT)
             + DISCOVERY_KINDS}
CONTROL_KINDS = {k.plural: k for k in (HPA, DEPLOYMENT, STATEFULSET) + DISCOVERY_KINDS}
# (apiVersion, kind) -> Kind, for --seed files and POST /_standin/load
SEED_KINDS = {(k.api_version, k.kind): k
              for k in (HPA, DEPLOYMENT, STATEFULSET) + DISCOVERY_KINDS}


def now_rfc3339():
    """The current time as metav1.Time writes it."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalize(obj):
    """What a round trip through Go types does: empty maps and lists in omitempty
    metadata fields disappear; metadata fields come in their usual order."""
    meta = obj.get("metadata") or {}
    for key in ("labels", "annotations", "ownerReferences", "finalizers", "managedFields"):
        if key in meta and not meta[key]:
            del meta[key]
    ordered = {k: meta[k] for k in META_ORDER if k in meta}
    ordered.update({k: v for k, v in meta.items() if k not in ordered})
    obj["metadata"] = ordered
    return obj


def render(kind, stored):
    """The object as the API returns it: kind and apiVersion first."""
    body = kind.from_storage(stored) if isinstance(kind, EventKind) else stored
    out = {"kind": kind.kind, "apiVersion": kind.api_version}
    for key in list(kind.schema) + [k for k in body if k not in kind.schema]:
        if key in body and key not in out:
            out[key] = copy.deepcopy(body[key])
    return out


def scale_of(parent):
    """scaleFromDeployment / scaleFromStatefulSet: an autoscaling/v1 Scale."""
    meta = {k: parent["metadata"][k] for k in
            ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in parent["metadata"]}
    replicas = (parent.get("spec") or {}).get("replicas", 0)
    status = parent.get("status") or {}
    scale_status = {"replicas": status.get("replicas", 0)}
    selector = label_selector_string((parent.get("spec") or {}).get("selector"))
    if selector:
        scale_status["selector"] = selector
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": meta,
            # ScaleSpec.replicas is omitempty: a Scale of 0 replicas has "spec": {}
            "spec": {"replicas": replicas} if replicas else {},
            "status": scale_status}


# ---------------------------------------------------------------------------
# Label and field selectors for lists
# ---------------------------------------------------------------------------


def split_selector(text):
    """Splits a selector at commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    """labels.Parse for =, ==, !=, in, notin, exists and !exists."""
    requirements = []
    for part in split_selector(text):
        match = re.fullmatch(r"(\S+)\s+(in|notin)\s*\((.*)\)", part)
        if match:
            values = {v.strip() for v in match.group(3).split(",") if v.strip()}
            requirements.append((match.group(2), match.group(1), values))
        elif "!=" in part:
            key, value = part.split("!=", 1)
            requirements.append(("notin", key.strip(), {value.strip()}))
        elif "=" in part:
            key, value = re.split(r"==?", part, maxsplit=1)
            requirements.append(("in", key.strip(), {value.strip()}))
        elif part.startswith("!") and re.fullmatch(r"![A-Za-z0-9./_-]+", part):
            requirements.append(("!", part[1:], set()))
        elif re.fullmatch(r"[A-Za-z0-9./_-]+", part):
            requirements.append(("exists", part, set()))
        else:
            raise err_bad_request(f"unable to parse requirement: {part}")
    return requirements


def labels_match(labels, requirements):
    """Whether labels satisfy every requirement of parse_label_selector."""
    for op, key, values in requirements:
        present = key in labels
        if op == "in" and not (present and labels[key] in values):
            return False
        if op == "notin" and present and labels[key] in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!" and present:
            return False
    return True


EVENT_FIELD_LABELS = {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                      "involvedObject.uid", "involvedObject.apiVersion",
                      "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                      "reportingComponent", "source", "type"}


def parse_field_selector(text, kind):
    """fields.ParseSelector for metadata.name/namespace (and the Event field labels)."""
    requirements = []
    for part in split_selector(text):
        match = re.fullmatch(r"([^=!]+)(==|!=|=)(.*)", part)
        if not match:
            raise err_bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = match.group(1).strip(), match.group(2), match.group(3).strip()
        if isinstance(kind, EventKind):
            for new, old in EventKind.RENAMES.items():
                if field == new or field.startswith(new + "."):
                    field = old + field[len(new):]
        if kind.plural in CUSTOM_FIELD_LABELS:
            # core/v1's own field label conversion functions (pods, nodes)
            if field not in CUSTOM_FIELD_LABELS[kind.plural]:
                raise err_bad_request(f"field label not supported: {match.group(1).strip()}")
            field = FIELD_LABEL_ALIASES.get(field, field)
        else:
            allowed = {"metadata.name", "metadata.namespace"}
            if isinstance(kind, EventKind):
                allowed |= EVENT_FIELD_LABELS
            if field not in allowed:
                raise err_bad_request(f'"{match.group(1).strip()}" is not a known field '
                                      f'selector: only "metadata.name", "metadata.namespace"')
        requirements.append((field, op != "!=", value))
    return requirements


# Field labels of the kinds with their own conversion function in core/v1
# (pkg/apis/core/v1/conversion.go); everything else knows only metadata.name/namespace.
CUSTOM_FIELD_LABELS = {
    "pods": {"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
             "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
             "status.phase", "status.podIP", "status.nominatedNodeName", "spec.host"},
    "nodes": {"metadata.name", "spec.unschedulable"},
}
FIELD_LABEL_ALIASES = {"spec.host": "spec.nodeName"}  # the old v1 name
BOOL_FIELDS = {"spec.hostNetwork", "spec.unschedulable"}


def field_value(obj, field):
    """A field selector's value of a stored object ("" when absent)."""
    if field == "source":
        return (obj.get("source") or {}).get("component", "")
    if field in BOOL_FIELDS:
        return "true" if (obj.get("spec") or {}).get(field.split(".")[1]) else "false"
    if field == "status.podIP":
        # the first of status.podIPs (podIP mirrors it)
        status = obj.get("status") or {}
        ips = status.get("podIPs") or []
        return (ips[0].get("ip", "") if ips else status.get("podIP", "")) or ""
    if field == "spec.restartPolicy":
        return (obj.get("spec") or {}).get("restartPolicy", "Always")
    node = obj
    for part in field.split("."):
        node = node.get(part, "") if isinstance(node, dict) else ""
    return node if isinstance(node, str) else ""


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------


class Request:
    """One API request: what came in and what the handlers add for the response."""

    def __init__(self, method, path, query, headers, body):
        self.method, self.path, self.query, self.headers, self.body = (
            method, path, query, headers, body)
        self.warnings = []
        self.verb = None  # the audit verb: get, list, watch, patch, update, create, proxy
        self.raw_query = ""
        self.fault = None  # the injected fault's answer, when one fired

    def param(self, name):
        values = self.query.get(name)
        return values[-1] if values else None

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()


class Store:
    """Objects keyed by (storage resource, namespace, name), one resourceVersion counter,
    and the history of changes since the last compaction (for watches and for lists at
    an older resourceVersion, i.e. continue tokens).

    Stored objects are never changed in place: a write stores a new dict, so history
    entries and list snapshots can share them."""

    HISTORY_LIMIT = 200_000  # changes kept; older ones are "compacted"

    def __init__(self):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.reset()

    def reset(self):
        with self.lock:
            self.objects = {}
            self.event_origin = {}  # (namespace, name) -> Kind it was created through
            self.event_order = []
            self.conflicts = {}
            self.faults = []  # armed by POST /_standin/faults, in arming order
            self.requests = []
            self.counter = getattr(self, "counter", 1000)
            self.compact()
            self.changed.notify_all()

    def next_version(self):
        self.counter += 1
        return str(self.counter)

    def compact(self):
        """Forgets the history: older resourceVersions become 410 Gone (like etcd's
        compaction, which the real API server runs every 5 minutes)."""
        with self.lock:
            self.json_cache = {}  # (group, id(object)) -> (object, list item JSON)
            self.history = []  # (rv, key, old object or None, new object or None)
            self.history_rvs = []
            self.compacted_rv = self.counter
            self._sorted = {}

    def put(self, key, obj):
        """Stores obj (its metadata.resourceVersion already set) and records the change."""
        old = self.objects.get(key)
        self.objects[key] = obj
        self._record(int(obj["metadata"]["resourceVersion"]), key, old, obj)

    def delete(self, key):
        """Removes an object; the deletion gets its own resourceVersion. Returns it."""
        old = self.objects.pop(key)
        self._record(int(self.next_version()), key, old, None)
        return old

    def _record(self, rv, key, old, new):
        self.history.append((rv, key, old, new))
        self.history_rvs.append(rv)
        if len(self.history) > 2 * self.HISTORY_LIMIT:
            drop = len(self.history) - self.HISTORY_LIMIT
            self.compacted_rv = self.history_rvs[drop - 1]
            self.history, self.history_rvs = self.history[drop:], self.history_rvs[drop:]
        self.changed.notify_all()

    def changes_after(self, rv):
        """History entries with a resourceVersion above rv, oldest first."""
        return self.history[bisect.bisect_right(self.history_rvs, rv):]

    def sorted_keys(self, resource):
        """(etcd key order string, store key) of every current object of a resource, in
        etcd's order (namespace/name, bytewise); cached until the next write."""
        cached = self._sorted.get(resource)
        if cached and cached[0] == self.counter:
            return cached[1]
        keys = sorted((etcd_key(k), k) for k in self.objects if k[0] == resource)
        self._sorted[resource] = (self.counter, keys)
        return keys

    def snapshot(self, resource, rv):
        """(sorted keys, objects) of a resource as they were at resourceVersion rv."""
        later = [c for c in self.changes_after(rv) if c[1][0] == resource]
        if not later:
            return self.sorted_keys(resource), self.objects
        objects = {k: v for k, v in self.objects.items() if k[0] == resource}
        for _, key, old, _ in reversed(later):
            if old is None:
                objects.pop(key, None)
            else:
                objects[key] = old
        return sorted((etcd_key(k), k) for k in objects), objects


def etcd_key(key):
    """The part of the etcd key after /registry/<resource>/: namespace/name or name."""
    return f"{key[1]}/{key[2]}" if key[1] else key[2]


class WatchStream:
    """What a watch request answers: the handler streams these events, one JSON
    object per line in chunked encoding, until the deadline or the client goes away."""

    def __init__(self, standin, kind, namespace, labels, fields, rv, initial, timeout,
                 bookmarks, initial_end_bookmark):
        self.standin, self.kind, self.namespace = standin, kind, namespace
        self.labels, self.fields = labels, fields
        self.rv, self.initial, self.timeout = rv, initial, timeout
        self.bookmarks, self.initial_end_bookmark = bookmarks, initial_end_bookmark

    def matches(self, key, obj):
        if obj is None or key[0] != self.kind.storage:
            return False
        if self.namespace is not None and key[1] != self.namespace:
            return False
        return labels_match(obj["metadata"].get("labels") or {}, self.labels) and all(
            (field_value(obj, f) == v) == eq for f, eq, v in self.fields)

    def event(self, kind_of_event, obj):
        return {"type": kind_of_event, "object": render(self.kind, obj)}

    def bookmark(self, rv, initial_end=False):
        meta = {"resourceVersion": str(rv), "creationTimestamp": None}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return {"type": "BOOKMARK", "object": {"kind": self.kind.kind,
                                               "apiVersion": self.kind.api_version,
                                               "metadata": meta}}

    def translate(self, change):
        """A stored change as this watcher sees it (selectors move objects in and out)."""
        rv, key, old, new = change
        was, now = self.matches(key, old), self.matches(key, new)
        if now:
            return self.event("MODIFIED" if was else "ADDED", new)
        if was:
            if new is None:  # deleted: the last state, at the deletion's resourceVersion
                new = dict(old)
                new["metadata"] = dict(old["metadata"], resourceVersion=str(rv))
            return self.event("DELETED", new)
        return None

    def run(self, send, client_gone):
        """Calls send(event dict) until done; returns when the watch ends."""
        store = self.standin.store
        deadline = time.monotonic() + self.timeout
        with store.lock:
            if self.initial:
                position = store.counter
                keys, objects = store.snapshot(self.kind.storage, position)
                first = [self.event("ADDED", objects[k]) for _, k in keys
                         if self.matches(k, objects[k])]
            else:
                position, first = self.rv, []
                if position < store.compacted_rv:
                    first = [{"type": "ERROR", "object": status_body(
                        410, "Expired", f"too old resource version: {position} "
                                        f"({store.compacted_rv + 1})")}]
                    position = None
        for event in first:
            send(event)
        if position is None:
            return
        if self.initial_end_bookmark:
            send(self.bookmark(position, initial_end=True))
        while True:
            with store.lock:
                changes = None
                if position >= store.compacted_rv:
                    changes = store.changes_after(position)
                    remaining = deadline - time.monotonic()
                    if not changes and remaining > 0:
                        store.changed.wait(min(remaining, 1.0))
                        changes = (store.changes_after(position)
                                   if position >= store.compacted_rv else None)
                current = store.counter
                compacted = store.compacted_rv
            if changes is None:
                send({"type": "ERROR", "object": status_body(
                    410, "Expired", f"too old resource version: {position} ({compacted + 1})")})
                return
            for event in filter(None, map(self.translate, changes)):
                send(event)
            if changes:
                position = changes[-1][0]
            if deadline - time.monotonic() <= 0:
                if self.bookmarks:  # the watch cache sends one before a watch times out
                    send(self.bookmark(max(position, current)))
                return
            if not changes and client_gone():
                return


class RawJson(bytes):
    """A response body already encoded as JSON."""


class ProxyResult:
    """A proxied backend response, passed through as it came."""

    HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                  "te", "trailer", "trailers", "transfer-encoding", "upgrade", "content-length"}

    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body


PROXY_PATH = re.compile(
    r"/api/v1/(?:namespaces/(?P<ns>[^/]+)/(?P<res>pods)|(?P<nres>nodes))/(?P<target>[^/]+)"
    r"/proxy(?P<rest>/.*)?")
PARSE_BOOL_TRUE = ("1", "t", "T", "TRUE", "true", "True")
PARSE_BOOL = PARSE_BOOL_TRUE + ("0", "f", "F", "FALSE", "false", "False")
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list.")


def encode_continue(rv, start):
    """The API server's continue token: base64url (no padding) of
    {"v":"meta.k8s.io/v1","rv":N,"start":"<key after the last one returned>"}."""
    data = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start},
                      separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def decode_continue(token):
    """(rv, start key) of a continue token, or 400 as storage.DecodeContinue's errors."""
    def invalid(why):
        return err_bad_request(f"invalid continue token: continue key is not valid: {why}")
    if not re.fullmatch(r"[A-Za-z0-9_-]*", token) or len(token) % 4 == 1:
        raise invalid("illegal base64 data at input byte 0")
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError) as e:
        raise invalid(str(e)) from e
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        raise invalid("server does not recognize this encoded version "
                      f"{data.get('v', '') if isinstance(data, dict) else ''}")
    rv, start = data.get("rv"), data.get("start")
    if not isinstance(rv, int) or isinstance(rv, bool) or rv <= 0:
        raise invalid("incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    if not isinstance(start, str) or not start:
        raise invalid("encoded start key empty (version meta.k8s.io/v1)")
    if start.startswith("/") or "/../" in f"/{start}/" or "/./" in f"/{start}/":
        raise invalid("encoded start key is not a clean path (version meta.k8s.io/v1)")
    return rv, start


def render_item(kind, stored):
    """A List item: as render(), but typed lists carry no kind/apiVersion per item, and
    no copy is made (stored objects are never changed in place)."""
    if isinstance(kind, EventKind):
        body = render(kind, stored)
        return {k: v for k, v in body.items() if k not in ("kind", "apiVersion")}
    out = {k: stored[k] for k in kind.schema if k in stored and k not in ("kind", "apiVersion")}
    out.update((k, v) for k, v in stored.items() if k not in out and k not in ("kind",
                                                                                "apiVersion"))
    return out


# Discovery documents (the served subset of an EKS 1.33 cluster's).
RW_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
DISCOVERY_RESOURCES = {
    "v1": [
        {"name": "endpoints", "singularName": "endpoints", "namespaced": True,
         "kind": "Endpoints", "verbs": RW_VERBS, "shortNames": ["ep"]},
        {"name": "events", "singularName": "event", "namespaced": True, "kind": "Event",
         "verbs": RW_VERBS, "shortNames": ["ev"]},
        {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node",
         "verbs": RW_VERBS, "shortNames": ["no"]},
        {"name": "nodes/proxy", "singularName": "", "namespaced": False,
         "kind": "NodeProxyOptions", "verbs": ["create", "delete", "get", "patch", "update"]},
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
         "verbs": RW_VERBS, "shortNames": ["po"], "categories": ["all"]},
        {"name": "pods/proxy", "singularName": "", "namespaced": True,
         "kind": "PodProxyOptions", "verbs": ["create", "delete", "get", "patch", "update"]},
        {"name": "services", "singularName": "service", "namespaced": True, "kind": "Service",
         "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update",
                   "watch"], "shortNames": ["svc"], "categories": ["all"]},
    ],
    "apps/v1": [
        {"name": "deployments", "singularName": "deployment", "namespaced": True,
         "kind": "Deployment", "verbs": RW_VERBS, "shortNames": ["deploy"],
         "categories": ["all"]},
        {"name": "deployments/scale", "singularName": "", "namespaced": True,
         "group": "autoscaling", "version": "v1", "kind": "Scale",
         "verbs": ["get", "patch", "update"]},
        {"name": "statefulsets", "singularName": "statefulset", "namespaced": True,
         "kind": "StatefulSet", "verbs": RW_VERBS, "shortNames": ["sts"],
         "categories": ["all"]},
        {"name": "statefulsets/scale", "singularName": "", "namespaced": True,
         "group": "autoscaling", "version": "v1", "kind": "Scale",
         "verbs": ["get", "patch", "update"]},
    ],
    "events.k8s.io/v1": [
        {"name": "events", "singularName": "event", "namespaced": True, "kind": "Event",
         "verbs": RW_VERBS, "shortNames": ["ev"]},
    ],
    "autoscaling/v2": [
        {"name": "horizontalpodautoscalers", "singularName": "horizontalpodautoscaler",
         "namespaced": True, "kind": "HorizontalPodAutoscaler", "verbs": RW_VERBS,
         "shortNames": ["hpa"], "categories": ["all"]},
    ],
    "networking.k8s.io/v1": [
        {"name": "ingresses", "singularName": "ingress", "namespaced": True, "kind": "Ingress",
         "verbs": RW_VERBS, "shortNames": ["ing"]},
    ],
    "discovery.k8s.io/v1": [
        {"name": "endpointslices", "singularName": "endpointslice", "namespaced": True,
         "kind": "EndpointSlice", "verbs": RW_VERBS},
    ],
}
DISCOVERY_GROUPS = ["apps", "events.k8s.io", "autoscaling", "networking.k8s.io",
                    "discovery.k8s.io"]


def api_group(name):
    versions = [{"groupVersion": gv, "version": gv.split("/")[1]}
                for gv in DISCOVERY_RESOURCES if gv.startswith(name + "/")]
    return {"name": name, "versions": versions, "preferredVersion": versions[0]}


def version_info(git_version):
    """/version as a 1.33 API server answers it."""
    match = re.match(r"v(\d+)\.(\d+)", git_version)
    major, minor = (match.group(1), match.group(2)) if match else ("1", "33")
    return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
            "minCompatibilityMajor": major, "minCompatibilityMinor": str(max(int(minor) - 1, 0)),
            "gitVersion": git_version, "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
            "gitTreeState": "clean", "buildDate": "2025-05-15T08:19:08Z",
            "goVersion": "go1.24.2", "compiler": "gc", "platform": "linux/amd64"}


def dial_error(host, port, error):
    """How Go's net.Dial reports a failure, for the proxy's 503."""
    if isinstance(error, ConnectionRefusedError):
        return f"dial tcp {host}:{port}: connect: connection refused"
    if isinstance(error, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    if isinstance(error, (socket.timeout, TimeoutError)):
        return f"dial tcp {host}:{port}: i/o timeout"
    return f"dial tcp {host}:{port}: {error}"


class StandIn:
    """The API server logic, independent of HTTP."""

    def __init__(self, verifier, git_version="v1.33.1", watch_timeout=300,
                 server_address="127.0.0.1:443"):
        self.verifier = verifier
        self.store = Store()
        self.git_version = git_version
        self.watch_timeout = watch_timeout
        self.server_address = server_address

    # -- routing ------------------------------------------------------------

    @staticmethod
    def route(path):
        """(kind, namespace, name, subresource) for an API path, or None."""
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = None
        if len(rest) >= 2 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3 or any(p == "" for p in rest):
            return None
        kind = API_KINDS.get((group, version, rest[0]))
        if kind is None or (namespace is not None and not kind.namespaced):
            return None
        name = rest[1] if len(rest) >= 2 else None
        subresource = rest[2] if len(rest) == 3 else None
        if (name is not None and namespace is None and kind.namespaced) or (
                subresource is not None and (subresource != "scale" or not kind.scalable)):
            return None
        return kind, namespace, name, subresource

    def discovery(self, path):
        """The discovery document at path, or None."""
        path = path.rstrip("/") or "/"
        if path == "/api":
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}]}
        if path == "/apis":
            return {"kind": "APIGroupList", "apiVersion": "v1",
                    "groups": [api_group(g) for g in DISCOVERY_GROUPS]}
        if path == "/api/v1":
            return {"kind": "APIResourceList", "groupVersion": "v1",
                    "resources": DISCOVERY_RESOURCES["v1"]}
        parts = path.strip("/").split("/")
        if parts[0] == "apis" and len(parts) == 2 and parts[1] in DISCOVERY_GROUPS:
            return {"kind": "APIGroup", "apiVersion": "v1", **api_group(parts[1])}
        if parts[0] == "apis" and len(parts) == 3 and f"{parts[1]}/{parts[2]}" in \
                DISCOVERY_RESOURCES:
            group_version = f"{parts[1]}/{parts[2]}"
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
                    "resources": DISCOVERY_RESOURCES[group_version]}
        return None

    def handle(self, req):
        """Answers an API request: (status code, body); the body may be a WatchStream
        or a ProxyResult, which the HTTP layer writes out."""
        why = self.verifier.verify(req.headers.get("Authorization"))
        req.auth_error = why
        if why is not None:
            raise err_unauthorized(why)
        proxy = PROXY_PATH.fullmatch(req.path)
        if proxy:
            req.verb = "proxy"
            return self.proxy(req, proxy)
        if req.path in ("/version", "/version/"):
            if req.method != "GET":
                raise err_generic(405, f"{req.method} is not served on {req.path}")
            return 200, version_info(self.git_version)
        document = self.discovery(req.path)
        if document is not None:
            if req.method != "GET":
                raise err_generic(405, f"{req.method} is not served on {req.path}")
            return 200, document
        route = self.route(req.path)
        if route is None:
            raise err_generic(404, f"no such API path {req.path}")
        kind, namespace, name, subresource = route
        watch = req.param("watch")
        if watch is not None and watch not in PARSE_BOOL:
            raise err_bad_request(f'strconv.ParseBool: parsing {go_quote(watch)}: invalid syntax')
        if name is None:
            allowed = {"GET": self.watch if watch in PARSE_BOOL_TRUE else self.list}
            if isinstance(kind, EventKind) and namespace is not None:
                allowed["POST"] = self.create_event
        elif watch in PARSE_BOOL_TRUE:
            raise err_generic(405, "watch of a single object by its path is not supported by "
                                   "the stand-in; use a fieldSelector on the list")
        elif subresource == "scale":
            allowed = {"GET": self.get_scale, "PATCH": self.patch_scale, "PUT": self.put_scale}
        elif isinstance(kind, EventKind) or kind in DISCOVERY_KINDS:
            allowed = {"GET": self.get, "PATCH": self.patch} if isinstance(kind, EventKind) \
                else {"GET": self.get}
        else:
            allowed = {"GET": self.get, "PATCH": self.patch, "PUT": self.put}
        handler = allowed.get(req.method)
        if handler is None:
            raise err_generic(405, f"{req.method} is not served on {req.path}")
        req.verb = {"GET": "get", "PATCH": "patch", "PUT": "update", "POST": "create"}[req.method]
        if name is None and req.method == "GET":
            req.verb = "watch" if watch in PARSE_BOOL_TRUE else "list"
        fault = self.take_fault(req)
        if fault is None:
            return handler(req, kind, namespace, name)
        return self.faulted(fault, req, handler, kind, namespace, name)

    # -- injected faults (POST /_standin/faults) ------------------------------

    def take_fault(self, req):
        """The armed fault this request meets, if any; every fault matching the request
        counts it (its `after` first lets that many matching requests through)."""
        chosen = None
        with self.store.lock:
            for fault in self.store.faults:
                if fault["path"] != req.path or req.method not in fault["methods"]:
                    continue
                if fault["after"] > 0:
                    fault["after"] -= 1
                elif fault["remaining"] > 0 and chosen is None:
                    fault["remaining"] -= 1
                    fault["fired"] += 1
                    chosen = fault
        if chosen is not None:
            req.fault = chosen["answer"]
        return chosen

    def faulted(self, fault, req, handler, kind, namespace, name):
        """Answers a request that met an injected fault."""
        answer = fault["answer"]
        if answer == "internal_error":
            raise ApiError(err_internal(INJECTED_INTERNAL_ERROR).status,
                           "fault injected: internal_error")
        if answer == "drop":
            raise DropConnection(None, "fault injected: connection closed before the request "
                                       "was processed")
        if answer == "conflict":
            # Another writer updates the object just before this request is processed, so
            # a resourceVersion precondition meets the real 409 (and a write without one
            # applies on top, as on the real server).
            with self.store.lock:
                self.stored(kind, namespace, name)
                self.other_writer(kind, namespace, name, fault["mutate"])
                return handler(req, kind, namespace, name)
        code, payload = handler(req, kind, namespace, name)  # drop_after_write
        raise DropConnection(code, "fault injected: connection closed after the request was "
                                   f"processed ({code}), before the response")

    # -- reads --------------------------------------------------------------

    def stored(self, kind, namespace, name):
        """The stored object, or 404."""
        obj = self.store.objects.get((kind.storage, namespace or "", name))
        if obj is None:
            raise err_not_found(kind, name)
        return obj

    def get(self, req, kind, namespace, name):
        with self.store.lock:
            return 200, render(kind, self.stored(kind, namespace, name))

    def get_scale(self, req, kind, namespace, name):
        with self.store.lock:
            return 200, scale_of(self.stored(kind, namespace, name))

    @staticmethod
    def selectors(req, kind):
        return (parse_label_selector(req.param("labelSelector") or ""),
                parse_field_selector(req.param("fieldSelector") or "", kind))

    @staticmethod
    def int_param(req, name):
        value = req.param(name)
        if value in (None, ""):
            return None
        if not re.fullmatch(r"-?[0-9]+", value):
            raise err_bad_request(f"strconv.ParseInt: parsing {go_quote(value)}: invalid syntax")
        return int(value)

    def list(self, req, kind, namespace, name):
        """A List of the kind (one namespace or all) with label and field selectors,
        paginated with limit/continue at a consistent resourceVersion as etcd3 does."""
        labels, fields = self.selectors(req, kind)
        limit = max(self.int_param(req, "limit") or 0, 0)
        token = req.param("continue") or ""
        rv_param = req.param("resourceVersion") or ""
        rv_match = req.param("resourceVersionMatch") or ""
        if rv_match not in ("", "Exact", "NotOlderThan"):
            raise err_invalid("meta.k8s.io", "ListOptions", "", [FieldError(
                "NotSupported", "resourceVersionMatch", rv_match,
                'supported values: "Exact", "NotOlderThan"')])
        if rv_match and not rv_param:
            raise err_invalid("meta.k8s.io", "ListOptions", "", [FieldError(
                "Forbidden", "resourceVersionMatch",
                detail="resourceVersionMatch is forbidden unless resourceVersion is provided")])
        prefix = f"{namespace}/" if namespace else ""
        store = self.store
        with store.lock:
            start = prefix
            if token:
                if rv_param:
                    raise err_bad_request("specifying resource version is not allowed when "
                                          "using continue")
                rv, start_key = decode_continue(token)
                start = prefix + start_key
                if rv < store.compacted_rv:
                    raise ApiError(status_body(410, "Expired", CONTINUE_EXPIRED))
            else:
                rv = store.counter
                if rv_param not in ("", "0"):
                    if not re.fullmatch(r"[0-9]+", rv_param):
                        raise err_bad_request(f"invalid resource version: {rv_param}")
                    wanted = int(rv_param)
                    if wanted > store.counter:
                        raise ApiError(status_body(
                            504, "Timeout", f"Too large resource version: {wanted}, current: "
                                            f"{store.counter}",
                            {"causes": [{"reason": "ResourceVersionTooLarge",
                                         "message": "Too large resource version"}],
                             "retryAfterSeconds": 1}))
                    exact = rv_match == "Exact" or (limit and rv_match != "NotOlderThan")
                    if exact:
                        if wanted < store.compacted_rv:
                            raise ApiError(status_body(
                                410, "Expired", f"too old resource version: {wanted} "
                                                f"({store.compacted_rv + 1})"))
                        rv = wanted
            keys, objects = store.snapshot(kind.storage, rv)
            first = bisect.bisect_left(keys, (start,))
            end = bisect.bisect_left(keys, (prefix[:-1] + "0",)) if prefix else len(keys)
            items, last = [], None
            for index in range(first, end):
                obj = objects[keys[index][1]]
                last = index
                if not labels_match(obj["metadata"].get("labels") or {}, labels):
                    continue
                if not all((field_value(obj, f) == v) == eq for f, eq, v in fields):
                    continue
                items.append(self.item_json(kind, obj))
                if limit and len(items) == limit:
                    break
            meta = {"resourceVersion": str(rv)}
            if limit and last is not None and last + 1 < end:
                meta["continue"] = encode_continue(rv, keys[last][0][len(prefix):] + "\x00")
                if not labels and not fields:
                    meta["remainingItemCount"] = end - last - 1
        head = json.dumps({"kind": f"{kind.kind}List", "apiVersion": kind.api_version,
                           "metadata": meta}, separators=(",", ":"), ensure_ascii=False)
        return 200, RawJson(head[:-1].encode() + b',"items":[' + b",".join(items) + b"]}")

    def item_json(self, kind, obj):
        """A list item's JSON, cached per stored object (they never change in place)."""
        cache = self.store.json_cache
        key = (kind.group, id(obj))
        hit = cache.get(key)
        if hit is not None and hit[0] is obj:
            return hit[1]
        if len(cache) > 2 * len(self.store.objects) + 1000:
            cache.clear()
        data = json.dumps(render_item(kind, obj), separators=(",", ":"),
                          ensure_ascii=False).encode()
        cache[key] = (obj, data)
        return data

    def watch(self, req, kind, namespace, name):
        """watch=true on a list: a WatchStream the HTTP layer writes out."""
        labels, fields = self.selectors(req, kind)
        rv_param = req.param("resourceVersion") or ""
        timeout = self.int_param(req, "timeoutSeconds")
        timeout = self.watch_timeout if timeout is None or timeout <= 0 else min(
            timeout, self.watch_timeout)
        bookmarks = req.param("allowWatchBookmarks") in PARSE_BOOL_TRUE
        send_initial = req.param("sendInitialEvents") in PARSE_BOOL_TRUE
        if send_initial and req.param("resourceVersionMatch") != "NotOlderThan":
            raise err_invalid("meta.k8s.io", "ListOptions", "", [FieldError(
                "Forbidden", "sendInitialEvents",
                detail="sendInitialEvents is forbidden for watch unless resourceVersionMatch "
                       "is set to NotOlderThan")])
        if rv_param not in ("", "0") and not re.fullmatch(r"[0-9]+", rv_param):
            raise err_bad_request(f"invalid resource version: {rv_param}")
        initial = rv_param in ("", "0") or send_initial
        rv = 0 if rv_param in ("", "0") else int(rv_param)
        return 200, WatchStream(self, kind, namespace, labels, fields, rv, initial, timeout,
                                bookmarks, send_initial and bookmarks)

    # -- proxy ----------------------------------------------------------------

    def proxy(self, req, match):
        """nodes/{node}[:port]/proxy/... and namespaces/{ns}/pods/{pod}[:port]/proxy/...:
        forwards the request to the kubelet or the pod (plain http unless https: is given;
        the real server uses https for kubelets)."""
        target = unquote(match.group("target"))
        pieces = target.split(":")
        if len(pieces) == 1:
            scheme, name, port = "", pieces[0], ""
        elif len(pieces) == 2:
            scheme, (name, port) = "", pieces
        elif len(pieces) == 3 and pieces[0] in ("http", "https"):
            scheme, name, port = pieces
        else:
            what = "pod" if match.group("res") else "node"
            raise err_bad_request(f"invalid {what} request {go_quote(target)}")
        with self.store.lock:
            if match.group("res"):
                pod = self.stored(POD, unquote(match.group("ns")), name)
                if not port:
                    for container in (pod.get("spec") or {}).get("containers") or []:
                        if container.get("ports"):
                            port = str(container["ports"][0].get("containerPort", ""))
                            break
                host = field_value(pod, "status.podIP")
            else:
                node = self.stored(NODE, "", name)
                status = node.get("status") or {}
                if not port:
                    kubelet = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint")
                               or {}).get("Port")
                    port = str(kubelet or 10250)
                addresses = status.get("addresses") or []
                host = ""
                for wanted in ("InternalIP", "ExternalIP", "InternalDNS", "ExternalDNS",
                               "Hostname"):
                    host = next((a.get("address", "") for a in addresses
                                 if a.get("type") == wanted and a.get("address")), "")
                    if host:
                        break
        if not host:
            raise err_bad_request("address not allowed")
        port = port or ("443" if scheme == "https" else "80")
        path = match.group("rest") or "/"
        query = req.raw_query  # kept as the client sent it
        headers = {k: v for k, v in req.headers.items()
                   if k.lower() not in ProxyResult.HOP_BY_HOP | {"authorization", "host"}}
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, int(port), timeout=30,
                                               context=ssl._create_unverified_context())
        else:
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request(req.method, path + (f"?{query}" if query else ""),
                         body=req.body or None, headers=headers)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as e:
            message = ("error trying to reach service: "
                       + dial_error(host, port, e))
            raise ApiError(status_body(503, "ServiceUnavailable", message)) from e
        finally:
            conn.close()
        headers = [(k, v) for k, v in response.getheaders()
                   if k.lower() not in ProxyResult.HOP_BY_HOP]
        return response.status, ProxyResult(response.status, response.reason, headers, body)


    # -- options ------------------------------------------------------------

    def options(self, req, options_kind):
        """dryRun and fieldValidation as metav1.{Patch,Create,Update}Options validate them;
        fieldManager is accepted and ignored."""
        errors = []
        dry_run = req.query.get("dryRun", [])
        if any(v != "All" for v in dry_run):
            errors.append(FieldError("NotSupported", "dryRun", GoRaw(
                "[]string{" + ", ".join(go_quote(v) for v in dry_run) + "}"),
                'supported values: "All"'))
        validation = req.param("fieldValidation") or "Warn"
        if validation not in ("Ignore", "Warn", "Strict"):
            errors.append(FieldError("NotSupported", "fieldValidation", validation,
                                     'supported values: "Ignore", "Strict", "Warn"'))
        if errors:
            raise err_invalid("meta.k8s.io", options_kind, "", errors)
        return bool(dry_run), validation

    # -- decoding -------------------------------------------------------------

    @staticmethod
    def parse_json(req):
        """The request body as JSON (ValueError if it is not)."""
        try:
            return json.loads(req.body.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError) as e:
            raise ValueError(str(e)) from e

    def decode_body(self, req, kind, schema, validation):
        """A POST/PUT body: 400 for bad JSON, wrong types, wrong apiVersion or (Strict)
        unknown fields; unknown fields dropped with a warning otherwise."""
        try:
            body = self.parse_json(req)
        except ValueError as e:
            raise kind.bad_body(str(e)) from e
        if not isinstance(body, dict):
            raise kind.bad_body(f"json: cannot unmarshal {json_type(body)} into Go value of "
                                f"type struct")
        for field, expected in (("apiVersion", kind.api_version), ("kind", kind.kind)):
            if body.get(field) not in (None, "", expected):
                raise err_bad_request(f"the {'API version' if field == 'apiVersion' else 'kind'}"
                                      f" in the data ({body[field]}) does not match the expected "
                                      f"{'API version' if field == 'apiVersion' else 'kind'} "
                                      f"({expected})")
        unknown = []
        try:
            body = decode(body, schema, kind.kind, "", unknown)
        except DecodeError as e:
            raise kind.bad_body(str(e)) from e
        self.unknown_fields(req, unknown, validation, lambda msg: err_bad_request(msg))
        body.setdefault("metadata", {})
        return body

    def decode_patched(self, req, kind, schema, patched, validation):
        """The result of a patch: problems are 422 Invalid on field "patch", as the
        API server reports them."""
        def invalid(message):
            return err_invalid("", "", "", [FieldError(
                "Invalid", "patch", json.dumps(patched, separators=(",", ":")), message)])

        for field, expected in (("apiVersion", kind.api_version), ("kind", kind.kind)):
            if isinstance(patched, dict) and patched.get(field) not in (None, expected):
                raise invalid(f"the {field} in the patched object ({patched.get(field)}) does "
                              f"not match {expected}")
        unknown = []
        try:
            result = decode(patched, schema, kind.kind, "", unknown)
        except DecodeError as e:
            raise invalid(str(e)) from e
        self.unknown_fields(req, unknown, validation, invalid)
        result.setdefault("metadata", {})
        return result

    @staticmethod
    def unknown_fields(req, unknown, validation, error):
        """fieldValidation: Ignore drops unknown fields, Warn (the default) drops them with
        a Warning header, Strict fails."""
        if not unknown or validation == "Ignore":
            return
        if validation == "Strict":
            raise error("strict decoding error: " + ", ".join(
                f"unknown field {go_quote(f)}" for f in unknown))
        req.warnings += [f"unknown field {go_quote(f)}" for f in unknown]

    def read_patch(self, req):
        """The patch document, checked the way the API server decodes it (400)."""
        content_type = req.content_type
        if content_type not in PATCH_TYPES:
            raise err_unsupported_media_type(content_type)
        try:
            patch = self.parse_json(req)
        except ValueError as e:
            raise err_bad_request(f"error decoding patch: {e}") from e
        if content_type == "application/json-patch+json":
            check_json_patch_document(patch)
        else:
            if not isinstance(patch, dict):
                raise err_bad_request("error decoding patch: json: cannot unmarshal "
                                      f"{json_type(patch)} into Go value of type "
                                      "map[string]interface {}")
            if content_type == "application/strategic-merge-patch+json":
                directive = find_directive(patch)
                if directive:
                    raise err_bad_request(f"strategic merge patch directive {directive!r} is not "
                                          "supported by the k8s stand-in")
        return content_type, patch

    @staticmethod
    def apply_patch(content_type, patch, current):
        """Applies a checked patch document to the object's wire form."""
        if content_type == "application/json-patch+json":
            try:
                return apply_json_patch(current, patch)
            except JsonPatchError as e:
                raise err_generic(422, str(e)) from e
        # Strategic merge patch: for these types every list is atomic or unused by the
        # scaler, so it behaves as a JSON merge patch.
        return merge_patch(current, patch)

    # -- writes -------------------------------------------------------------

    def check_identity(self, obj, namespace, name):
        """EnsureObjectNamespaceMatchesRequestNamespace and checkName (400)."""
        meta = obj["metadata"]
        if meta.get("namespace", "") == "":
            meta["namespace"] = namespace
        elif meta["namespace"] != namespace:
            raise err_bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
        if meta.get("name", "") != name:
            raise err_bad_request(f"the name of the object ({meta.get('name', '')}) does not "
                                  f"match the name on the URL ({name})")

    def concurrent_edit(self, kind, namespace, name):
        """Applies a pending injected edit by "another client" (see /_standin/conflicts)."""
        key = (kind.storage, namespace, name)
        pending = self.store.conflicts.get(key)
        if not pending or pending["remaining"] <= 0:
            return
        self.other_writer(kind, namespace, name, pending["mutate"])
        pending["remaining"] -= 1
        pending["applied"] += 1

    def other_writer(self, kind, namespace, name, mutate):
        """Another client's update of the stored object (a merge patch; none is a write
        that changes only the resourceVersion, as a controller's status update does)."""
        key = (kind.storage, namespace, name)
        old = self.store.objects[key]
        new = merge_patch(old, mutate or {})
        for field in ("name", "namespace", "uid", "creationTimestamp"):
            new["metadata"][field] = old["metadata"][field]
        bump_generation(kind, new, old)
        normalize(new)
        new["metadata"]["resourceVersion"] = self.store.next_version()
        self.store.put(key, new)

    def commit_update(self, kind, old, new, dry_run):
        """The generic registry's Update: precondition, BeforeUpdate, no-op detection."""
        name = old["metadata"]["name"]
        version = new["metadata"].get("resourceVersion", "")
        if version not in ("", "0"):
            if not re.fullmatch(r"[0-9]+", version):
                raise err_invalid(kind.group, kind.plural, name, [FieldError(
                    "Invalid", "resourceVersion", version,
                    f'strconv.ParseUint: parsing {go_quote(version)}: invalid syntax')])
            if int(version) != int(old["metadata"]["resourceVersion"]):
                raise err_conflict(kind.group, kind.plural, name, OPTIMISTIC_LOCK)
        meta = new["metadata"]
        if "generation" in old["metadata"]:
            meta["generation"] = old["metadata"]["generation"]
        else:
            meta.pop("generation", None)
        if not meta.get("uid"):
            meta["uid"] = old["metadata"]["uid"]
        meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
        kind.prepare_for_update(new, old)
        errors = []
        if meta["uid"] != old["metadata"]["uid"]:
            errors.append(FieldError("Invalid", "metadata.uid", meta["uid"], "field is immutable"))
        kind.default(new)
        errors += kind.validate(new, old)
        if errors:
            raise kind.invalid(name, errors)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        normalize(new)
        if json_equal(new, old):
            return old  # a no-op write is not written: the resourceVersion stays
        if not dry_run:
            new["metadata"]["resourceVersion"] = self.store.next_version()
            self.store.put((kind.storage, meta["namespace"], name), new)
        return new

    def patch(self, req, kind, namespace, name):
        """PATCH of an object: the patcher, then the registry's update."""
        dry_run, validation = self.options(req, "PatchOptions")
        content_type, patch = self.read_patch(req)
        with self.store.lock:
            self.stored(kind, namespace, name)
            self.concurrent_edit(kind, namespace, name)
            old = self.stored(kind, namespace, name)
            patched = self.apply_patch(content_type, patch, render(kind, old))
            new = self.decode_patched(req, kind, kind.schema, patched, validation)
            kind.default(new)
            self.check_identity(new, namespace, name)
            new = kind.to_storage(new) if isinstance(kind, EventKind) else new
            return 200, render(kind, self.commit_update(kind, old, new, dry_run))

    def put(self, req, kind, namespace, name):
        """PUT (replace) of an object."""
        dry_run, validation = self.options(req, "UpdateOptions")
        new = self.decode_body(req, kind, kind.schema, validation)
        kind.default(new)
        with self.store.lock:
            self.stored(kind, namespace, name)
            self.concurrent_edit(kind, namespace, name)
            old = self.stored(kind, namespace, name)
            self.check_identity(new, namespace, name)
            return 200, render(kind, self.commit_update(kind, old, new, dry_run))

    def update_scale(self, kind, namespace, name, scale, dry_run):
        """scaleUpdatedObjectInfo: validate the Scale, then move only spec.replicas and
        resourceVersion to the parent (Scale metadata such as annotations is dropped)."""
        old = self.stored(kind, namespace, name)
        self.check_identity(scale, namespace, name)
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if replicas < 0:
            raise err_invalid("autoscaling", "Scale", name, [FieldError(
                "Invalid", "spec.replicas", replicas, "must be greater than or equal to 0")])
        uid = scale["metadata"].get("uid", "")
        if uid and uid != old["metadata"]["uid"]:
            raise err_conflict(kind.group, f"{kind.plural}/scale", name,
                               f"Precondition failed: UID in precondition: {uid}, UID in object "
                               f"meta: {old['metadata']['uid']}")
        new = copy.deepcopy(old)
        new.setdefault("spec", {})["replicas"] = replicas
        new["metadata"]["resourceVersion"] = scale["metadata"].get("resourceVersion", "")
        return 200, scale_of(self.commit_update(kind, old, new, dry_run))

    def patch_scale(self, req, kind, namespace, name):
        """PATCH of deployments/scale or statefulsets/scale."""
        dry_run, validation = self.options(req, "PatchOptions")
        content_type, patch = self.read_patch(req)
        with self.store.lock:
            self.stored(kind, namespace, name)
            self.concurrent_edit(kind, namespace, name)
            current = scale_of(self.stored(kind, namespace, name))
            patched = self.apply_patch(content_type, patch, current)
            scale = self.decode_patched(req, SCALE, SCALE_SCHEMA, patched, validation)
            return self.update_scale(kind, namespace, name, scale, dry_run)

    def put_scale(self, req, kind, namespace, name):
        """PUT of deployments/scale or statefulsets/scale."""
        dry_run, validation = self.options(req, "UpdateOptions")
        scale = self.decode_body(req, SCALE, SCALE_SCHEMA, validation)
        with self.store.lock:
            self.stored(kind, namespace, name)
            self.concurrent_edit(kind, namespace, name)
            return self.update_scale(kind, namespace, name, scale, dry_run)

    def create_event(self, req, kind, namespace, name):
        """POST of an Event through either API."""
        dry_run, validation = self.options(req, "CreateOptions")
        event = self.decode_body(req, kind, kind.schema, validation)
        meta = event["metadata"]
        if meta.get("namespace", "") not in ("", namespace):
            raise err_bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
        meta["namespace"] = namespace
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                secrets.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        if not meta.get("name"):
            raise kind.invalid("", [FieldError("Required", "metadata.name", None,
                                               "name or generateName is required")])
        for field in ("uid", "resourceVersion", "generation", "creationTimestamp",
                      "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(field, None)  # system fields are the server's on create
        event = kind.to_storage(event)
        errors = kind.validate(event)
        if errors:
            raise kind.invalid(meta["name"], errors)
        with self.store.lock:
            key = ("events", namespace, meta["name"])
            if key in self.store.objects:
                raise err_already_exists(kind, meta["name"])
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = now_rfc3339()
            if dry_run:
                return 201, render(kind, normalize(event))
            meta["resourceVersion"] = self.store.next_version()
            normalize(event)
            self.store.put(key, event)
            self.store.event_origin[(namespace, meta["name"])] = kind
            self.store.event_order.append((namespace, meta["name"]))
            return 201, render(kind, event)

    # -- control API (tests only, no authentication) -------------------------

    def control(self, method, path, body):
        """/_standin/...: (status code, body)."""
        parts = [unquote(p) for p in path.strip("/").split("/")][1:]
        store = self.store
        with store.lock:
            if parts[:1] == ["objects"] and len(parts) in (3, 4):
                kind = CONTROL_KINDS.get(parts[1])
                if kind is None:
                    raise err_bad_request(f"unknown resource {parts[1]!r}; use one of "
                                          f"{sorted(CONTROL_KINDS)}")
                if kind.namespaced != (len(parts) == 4):
                    raise err_bad_request(
                        f"{kind.plural} are {'' if kind.namespaced else 'not '}namespaced: use "
                        f"/_standin/objects/{kind.plural}/{'{namespace}/' if kind.namespaced else ''}"
                        "{name}")
                namespace, name = (parts[2], parts[3]) if kind.namespaced else ("", parts[2])
                key = (kind.storage, namespace, name)
                if method == "GET":
                    return 200, render(kind, self.stored(kind, namespace, name))
                if method == "DELETE":
                    self.stored(kind, namespace, name)
                    return 200, render(kind, store.delete(key))
                if method == "PUT":
                    try:
                        obj = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
                    except (UnicodeDecodeError, ValueError) as e:
                        raise err_bad_request(f"fixture is not a valid {kind.kind}: {e}") from e
                    return 200, self.control_put(kind, namespace, name, obj)
            elif parts == ["load"] and method == "POST":
                try:
                    objects = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
                except (UnicodeDecodeError, ValueError) as e:
                    raise err_bad_request(f"load: not JSON: {e}") from e
                return 200, {"loaded": self.load(objects)}
            elif parts == ["compact"] and method == "POST":
                store.compact()
                return 200, {"compactedResourceVersion": str(store.compacted_rv)}
            elif parts == ["conflicts"] and method == "POST":
                return self.control_conflict(body)
            elif parts == ["conflicts"] and method == "GET":
                return 200, [{"resource": k[0], "namespace": k[1], "name": k[2], **v}
                             for k, v in store.conflicts.items()]
            elif parts == ["faults"] and method == "POST":
                return self.control_fault(body)
            elif parts == ["faults"] and method == "GET":
                return 200, store.faults
            elif parts == ["faults"] and method == "DELETE":
                store.faults = []
                return 200, []
            elif parts[:1] == ["history"] and len(parts) == 4 and method == "GET":
                kind = CONTROL_KINDS.get(parts[1])
                if kind is None or not kind.namespaced:
                    raise err_bad_request(f"unknown namespaced resource {parts[1]!r}; use one of "
                                          f"{sorted(k for k, v in CONTROL_KINDS.items() if v.namespaced)}")
                key = (kind.storage, parts[2], parts[3])
                return 200, [{"resourceVersion": str(rv),
                              "object": None if new is None else render(kind, new)}
                             for rv, k, _old, new in store.history if k == key]
            elif parts == ["requests"] and method == "GET":
                return 200, store.requests
            elif parts == ["requests"] and method == "DELETE":
                store.requests = []
                return 200, []
            elif parts == ["events"] and method == "GET":
                return 200, [render(store.event_origin[k], store.objects[("events",) + k])
                             for k in store.event_order if ("events",) + k in store.objects]
            elif parts == ["events"] and method == "DELETE":
                for k in store.event_order:
                    if ("events",) + k in store.objects:
                        store.delete(("events",) + k)
                store.event_order, store.event_origin = [], {}
                return 200, []
            elif parts == ["reset"] and method == "POST":
                store.reset()
                return 200, {}
            raise err_generic(404, f"no control endpoint {method} {path}")

    def control_put(self, kind, namespace, name, obj):
        """Create or replace an object as a test fixture (status is taken as given);
        returns it as GET would."""
        try:
            unknown = []
            obj = decode(obj, kind.schema, kind.kind, "", unknown)
        except DecodeError as e:
            raise err_bad_request(f"fixture is not a valid {kind.kind}: {e}") from e
        obj["kind"], obj["apiVersion"] = kind.kind, kind.api_version
        meta = obj.setdefault("metadata", {})
        meta["name"] = name
        if kind.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        kind.default(obj)
        errors = kind.validate(obj)
        if errors:
            raise kind.invalid(name, errors)
        old = self.store.objects.get((kind.storage, namespace, name))
        if old is None:
            meta["uid"] = meta.get("uid") or str(uuid.uuid4())
            meta["creationTimestamp"] = meta.get("creationTimestamp") or now_rfc3339()
            if kind.generation:
                meta["generation"] = 1
        else:
            meta["uid"] = old["metadata"]["uid"]
            meta["creationTimestamp"] = old["metadata"]["creationTimestamp"]
            bump_generation(kind, obj, old)
        meta["resourceVersion"] = self.store.next_version()
        obj = normalize({"kind": obj.pop("kind"), "apiVersion": obj.pop("apiVersion"), **obj})
        self.store.put((kind.storage, namespace, name), obj)
        return render(kind, obj)

    def load(self, objects):
        """Creates or replaces every object of a JSON list (or a v1 List) of objects with
        kind and apiVersion; returns how many. Namespaced objects without a namespace go
        to "default"."""
        if isinstance(objects, dict) and isinstance(objects.get("items"), list):
            objects = objects["items"]
        if not isinstance(objects, list):
            raise err_bad_request("load: expected a JSON list of objects or a List")
        with self.store.lock:
            for i, obj in enumerate(objects):
                if not isinstance(obj, dict):
                    raise err_bad_request(f"load: item {i} is not an object")
                kind = SEED_KINDS.get((obj.get("apiVersion"), obj.get("kind")))
                if kind is None:
                    raise err_bad_request(
                        f"load: item {i}: unsupported apiVersion/kind "
                        f"{obj.get('apiVersion')}/{obj.get('kind')}; use one of "
                        f"{sorted(f'{a}/{k}' for a, k in SEED_KINDS)}")
                meta = obj.get("metadata") or {}
                if not meta.get("name"):
                    raise err_bad_request(f"load: item {i} has no metadata.name")
                namespace = (meta.get("namespace") or "default") if kind.namespaced else ""
                self.control_put(kind, namespace, meta["name"], obj)
        return len(objects)

    def control_conflict(self, body):
        """Arms the next `count` writes on an object to meet a concurrent edit first."""
        try:
            spec = json.loads(body.decode("utf-8"))
            kind = CONTROL_KINDS[spec["resource"]]
            key = (kind.storage, spec["namespace"], spec["name"])
            count = int(spec.get("count", 1))
            mutate = spec.get("mutate")
            if mutate is not None and not isinstance(mutate, dict):
                raise ValueError("mutate must be a JSON merge patch object")
        except (UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
            raise err_bad_request(f"conflict spec: {e!r}; expected {{resource, namespace, name, "
                                  f"count, mutate}}") from e
        self.store.conflicts[key] = {"remaining": count, "applied": 0, "mutate": mutate}
        return 200, {"resource": key[0], "namespace": key[1], "name": key[2],
                     **self.store.conflicts[key]}


    def control_fault(self, body):
        """Arms a fault for writes to one API path (see FAULT_ANSWERS)."""
        try:
            spec = json.loads(body.decode("utf-8"))
            if not isinstance(spec, dict):
                raise ValueError("not a JSON object")
            unknown = set(spec) - {"path", "methods", "after", "count", "answer", "mutate"}
            if unknown:
                raise ValueError(f"unknown fields {sorted(unknown)}")
            path, answer = spec["path"], spec["answer"]
            methods = spec.get("methods", ["PATCH", "PUT", "POST"])
            after, count = int(spec.get("after", 0)), int(spec.get("count", 1))
            mutate = spec.get("mutate")
            if not isinstance(path, str) or self.route(path) is None:
                raise ValueError(f"path {path!r} is not an API path the stand-in serves")
            if answer not in FAULT_ANSWERS:
                raise ValueError(f"answer {answer!r} is not one of {sorted(FAULT_ANSWERS)}")
            if not isinstance(methods, list) or not set(methods) <= {"PATCH", "PUT", "POST"} \
                    or not methods:
                raise ValueError("methods must be a non-empty list of PATCH, PUT, POST")
            if after < 0 or count < 1:
                raise ValueError("after must be >= 0 and count >= 1")
            if mutate is not None and (answer != "conflict" or not isinstance(mutate, dict)):
                raise ValueError("mutate (a JSON merge patch object) goes with answer conflict")
            if answer == "conflict" and self.route(path)[2] is None:
                raise ValueError("answer conflict needs the path of one object")
        except (UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
            raise err_bad_request(f"fault spec: {e}; expected {{path, answer, methods, after, "
                                  f"count, mutate}}") from e
        fault = {"path": path, "methods": methods, "after": after, "remaining": count,
                 "fired": 0, "answer": answer, "mutate": mutate}
        self.store.faults.append(fault)
        return 200, fault


class DropConnection(Exception):
    """The connection is closed without a response (an injected fault): `code` is the
    status the request got when it was processed before the drop, else None."""

    def __init__(self, code, detail):
        super().__init__(detail)
        self.code, self.detail = code, detail


# Faults POST /_standin/faults can inject into writes to one path:
#   conflict          another writer updates the object first (resourceVersion bumped, an
#                     optional merge patch `mutate` applied): a precondition meets the real 409
#   internal_error    500 InternalError Status (as an etcd timeout gives); nothing stored
#   drop              the connection closes before the request is processed; nothing stored
#   drop_after_write  the request is processed (stored), then the connection closes before
#                     the response: the client cannot know the write happened
FAULT_ANSWERS = ("conflict", "internal_error", "drop", "drop_after_write")
INJECTED_INTERNAL_ERROR = "etcdserver: request timed out"


def _reject_constant(name):
    """Go's JSON has no NaN or Infinity."""
    raise ValueError(f"invalid character {name[0]!r} looking for beginning of value")


# ---------------------------------------------------------------------------
# A synthetic cluster for benchmarks (--generate-pods N)
# ---------------------------------------------------------------------------

ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")


def generate_cluster(pods, namespaces=10, pods_per_app=10, pods_per_node=100):
    """Objects of a cluster with `pods` Running pods: Deployments' pods (2 containers
    with ports, labels, annotations, a ReplicaSet owner, conditions and container
    statuses) spread over `namespaces` namespaces and ceil(pods/pods_per_node) nodes,
    one ClusterIP Service, Endpoints and EndpointSlice per app. Deterministic but for
    uids."""
    created = "2026-01-05T10:00:00Z"
    node_count = max(1, -(-pods // pods_per_node))
    objects = []
    nodes = []
    for n in range(node_count):
        name = f"ip-10-0-{n // 250}-{n % 250 + 1}.eu-west-1.compute.internal"
        zone = ZONES[n % len(ZONES)]
        ip = f"10.0.{n // 250}.{n % 250 + 1}"
        nodes.append((name, ip, zone))
        objects.append({"apiVersion": "v1", "kind": "Node", "metadata": {
            "name": name, "uid": str(uuid.uuid4()), "creationTimestamp": created,
            "labels": {"kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux",
                       "kubernetes.io/hostname": name, "topology.kubernetes.io/zone": zone,
                       "topology.kubernetes.io/region": "eu-west-1",
                       "node.kubernetes.io/instance-type": "m7g.2xlarge",
                       "eks.amazonaws.com/nodegroup": "bench"},
            "annotations": {"alpha.kubernetes.io/provided-node-ip": ip,
                            "node.alpha.kubernetes.io/ttl": "0"}},
            "spec": {"providerID": f"aws:///{zone}/i-0{n:016x}"},
            "status": {
                "addresses": [{"type": "InternalIP", "address": ip},
                              {"type": "InternalDNS", "address": name},
                              {"type": "Hostname", "address": name}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "capacity": {"cpu": "8", "memory": "32210172Ki", "pods": "110"},
                "allocatable": {"cpu": "7910m", "memory": "31187196Ki", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True",
                                "lastHeartbeatTime": created, "lastTransitionTime": created,
                                "reason": "KubeletReady",
                                "message": "kubelet is posting ready status"}],
                "nodeInfo": {"kubeletVersion": "v1.33.1-eks-b9364f6", "osImage":
                             "Amazon Linux 2023.7.20250527", "architecture": "arm64",
                             "operatingSystem": "linux",
                             "containerRuntimeVersion": "containerd://1.7.27"}}})
    apps = -(-pods // pods_per_app)
    made = 0
    for a in range(apps):
        namespace = f"bench-{a % namespaces}"
        app = f"app-{a:05d}"
        template_hash = f"{(a * 2654435761) % 16**10:010x}"[:10]
        rs_uid = str(uuid.uuid4())
        labels = {"app": app, "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "bench",
                  "pod-template-hash": template_hash}
        members = []
        for i in range(min(pods_per_app, pods - made)):
            node, node_ip, zone = nodes[made // pods_per_node]
            ip = f"10.{1 + made // 65536}.{made // 256 % 256}.{made % 256}"
            name = f"{app}-{template_hash}-{i:05d}"
            uid = str(uuid.uuid4())
            made += 1
            members.append((name, uid, ip, node, zone))
            conditions = [{"type": t, "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": created}
                          for t in ("PodReadyToStartContainers", "Initialized", "Ready",
                                    "ContainersReady", "PodScheduled")]
            statuses = [{"name": c, "state": {"running": {"startedAt": created}},
                         "lastState": {}, "ready": True, "restartCount": 0, "image": image,
                         "imageID": f"{image}@sha256:{'0' * 64}",
                         "containerID": f"containerd://{uid.replace('-', '')}{c}",
                         "started": True}
                        for c, image in (("app", f"registry.example/{app}:1.4.2"),
                                         ("envoy", "envoyproxy/envoy:v1.30.1"))]
            objects.append({"apiVersion": "v1", "kind": "Pod", "metadata": {
                "name": name, "generateName": f"{app}-{template_hash}-", "namespace": namespace,
                "uid": uid, "creationTimestamp": created, "labels": dict(labels),
                "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090",
                                "prometheus.io/path": "/metrics",
                                "kubectl.kubernetes.io/default-container": "app"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                     "name": f"{app}-{template_hash}", "uid": rs_uid,
                                     "controller": True, "blockOwnerDeletion": True}]},
                "spec": {
                    "containers": [
                        {"name": "app", "image": f"registry.example/{app}:1.4.2",
                         "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                                   {"name": "metrics", "containerPort": 9090,
                                    "protocol": "TCP"}],
                         "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                       "limits": {"memory": "256Mi"}},
                         "readinessProbe": {"httpGet": {"path": "/ready", "port": "http",
                                                        "scheme": "HTTP"},
                                            "periodSeconds": 10},
                         "terminationMessagePath": "/dev/termination-log",
                         "terminationMessagePolicy": "File", "imagePullPolicy": "IfNotPresent"},
                        {"name": "envoy", "image": "envoyproxy/envoy:v1.30.1",
                         "ports": [{"name": "envoy-admin", "containerPort": 15090,
                                    "protocol": "TCP"}],
                         "terminationMessagePath": "/dev/termination-log",
                         "terminationMessagePolicy": "File",
                         "imagePullPolicy": "IfNotPresent"}],
                    "nodeName": node, "restartPolicy": "Always",
                    "schedulerName": "default-scheduler", "serviceAccountName": "default",
                    "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
                    "enableServiceLinks": True, "preemptionPolicy": "PreemptLowerPriority",
                    "priority": 0,
                    "tolerations": [{"key": "node.kubernetes.io/not-ready",
                                     "operator": "Exists", "effect": "NoExecute",
                                     "tolerationSeconds": 300}]},
                "status": {"phase": "Running", "conditions": conditions, "hostIP": node_ip,
                           "hostIPs": [{"ip": node_ip}], "podIP": ip, "podIPs": [{"ip": ip}],
                           "startTime": created, "containerStatuses": statuses,
                           "qosClass": "Burstable"}})
        ports = [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"},
                 {"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": "metrics"}]
        service_labels = {"app": app, "app.kubernetes.io/name": app}
        cluster_ip = f"172.20.{a // 256 % 256}.{a % 256}"
        objects.append({"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": app, "namespace": namespace, "uid": str(uuid.uuid4()),
            "creationTimestamp": created, "labels": service_labels,
            "annotations": {"prometheus.io/scrape": "true"}},
            "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                     "ports": ports, "selector": {"app": app}, "sessionAffinity": "None",
                     "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                     "internalTrafficPolicy": "Cluster"},
            "status": {"loadBalancer": {}}})
        target_ports = [{"name": "http", "port": 8080, "protocol": "TCP"},
                        {"name": "metrics", "port": 9090, "protocol": "TCP"}]
        objects.append({"apiVersion": "v1", "kind": "Endpoints", "metadata": {
            "name": app, "namespace": namespace, "uid": str(uuid.uuid4()),
            "creationTimestamp": created, "labels": service_labels,
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": created}},
            "subsets": [{"addresses": [
                {"ip": ip, "nodeName": node, "targetRef": {
                    "kind": "Pod", "namespace": namespace, "name": name, "uid": uid}}
                for name, uid, ip, node, _ in members], "ports": target_ports}]})
        objects.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                        "metadata": {
            "name": f"{app}-{template_hash[:5]}", "generateName": f"{app}-",
            "namespace": namespace, "uid": str(uuid.uuid4()), "creationTimestamp": created,
            "labels": {**service_labels, "endpointslice.kubernetes.io/managed-by":
                       "endpointslice-controller.k8s.io", "kubernetes.io/service-name": app},
            "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": app,
                                 "uid": str(uuid.uuid4()), "controller": True,
                                 "blockOwnerDeletion": True}]},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {
                "ready": True, "serving": True, "terminating": False}, "nodeName": node,
                "zone": zone, "targetRef": {"kind": "Pod", "namespace": namespace, "name": name,
                                            "uid": uid}}
                for name, uid, ip, node, zone in members],
            "ports": target_ports})
    return objects


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: every response has a Content-Length."""

    protocol_version = "HTTP/1.1"
    server_version = "k8s-standin"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True  # TCP_NODELAY, as Go's servers: no delayed-ACK stalls

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = do_GET

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("standin: %s - %s\n" % (self.address_string(), fmt % args))

    def read_body(self):
        """The request body (Content-Length or chunked); raises ValueError if malformed."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise ValueError("request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            raise ValueError("bad or too large Content-Length")
        return self.rfile.read(length) if length else b""

    def dispatch(self):
        """Reads the body, answers the control or the Kubernetes API, logs API requests."""
        try:
            body = self.read_body()
        except (ValueError, OSError) as e:
            self.close_connection = True
            self.respond(400, err_bad_request(f"unreadable request body: {e}").status)
            return
        url = urlsplit(self.path)
        standin = self.server.standin
        if url.path.startswith("/_standin/"):
            try:
                code, payload = standin.control(self.command, url.path, body)
            except ApiError as e:
                code, payload = e.code, e.status
            except Exception as e:  # never a traceback to the client
                traceback.print_exc()
                code, payload = 500, err_internal(repr(e)).status
            self.respond(code, payload)
            return
        req = Request(self.command, url.path, parse_qs(url.query, keep_blank_values=True),
                      self.headers, body)
        req.raw_query = url.query
        req.auth_error = None
        detail = None
        try:
            code, payload = standin.handle(req)
        except ApiError as e:
            code, payload, detail = e.code, e.status, e.detail
        except DropConnection as e:
            self.log_request_entry(req, e.code, e.detail)
            self.close_connection = True  # no response: the client sees the connection end
            return
        except Exception as e:
            traceback.print_exc()
            code, payload, detail = 500, err_internal(repr(e)).status, traceback.format_exc()
        self.log_request_entry(req, code, detail)
        if isinstance(payload, WatchStream):
            self.stream_watch(payload)
        elif isinstance(payload, ProxyResult):
            self.respond_raw(payload)
        else:
            self.respond(code, payload, req.warnings)

    def stream_watch(self, watch):
        """A watch response: chunked, one JSON event per line, flushed one by one."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

        def send(event):
            data = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        try:
            watch.run(send, self.client_gone)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (OSError, ValueError):
            self.close_connection = True

    def client_gone(self):
        """Whether the client closed the connection (checked while a watch is idle; a
        client may not send anything else on a watch connection)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable and not self.connection.pending():
                return False
            self.connection.settimeout(0.2)
            try:
                return self.connection.recv(1) == b""
            finally:
                self.connection.settimeout(self.timeout)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except (OSError, ValueError):
            return True

    def respond_raw(self, result):
        """A proxied response as the backend sent it (with our Content-Length)."""
        self.send_response(result.status, result.reason)
        for key, value in result.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(result.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(result.body)

    def log_request_entry(self, req, code, detail):
        """Appends the request to the log GET /_standin/requests returns."""
        try:
            parsed = json.loads(req.body.decode("utf-8")) if req.body else None
        except (UnicodeDecodeError, ValueError):
            parsed = None
        entry = {
            "method": req.method, "path": req.path, "verb": req.verb,
            "query": {k: v[-1] for k, v in req.query.items()},
            "content_type": req.headers.get("Content-Type"), "status": code, "body": parsed,
            "auth_ok": req.auth_error is None, "auth_error": req.auth_error,
            "error": detail if code is None or code >= 400 or req.fault else None,
        }
        if req.fault is not None:
            entry["fault"] = req.fault
        with self.server.standin.store.lock:
            self.server.standin.store.requests.append(entry)

    def respond(self, code, payload, warnings=()):
        """Writes a JSON response, always with Content-Length (keep-alive)."""
        if isinstance(payload, RawJson):
            data = bytes(payload) + b"\n"
        else:
            data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for warning in warnings:
            self.send_header("Warning", f'299 - {go_quote(warning)}')
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


class TLSServer(http.server.ThreadingHTTPServer):
    """A threaded HTTPS server; the TLS handshake runs in the connection's thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, context, standin, verbose):
        super().__init__(address, Handler)
        self.context, self.standin, self.verbose = context, standin, verbose

    def finish_request(self, request, client_address):
        """TLS handshake, then HTTP on the same thread; closes the TLS socket after."""
        request.settimeout(30)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            if self.verbose:
                sys.stderr.write(f"standin: TLS handshake with {client_address} failed: {e}\n")
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass


def main(argv=None):
    """Parses the arguments, serves until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--port-file", help="write the bound port here (useful with --port 0)")
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--cluster", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--access-key-id", required=True)
    parser.add_argument("--secret-access-key", required=True)
    parser.add_argument("--session-token")
    parser.add_argument("--token-max-age", type=int, default=900)
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    parser.add_argument("--seed", action="append", default=[], metavar="FILE",
                        help="load objects from FILE (a JSON list of objects with kind and "
                             "apiVersion, or a List) before serving; repeatable")
    parser.add_argument("--generate-pods", type=int, default=0, metavar="N",
                        help="generate a synthetic cluster of N pods (with nodes, services, "
                             "endpoints, endpointslices) before serving")
    parser.add_argument("--git-version", default="v1.33.1", help="/version's gitVersion")
    parser.add_argument("--watch-timeout", type=int, default=300,
                        help="longest watch in seconds (timeoutSeconds may ask for less)")
    args = parser.parse_args(argv)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.set_alpn_protocols(["http/1.1"])
    verifier = TokenVerifier(args.cluster, args.region, args.access_key_id,
                             args.secret_access_key, args.session_token, args.token_max_age)
    standin = StandIn(verifier, args.git_version, args.watch_timeout)
    for path in args.seed:
        with open(path, encoding="utf-8") as f:
            try:
                standin.load(json.load(f))
            except ApiError as e:
                parser.error(f"--seed {path}: {e.status['message']}")
    if args.generate_pods:
        standin.load(generate_cluster(args.generate_pods))
    standin.store.compact()  # the seeded state is where watches and lists start
    server = TLSServer((args.host, args.port), context, standin, args.verbose)
    standin.server_address = f"{server.server_address[0]}:{server.server_address[1]}"
    if args.port_file:
        with open(args.port_file, "w", encoding="utf-8") as f:
            f.write(f"{server.server_address[1]}\n")
    print("READY", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
