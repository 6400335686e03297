"""Tests of the Kubernetes API stand-in (standin.py) over real HTTPS.

Run from the repository root with:  .venv/bin/python -m unittest discover -s tests/k8s_standin -v

The stand-in runs as a subprocess with a certificate signed by a CA made here with
openssl (see make_certs below, the same steps as make_certs.sh); every request goes
through ssl.create_default_context(cafile=ca.pem) and carries an EKS token built with
botocore the way `aws eks get-token` builds it.
"""
import base64
import datetime as dt
import functools
import http.client
import http.server
import json
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path
from unittest import mock

import botocore.auth
import botocore.crt.auth  # noqa: F401 (patched in presigned_token)
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = Path(__file__).resolve().parent
STANDIN = HERE / "standin.py"
CLUSTER = "demo-cluster"
REGION = "eu-west-1"
KEY_ID = "AKIDSTANDINTEST"
SECRET = "standin-test-secret"
SESSION = "FwoGZXIvYXdzE+session/token=="  # '+', '/' and '=' must survive URL encoding

NS = "prod"
HPA_PATH = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/web"
DEPLOY_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments/web"
STS_PATH = f"/apis/apps/v1/namespaces/{NS}/statefulsets/db"
EVENTS_PATH = f"/api/v1/namespaces/{NS}/events"
EVENTS_V1_PATH = f"/apis/events.k8s.io/v1/namespaces/{NS}/events"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"

UNAUTHORIZED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
PATH_NOT_FOUND = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": "the server could not find the requested resource",
                  "reason": "NotFound", "details": {}, "code": 404}
METHOD_NOT_ALLOWED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": "the server does not allow this method on the requested resource",
                      "reason": "MethodNotAllowed", "details": {}, "code": 405}
PATCH_REJECTED = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": "the server rejected our request due to an error in our request",
                  "reason": "Invalid", "details": {}, "code": 422}
UNSUPPORTED_MEDIA_TYPE = {
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "the body of the request was in an unknown format - accepted media types include: "
               "application/json-patch+json, application/merge-patch+json, "
               "application/strategic-merge-patch+json",
    "reason": "UnsupportedMediaType", "code": 415}
MODIFIED = ("the object has been modified; please apply your changes to the latest version "
            "and try again")

HPA_FIXTURE = {
    "metadata": {"labels": {"app": "web"}, "annotations": {"owner": "team-a"}},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
             "minReplicas": 2, "maxReplicas": 10},
    "status": {"currentReplicas": 3, "desiredReplicas": 3},
}
DEPLOYMENT_FIXTURE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
    "status": {"replicas": 3, "readyReplicas": 3},
}
STATEFULSET_FIXTURE = {
    "spec": {"replicas": 2, "serviceName": "db",
             "selector": {"matchLabels": {"app": "db"}, "matchExpressions": [
                 {"key": "tier", "operator": "In", "values": ["b", "a"]}]},
             "template": {"metadata": {"labels": {"app": "db", "tier": "a"}}}},
    "status": {"replicas": 2},
}


# ---------------------------------------------------------------------------
# Certificates: made by make_certs.sh, the same script the Rust tests call, so this
# suite also checks that what it makes is accepted by a verifying TLS client.
# ---------------------------------------------------------------------------


def make_certs(outdir):
    """Runs make_certs.sh OUTDIR: ca.pem, ca-key.pem, server.pem (SAN IP:127.0.0.1,
    DNS:localhost) and server-key.pem."""
    outdir = Path(outdir)
    script = Path(__file__).resolve().parent / "make_certs.sh"
    subprocess.run(["sh", str(script), str(outdir)], check=True, capture_output=True)
    return outdir


# ---------------------------------------------------------------------------
# EKS tokens, built independently of the stand-in
# ---------------------------------------------------------------------------


def encode_token(url):
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


@functools.lru_cache(maxsize=None)
def sts_client(region, key, secret, session):
    """An STS client with the two handlers `aws eks get-token` registers
    (awscli/customizations/eks/get_token.py, STSClientFactory)."""
    client = botocore.session.Session().create_client(
        "sts", region_name=region, endpoint_url=f"https://sts.{region}.amazonaws.com",
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=session)

    def retrieve_k8s_aws_id(params, context, **kwargs):
        if "x-k8s-aws-id" in params:
            context["x-k8s-aws-id"] = params.pop("x-k8s-aws-id")

    def inject_k8s_aws_id_header(request, **kwargs):
        if "x-k8s-aws-id" in request.context:
            request.headers["x-k8s-aws-id"] = request.context["x-k8s-aws-id"]

    client.meta.events.register("provide-client-params.sts.GetCallerIdentity",
                                retrieve_k8s_aws_id)
    client.meta.events.register("before-sign.sts.GetCallerIdentity", inject_k8s_aws_id_header)
    return client


def presigned_token(cluster=CLUSTER, region=REGION, key=KEY_ID, secret=SECRET, session=SESSION,
                    at=None):
    """The token as `aws eks get-token` makes it: a presigned GetCallerIdentity URL.

    With awscrt installed (as in the project venv) botocore presigns with the CRT signer,
    an implementation independent of the pure-Python one the stand-in checks with."""
    client = sts_client(region, key, secret, session)
    at = at or utcnow()

    def frozen(remove_tzinfo=True):
        return at if remove_tzinfo else at.replace(tzinfo=dt.timezone.utc)

    with mock.patch("botocore.auth.get_current_datetime", frozen), \
            mock.patch("botocore.crt.auth.get_current_datetime", frozen):
        url = client.generate_presigned_url("get_caller_identity",
                                            Params={"x-k8s-aws-id": cluster},
                                            ExpiresIn=60, HttpMethod="GET")
    return encode_token(url)


def manual_token(cluster=CLUSTER, region=REGION, key=KEY_ID, secret=SECRET, session=SESSION,
                 at=None, expires=60, host=None, extra_query=""):
    """The same token from botocore's SigV4QueryAuth directly, with knobs to break it."""
    host = host or f"sts.{region}.amazonaws.com"
    request = AWSRequest(method="GET", headers={"x-k8s-aws-id": cluster},
                         url=f"https://{host}/?Action=GetCallerIdentity&Version=2011-06-15"
                             f"{extra_query}")
    signer = botocore.auth.SigV4QueryAuth(Credentials(key, secret, session), "sts", region,
                                          expires=expires)
    with mock.patch("botocore.auth.get_current_datetime", return_value=at or utcnow()):
        signer.add_auth(request)
    return encode_token(request.url)


def utcnow():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def decode_token_url(token):
    payload = token[len("k8s-aws-v1."):]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


# ---------------------------------------------------------------------------
# The stand-in process and an HTTPS client
# ---------------------------------------------------------------------------


class StandInProcess:
    """standin.py as a subprocess; start() returns once it printed READY."""

    def __init__(self, certdir, workdir, port=0, session_token=SESSION):
        self.certdir, self.workdir = Path(certdir), Path(workdir)
        self.requested_port, self.session_token = port, session_token
        self.port = None
        self.proc = None

    def start(self):
        port_file = self.workdir / f"port-{id(self)}"
        args = [sys.executable, str(STANDIN), "--port", str(self.requested_port),
                "--port-file", str(port_file),
                "--cert", str(self.certdir / "server.pem"),
                "--key", str(self.certdir / "server-key.pem"),
                "--cluster", CLUSTER, "--region", REGION,
                "--access-key-id", KEY_ID, "--secret-access-key", SECRET,
                "--token-max-age", "900"]
        if self.session_token:
            args += ["--session-token", self.session_token]
        args += getattr(self, "extra_args", [])
        self.stderr_path = self.workdir / f"stderr-{id(self)}.txt"
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr)
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline() if ready else b""
        if line.strip() != b"READY":
            self.stop()
            raise RuntimeError(f"stand-in did not start: {line!r}\n"
                               f"{self.stderr_path.read_text()}")
        self.port = int(port_file.read_text())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        if self.proc:
            self.proc.stdout.close()
        self.stderr.close()


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def __repr__(self):
        return f"Response({self.status}, {self.body!r})"


class Client:
    """One keep-alive HTTPS connection that trusts only the test CA."""

    def __init__(self, port, cafile, token=None):
        self.context = ssl.create_default_context(cafile=str(cafile))
        self.conn = http.client.HTTPSConnection("127.0.0.1", port, context=self.context,
                                                timeout=20)
        self.token = token

    def request(self, method, path, body=None, content_type=None, token="default", raw=None,
                headers=None, chunked=False):
        token = self.token if token == "default" else token
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if content_type:
            all_headers["Content-Type"] = content_type
        data = raw if raw is not None else (
            json.dumps(body).encode() if body is not None else None)
        if chunked:
            self.conn.request(method, path, body=iter([data[:5], data[5:]]), headers=all_headers,
                              encode_chunked=True)
        else:
            self.conn.request(method, path, body=data, headers=all_headers)
        response = self.conn.getresponse()
        payload = response.read()
        self.last_raw = payload
        return Response(response.status, response, json.loads(payload) if payload else None)

    def close(self):
        self.conn.close()


SHARED = {}


def setUpModule():
    """One stand-in (with a session token, as on Lambda) for the whole module; each test
    starts from POST /_standin/reset."""
    SHARED["tmp"] = tempfile.TemporaryDirectory()
    SHARED["certdir"] = make_certs(Path(SHARED["tmp"].name))
    SHARED["server"] = StandInProcess(SHARED["certdir"], SHARED["tmp"].name).start()


def tearDownModule():
    SHARED["server"].stop()
    SHARED["tmp"].cleanup()


class StandInTestCase(unittest.TestCase):
    """Tests against the shared stand-in, with fixtures re-created for every test."""

    @classmethod
    def setUpClass(cls):
        cls.certdir, cls.server = SHARED["certdir"], SHARED["server"]
        cls.token = presigned_token()

    def setUp(self):
        self.client = self.new_client()
        self.control("POST", "/_standin/reset")
        self.hpa = self.control("PUT", f"/_standin/objects/horizontalpodautoscalers/{NS}/web",
                                HPA_FIXTURE)
        self.deployment = self.control("PUT", f"/_standin/objects/deployments/{NS}/web",
                                       DEPLOYMENT_FIXTURE)
        self.statefulset = self.control("PUT", f"/_standin/objects/statefulsets/{NS}/db",
                                        STATEFULSET_FIXTURE)

    def tearDown(self):
        self.client.close()

    def new_client(self, token="default"):
        return Client(self.server.port, self.certdir / "ca.pem",
                      self.token if token == "default" else token)

    def api(self, method, path, body=None, content_type=None, **kwargs):
        return self.client.request(method, path, body, content_type, **kwargs)

    def control(self, method, path, body=None, expect=200):
        response = self.client.request(method, path, body, token=None)
        self.assertEqual(response.status, expect, response.body)
        return response.body

    def stored(self, resource, name, namespace=NS):
        return self.control("GET", f"/_standin/objects/{resource}/{namespace}/{name}")

    def counter(self):
        """The current value of the global resourceVersion counter."""
        return int(self.api("GET", "/apis/apps/v1/namespaces/none/deployments").body[
            "metadata"]["resourceVersion"])

    def requests_log(self):
        return self.control("GET", "/_standin/requests")

    def assertStatus(self, response, code, reason=None):
        self.assertEqual(response.status, code, response.body)
        self.assertEqual(response.headers.getheader("Content-Type"), "application/json")
        if reason is not None:
            self.assertEqual(response.body["kind"], "Status")
            self.assertEqual(response.body["reason"], reason)
            self.assertEqual(response.body["code"], code)


# ---------------------------------------------------------------------------
# Transport: TLS with the openssl CA, keep-alive, bodies
# ---------------------------------------------------------------------------


class TransportTest(StandInTestCase):
    def test_tls_verifies_with_the_openssl_ca_only(self):
        response = self.api("GET", HPA_PATH)
        self.assertStatus(response, 200)
        self.assertEqual(self.client.conn.sock.version()[:3], "TLS")
        untrusting = http.client.HTTPSConnection("127.0.0.1", self.server.port, timeout=10,
                                                 context=ssl.create_default_context())
        with self.assertRaises(ssl.SSLCertVerificationError):
            untrusting.request("GET", HPA_PATH)
        untrusting.close()
        # A client speaking plain HTTP fails its handshake; the server carries on.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as plain:
            plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                plain.recv(100)
            except ConnectionResetError:
                pass
        fresh = self.new_client()
        self.assertStatus(fresh.request("GET", HPA_PATH), 200)
        fresh.close()

    def test_one_connection_serves_many_requests_including_errors(self):
        self.assertStatus(self.api("GET", HPA_PATH), 200)
        sock = self.client.conn.sock
        for method, path, body, ctype, token, code in [
            ("GET", HPA_PATH, None, None, "default", 200),
            ("GET", HPA_PATH, None, None, None, 401),
            ("GET", HPA_PATH + "x", None, None, "default", 404),
            ("GET", "/nothing/here", None, None, "default", 404),
            ("DELETE", HPA_PATH, None, None, "default", 405),
            ("PATCH", HPA_PATH, {"spec": {}}, "application/apply-patch+yaml", "default", 415),
            ("PATCH", HPA_PATH, None, MERGE, "default", 400),
            ("PATCH", HPA_PATH, {"spec": {"minReplicas": 3}}, MERGE, "default", 200),
            ("PATCH", HPA_PATH, {"spec": {"minReplicas": 0}}, MERGE, "default", 422),
            ("PATCH", HPA_PATH, {"metadata": {"resourceVersion": "1"}}, MERGE, "default", 409),
        ]:
            raw = b"{not json" if code == 400 else None
            response = self.api(method, path, body, ctype, token=token, raw=raw)
            self.assertEqual(response.status, code, (method, path, response.body))
            self.assertIn("Content-Length", response.headers.headers)
            self.assertIs(self.client.conn.sock, sock, "the server closed the connection")

    def test_chunked_request_body(self):
        response = self.api("PATCH", HPA_PATH, {"spec": {"minReplicas": 4}}, MERGE, chunked=True)
        self.assertStatus(response, 200)
        self.assertEqual(response.body["spec"]["minReplicas"], 4)
        self.assertStatus(self.api("GET", HPA_PATH), 200)

    def test_parallel_writers_on_parallel_connections(self):
        before = self.counter()
        results = []

        def write(i):
            client = self.new_client()
            response = client.request("PATCH", HPA_PATH,
                                      {"metadata": {"annotations": {f"writer-{i}": str(i)}}},
                                      MERGE)
            results.append(response.status)
            client.close()

        threads = [threading.Thread(target=write, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(results, [200] * 16)
        hpa = self.stored("horizontalpodautoscalers", "web")
        self.assertEqual(int(hpa["metadata"]["resourceVersion"]), before + 16)
        for i in range(16):
            self.assertEqual(hpa["metadata"]["annotations"][f"writer-{i}"], str(i))

    def test_unreadable_bodies_are_400_not_hangs(self):
        for raw, ctype in [(b"{not json", MERGE), (b"\xff\xfe", MERGE), (b"[1, 2]", MERGE),
                           (b"", MERGE), (b"NaN", MERGE), (b'{"op": "add"}', JSON_PATCH)]:
            response = self.api("PATCH", HPA_PATH, raw=raw, content_type=ctype)
            self.assertStatus(response, 400, "BadRequest")
            self.assertTrue(response.body["message"].startswith("error decoding patch"),
                            response.body)
        response = self.api("POST", EVENTS_PATH, raw=b"{bad", content_type="application/json")
        self.assertStatus(response, 400, "BadRequest")
        self.assertTrue(response.body["message"].startswith(
            'Event in version "v1" cannot be handled as a Event:'), response.body)
        self.assertStatus(self.api("GET", HPA_PATH), 200)


# ---------------------------------------------------------------------------
# Authentication
# ---------------------------------------------------------------------------


class AuthTest(StandInTestCase):
    def assertRejected(self, token, reason_part, raw_header=None):
        self.control("DELETE", "/_standin/requests")
        headers = {"Authorization": raw_header} if raw_header is not None else None
        response = self.api("GET", HPA_PATH, token=token if raw_header is None else None,
                            headers=headers)
        self.assertEqual(response.status, 401, response.body)
        self.assertEqual(response.body, UNAUTHORIZED)
        (entry,) = self.requests_log()
        self.assertFalse(entry["auth_ok"])
        self.assertIn(reason_part, entry["auth_error"])

    def assertAccepted(self, token, header_prefix="Bearer "):
        response = self.api("GET", HPA_PATH, token=None,
                            headers={"Authorization": header_prefix + token})
        self.assertStatus(response, 200)

    def test_token_as_aws_eks_get_token_builds_it(self):
        url = decode_token_url(self.token)
        self.assertTrue(url.startswith(f"https://sts.{REGION}.amazonaws.com/?"), url)
        self.assertIn("X-Amz-Security-Token=FwoGZXIvYXdzE%2Bsession%2Ftoken%3D%3D", url)
        self.assertNotIn("=", self.token[len("k8s-aws-v1."):])
        self.assertAccepted(self.token)
        (entry,) = [e for e in self.requests_log() if e["status"] == 200]
        self.assertTrue(entry["auth_ok"])
        self.assertIsNone(entry["auth_error"])

    def test_token_from_sigv4_query_auth(self):
        self.assertAccepted(manual_token())
        self.assertAccepted(manual_token(), header_prefix="bearer ")
        self.assertAccepted(manual_token(at=utcnow() - dt.timedelta(minutes=14)))
        self.assertAccepted(manual_token(at=utcnow() + dt.timedelta(minutes=4)))

    def test_wrong_cluster(self):
        self.assertRejected(presigned_token(cluster="other-cluster"), "X-Amz-Signature")

    def test_wrong_secret(self):
        self.assertRejected(presigned_token(secret="not-the-secret"), "X-Amz-Signature")

    def test_wrong_access_key(self):
        self.assertRejected(presigned_token(key="AKIDOTHER"), "X-Amz-Credential")

    def test_wrong_region(self):
        self.assertRejected(presigned_token(region="us-east-1"), "unexpected host")
        self.assertRejected(manual_token(region="us-east-1", host=f"sts.{REGION}.amazonaws.com"),
                            "X-Amz-Credential")
        self.assertRejected(manual_token(host="sts.amazonaws.com"), "unexpected host")

    def test_expired_and_future_dates(self):
        self.assertRejected(presigned_token(at=utcnow() - dt.timedelta(minutes=16)), "expired")
        self.assertRejected(manual_token(at=utcnow() + dt.timedelta(minutes=6)), "ahead")

    def test_tampered_signature_and_parameters(self):
        url = decode_token_url(self.token)
        last = url[-1]
        tampered = url[:-1] + ("0" if last != "0" else "1")
        self.assertRejected(encode_token(tampered), "X-Amz-Signature does not match")
        date = next(p for p in url.split("&") if p.startswith("X-Amz-Date="))
        later = (dt.datetime.strptime(date.split("=")[1], "%Y%m%dT%H%M%SZ")
                 - dt.timedelta(seconds=1)).strftime("%Y%m%dT%H%M%SZ")
        self.assertRejected(encode_token(url.replace(date, f"X-Amz-Date={later}")),
                            "X-Amz-Signature does not match")

    def test_session_token_must_match(self):
        self.assertRejected(manual_token(session=None), "no X-Amz-Security-Token")
        self.assertRejected(manual_token(session="other-token"), "session token")

    def test_presign_parameters_must_be_eks_ones(self):
        self.assertRejected(manual_token(expires=900), "X-Amz-Expires")
        self.assertRejected(manual_token(extra_query="&Foo=bar"), "non-whitelisted")

    def test_token_encoding(self):
        self.assertRejected(self.token + "==", "base64url without padding")
        standard = "k8s-aws-v1." + base64.b64encode(decode_token_url(self.token).encode()).decode()
        self.assertRejected(standard, "base64url without padding")
        self.assertRejected(self.token[len("k8s-aws-v1."):], "does not start with")
        self.assertRejected(None, "no Authorization header")
        self.assertRejected(None, "not a bearer token", raw_header="Basic dXNlcjpwYXNz")

    def test_every_api_path_needs_a_token(self):
        for method, path in [("GET", "/apis/apps/v1/namespaces/prod/deployments/web/scale"),
                             ("GET", "/does/not/exist"), ("POST", EVENTS_PATH)]:
            response = self.api(method, path, {}, "application/json", token=None)
            self.assertEqual((response.status, response.body), (401, UNAUTHORIZED))


# ---------------------------------------------------------------------------
# HorizontalPodAutoscalers
# ---------------------------------------------------------------------------


class HorizontalPodAutoscalerTest(StandInTestCase):
    def test_get(self):
        response = self.api("GET", HPA_PATH)
        self.assertStatus(response, 200)
        hpa = response.body
        self.assertEqual(list(hpa)[:3], ["kind", "apiVersion", "metadata"])
        self.assertEqual((hpa["kind"], hpa["apiVersion"]),
                         ("HorizontalPodAutoscaler", "autoscaling/v2"))
        meta = hpa["metadata"]
        self.assertEqual((meta["name"], meta["namespace"], meta["generation"]), ("web", NS, 1))
        for field in ("uid", "resourceVersion", "creationTimestamp"):
            self.assertTrue(meta[field])
        self.assertEqual(meta["annotations"], {"owner": "team-a"})
        self.assertEqual(hpa["spec"]["minReplicas"], 2)
        self.assertEqual(hpa["spec"]["metrics"][0]["resource"]["name"], "cpu")  # defaulted
        self.assertEqual(hpa["status"], HPA_FIXTURE["status"])

    def test_not_found(self):
        response = self.api("GET", HPA_PATH.replace("/web", "/nope"))
        self.assertEqual(response.body, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'horizontalpodautoscalers.autoscaling "nope" not found',
            "reason": "NotFound",
            "details": {"name": "nope", "group": "autoscaling", "kind": "horizontalpodautoscalers"},
            "code": 404})
        response = self.api("PATCH", HPA_PATH.replace("/web", "/nope"), {}, MERGE)
        self.assertStatus(response, 404, "NotFound")

    def test_list(self):
        self.control("PUT", f"/_standin/objects/horizontalpodautoscalers/{NS}/api",
                     {"metadata": {"labels": {"app": "api"}}, "spec": {
                         "scaleTargetRef": {"kind": "Deployment", "name": "api"},
                         "maxReplicas": 3}})
        self.control("PUT", "/_standin/objects/horizontalpodautoscalers/staging/web", HPA_FIXTURE)
        collection = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers"
        response = self.api("GET", collection)
        self.assertStatus(response, 200)
        body = response.body
        self.assertEqual((body["kind"], body["apiVersion"]),
                         ("HorizontalPodAutoscalerList", "autoscaling/v2"))
        self.assertTrue(body["metadata"]["resourceVersion"].isdigit())
        self.assertEqual([i["metadata"]["name"] for i in body["items"]], ["api", "web"])
        for item in body["items"]:  # typed lists: no kind/apiVersion on items
            self.assertNotIn("kind", item)
            self.assertNotIn("apiVersion", item)
        self.assertEqual(body["items"][0]["spec"]["minReplicas"], 1)  # defaulted
        names = lambda q: [i["metadata"]["name"] for i in self.api("GET", collection + q).body[
            "items"]]
        self.assertEqual(names("?labelSelector=app%3Dweb"), ["web"])
        self.assertEqual(names("?labelSelector=app+in+(api,x)"), ["api"])
        self.assertEqual(names("?labelSelector=app!%3Dweb"), ["api"])
        self.assertEqual(names("?fieldSelector=metadata.name%3Dapi"), ["api"])
        everywhere = self.api("GET", "/apis/autoscaling/v2/horizontalpodautoscalers").body
        self.assertEqual(sorted((i["metadata"]["namespace"], i["metadata"]["name"])
                                for i in everywhere["items"]),
                         [(NS, "api"), (NS, "web"), ("staging", "web")])
        self.assertStatus(self.api("GET", collection + "?fieldSelector=spec.x%3D1"), 400,
                          "BadRequest")

    def test_merge_patch_min_max_and_annotations(self):
        rv = self.hpa["metadata"]["resourceVersion"]
        counter = self.counter()
        response = self.api("PATCH", HPA_PATH + "?fieldManager=scaler", {
            "metadata": {"resourceVersion": rv, "annotations": {
                "scaler.metrics-pipeline/original": '{"min":2,"max":10}', "owner": None}},
            "spec": {"minReplicas": 4, "maxReplicas": 12}}, MERGE)
        self.assertStatus(response, 200)
        hpa = response.body
        self.assertEqual((hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]), (4, 12))
        self.assertEqual(hpa["metadata"]["annotations"],
                         {"scaler.metrics-pipeline/original": '{"min":2,"max":10}'})
        self.assertEqual(int(hpa["metadata"]["resourceVersion"]), counter + 1)
        self.assertEqual(hpa["metadata"]["generation"], 2)
        self.assertEqual(hpa["status"], HPA_FIXTURE["status"])
        self.assertEqual(self.stored("horizontalpodautoscalers", "web"), hpa)
        # Removing the last annotation leaves no empty map behind (omitempty).
        response = self.api("PATCH", HPA_PATH, {"metadata": {"annotations": {
            "scaler.metrics-pipeline/original": None}}}, MERGE)
        self.assertNotIn("annotations", response.body["metadata"])
        self.assertEqual(response.body["metadata"]["generation"], 2)  # metadata only

    def test_strategic_merge_patch_acts_as_merge_patch(self):
        response = self.api("PATCH", HPA_PATH, {"spec": {"maxReplicas": 20, "metrics": [
            {"type": "Resource", "resource": {"name": "memory", "target": {
                "type": "Utilization", "averageUtilization": 70}}}]}}, STRATEGIC)
        self.assertStatus(response, 200)
        self.assertEqual(response.body["spec"]["maxReplicas"], 20)
        self.assertEqual([m["resource"]["name"] for m in response.body["spec"]["metrics"]],
                         ["memory"])
        response = self.api("PATCH", HPA_PATH, {"spec": {"$patch": "replace"}}, STRATEGIC)
        self.assertStatus(response, 400, "BadRequest")

    def test_json_patch(self):
        rv = self.hpa["metadata"]["resourceVersion"]
        response = self.api("PATCH", HPA_PATH, [
            {"op": "test", "path": "/metadata/resourceVersion", "value": rv},
            {"op": "replace", "path": "/spec/minReplicas", "value": 3},
            {"op": "add", "path": "/metadata/annotations/scaler.metrics-pipeline~1step",
             "value": "1"},
            {"op": "add", "path": "/metadata/annotations/a~0b", "value": "tilde"},
            {"op": "move", "from": "/metadata/annotations/a~0b",
             "path": "/metadata/annotations/moved"},
            {"op": "copy", "from": "/metadata/annotations/moved",
             "path": "/metadata/annotations/copied"},
            {"op": "remove", "path": "/metadata/annotations/owner"},
            {"op": "add", "path": "/spec/metrics/-", "value": {
                "type": "Resource", "resource": {"name": "memory", "target": {
                    "type": "Utilization", "averageUtilization": 60}}}},
            {"op": "add", "path": "/spec/metrics/0", "value": {
                "type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {
                    "type": "AverageValue", "averageValue": "10"}}}},
        ], JSON_PATCH)
        self.assertStatus(response, 200)
        hpa = response.body
        self.assertEqual(hpa["spec"]["minReplicas"], 3)
        self.assertEqual(hpa["metadata"]["annotations"], {
            "scaler.metrics-pipeline/step": "1", "moved": "tilde", "copied": "tilde"})
        self.assertEqual([m["type"] for m in hpa["spec"]["metrics"]],
                         ["Pods", "Resource", "Resource"])

    def test_json_patch_failures(self):
        self.control("DELETE", "/_standin/requests")
        for ops in ([{"op": "test", "path": "/spec/minReplicas", "value": 5}],
                    [{"op": "test", "path": "/spec/minReplicas", "value": True}],
                    [{"op": "replace", "path": "/spec/nothing", "value": 1}],
                    [{"op": "remove", "path": "/metadata/annotations/none"}],
                    [{"op": "add", "path": "/spec/metrics/7", "value": {}}],
                    [{"op": "add", "path": "/spec/metrics/01", "value": {}}],
                    [{"op": "frobnicate", "path": "/spec"}],
                    [{"op": "move", "from": "/spec", "path": "/spec/x"}]):
            response = self.api("PATCH", HPA_PATH, ops, JSON_PATCH)
            self.assertEqual(response.body, PATCH_REJECTED, ops)
        errors = [e["error"] for e in self.requests_log()]
        self.assertIn("testing value /spec/minReplicas failed: test failed", errors[0])
        self.assertEqual(self.stored("horizontalpodautoscalers", "web"), self.hpa)
        response = self.api("PATCH", HPA_PATH, {"op": "add"}, JSON_PATCH)
        self.assertStatus(response, 400, "BadRequest")
        response = self.api("PATCH", HPA_PATH, [{"op": 1, "path": "/x"}], JSON_PATCH)
        self.assertStatus(response, 400, "BadRequest")

    def test_validation(self):
        cases = [
            ({"spec": {"minReplicas": 0}}, 'HorizontalPodAutoscaler.autoscaling "web" is invalid: '
             "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1",
             [{"reason": "FieldValueInvalid", "field": "spec.minReplicas",
               "message": "Invalid value: 0: must be greater than or equal to 1"}]),
            ({"spec": {"minReplicas": 5, "maxReplicas": 4}},
             'HorizontalPodAutoscaler.autoscaling "web" is invalid: spec.maxReplicas: Invalid '
             "value: 4: must be greater than or equal to `minReplicas`",
             [{"reason": "FieldValueInvalid", "field": "spec.maxReplicas",
               "message": "Invalid value: 4: must be greater than or equal to `minReplicas`"}]),
            ({"spec": {"scaleTargetRef": None}},
             'HorizontalPodAutoscaler.autoscaling "web" is invalid: [spec.scaleTargetRef.kind: '
             "Required value, spec.scaleTargetRef.name: Required value]",
             [{"reason": "FieldValueRequired", "field": "spec.scaleTargetRef.kind",
               "message": "Required value"},
              {"reason": "FieldValueRequired", "field": "spec.scaleTargetRef.name",
               "message": "Required value"}]),
        ]
        for patch, message, causes in cases:
            response = self.api("PATCH", HPA_PATH, patch, MERGE)
            self.assertEqual(response.body, {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": "Invalid",
                "details": {"name": "web", "group": "autoscaling",
                            "kind": "HorizontalPodAutoscaler", "causes": causes},
                "code": 422})
        # Both bounds in one patch is fine, in either direction.
        self.assertStatus(self.api("PATCH", HPA_PATH, {"spec": {"minReplicas": 12,
                                                                "maxReplicas": 15}}, MERGE), 200)
        self.assertStatus(self.api("PATCH", HPA_PATH, {"spec": {"minReplicas": 1,
                                                                "maxReplicas": 1}}, MERGE), 200)

    def test_type_errors_and_unknown_fields(self):
        response = self.api("PATCH", HPA_PATH, {"spec": {"minReplicas": "3"}}, MERGE)
        self.assertStatus(response, 422, "Invalid")
        self.assertEqual(response.body["details"]["causes"][0]["field"], "patch")
        self.assertIn("cannot unmarshal string into Go struct field "
                      "HorizontalPodAutoscaler.spec.minReplicas of type int32",
                      response.body["message"])
        self.assertStatus(self.api("PATCH", HPA_PATH, {"spec": {"maxReplicas": 2.5}}, MERGE), 422)
        response = self.api("PATCH", HPA_PATH, {"spec": {"minReplica": 3}}, MERGE)
        self.assertStatus(response, 200)
        self.assertEqual(response.headers.getheader("Warning"),
                         '299 - "unknown field \\"spec.minReplica\\""')
        self.assertEqual(response.body["spec"]["minReplicas"], 2)
        response = self.api("PATCH", HPA_PATH + "?fieldValidation=Strict",
                            {"spec": {"minReplica": 3}}, MERGE)
        self.assertStatus(response, 422, "Invalid")
        self.assertTrue(response.body["message"].endswith(
            'strict decoding error: unknown field "spec.minReplica"'), response.body)

    def test_content_types(self):
        for ctype in ("application/apply-patch+yaml", "text/plain", "application/json", None):
            response = self.api("PATCH", HPA_PATH, {"spec": {"minReplicas": 3}}, ctype)
            self.assertEqual(response.body, UNSUPPORTED_MEDIA_TYPE, ctype)
        response = self.api("PATCH", HPA_PATH, {"spec": {"minReplicas": 3}},
                            MERGE + "; charset=utf-8")
        self.assertStatus(response, 200)

    def test_dry_run(self):
        rv = self.hpa["metadata"]["resourceVersion"]
        response = self.api("PATCH", HPA_PATH + "?dryRun=All&fieldManager=scaler",
                            {"spec": {"minReplicas": 4}}, MERGE)
        self.assertStatus(response, 200)
        self.assertEqual(response.body["spec"]["minReplicas"], 4)
        self.assertEqual(response.body["metadata"]["resourceVersion"], rv)
        self.assertEqual(self.stored("horizontalpodautoscalers", "web"), self.hpa)
        response = self.api("PATCH", HPA_PATH + "?dryRun=All", {"spec": {"minReplicas": 0}}, MERGE)
        self.assertStatus(response, 422, "Invalid")
        response = self.api("PATCH", HPA_PATH + "?dryRun=Sure", {}, MERGE)
        self.assertStatus(response, 422, "Invalid")
        self.assertEqual(response.body["message"],
                         'PatchOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: '
                         '[]string{"Sure"}: supported values: "All"')

    def test_resource_version_precondition(self):
        rv = self.hpa["metadata"]["resourceVersion"]
        stale = str(int(rv) - 1)
        response = self.api("PATCH", HPA_PATH, {"metadata": {"resourceVersion": stale},
                                                "spec": {"minReplicas": 3}}, MERGE)
        self.assertEqual(response.body, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'Operation cannot be fulfilled on horizontalpodautoscalers.autoscaling '
                       f'"web": {MODIFIED}',
            "reason": "Conflict",
            "details": {"name": "web", "group": "autoscaling", "kind": "horizontalpodautoscalers"},
            "code": 409})
        self.assertEqual(self.stored("horizontalpodautoscalers", "web"), self.hpa)
        response = self.api("PATCH", HPA_PATH, {"metadata": {"resourceVersion": rv},
                                                "spec": {"minReplicas": 3}}, MERGE)
        self.assertStatus(response, 200)
        new_rv = response.body["metadata"]["resourceVersion"]
        self.assertGreater(int(new_rv), int(rv))
        # The client's value is replaced; the old one is now stale.
        response = self.api("PATCH", HPA_PATH, {"metadata": {"resourceVersion": rv}}, MERGE)
        self.assertStatus(response, 409, "Conflict")
        response = self.api("PATCH", HPA_PATH, {"metadata": {"resourceVersion": "abc"}}, MERGE)
        self.assertStatus(response, 422, "Invalid")

    def test_no_op_patch_keeps_resource_version(self):
        rv = self.hpa["metadata"]["resourceVersion"]
        for patch in ({"spec": {"minReplicas": 2}}, {"status": {"currentReplicas": 99}}, {}):
            response = self.api("PATCH", HPA_PATH, patch, MERGE)
            self.assertStatus(response, 200)
            self.assertEqual(response.body["metadata"]["resourceVersion"], rv, patch)
            self.assertEqual(response.body["status"], HPA_FIXTURE["status"])

    def test_identity_fields(self):
        response = self.api("PATCH", HPA_PATH, {"metadata": {"name": "other"}}, MERGE)
        self.assertStatus(response, 400, "BadRequest")
        self.assertEqual(response.body["message"],
                         "the name of the object (other) does not match the name on the URL (web)")
        response = self.api("PATCH", HPA_PATH, {"metadata": {"namespace": "other"}}, MERGE)
        self.assertStatus(response, 400, "BadRequest")
        self.assertEqual(response.body["message"], "the namespace of the provided object does "
                                                   "not match the namespace sent on the request")
        response = self.api("PATCH", HPA_PATH, {"metadata": {"uid": "1234"}}, MERGE)
        self.assertStatus(response, 422, "Invalid")
        self.assertEqual(response.body["message"], 'HorizontalPodAutoscaler.autoscaling "web" is '
                                                   'invalid: metadata.uid: Invalid value: "1234": '
                                                   'field is immutable')
        self.assertEqual(self.stored("horizontalpodautoscalers", "web"), self.hpa)
        response = self.api("PATCH", HPA_PATH, {"metadata": {"creationTimestamp":
                                                             "2001-01-01T00:00:00Z",
                                                             "generation": 77}}, MERGE)
        self.assertEqual(response.body["metadata"], self.hpa["metadata"])

    def test_put_replaces(self):
        hpa = dict(self.hpa, spec=dict(self.hpa["spec"], minReplicas=5))
        response = self.api("PUT", HPA_PATH, hpa, "application/json")
        self.assertStatus(response, 200)
        self.assertEqual(response.body["spec"]["minReplicas"], 5)
        response = self.api("PUT", HPA_PATH, hpa, "application/json")
        self.assertStatus(response, 409, "Conflict")

    def test_wrong_methods_and_paths(self):
        collection = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers"
        for method, path in [("DELETE", HPA_PATH), ("POST", collection), ("POST", HPA_PATH),
                             ("PATCH", collection)]:
            self.assertEqual(self.api(method, path, {}, MERGE).body, METHOD_NOT_ALLOWED)
        for path in ["/versions", "/apis/autoscaling/v1/namespaces/prod/horizontalpodautoscalers",
                     "/apis/apps/v1/namespaces/prod/replicasets/web", HPA_PATH + "/status",
                     HPA_PATH + "/scale", "/api/v1/namespaces/prod"]:
            self.assertEqual(self.api("GET", path).body, PATH_NOT_FOUND, path)


# ---------------------------------------------------------------------------
# Deployments, StatefulSets and their scale subresource
# ---------------------------------------------------------------------------


class ScaleTest(StandInTestCase):
    def test_get_scale(self):
        response = self.api("GET", DEPLOY_PATH + "/scale")
        self.assertStatus(response, 200)
        meta = self.deployment["metadata"]
        self.assertEqual(response.body, {
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp")},
            "spec": {"replicas": 3}, "status": {"replicas": 3, "selector": "app=web"}})
        response = self.api("GET", STS_PATH + "/scale")
        self.assertEqual(response.body["status"],
                         {"replicas": 2, "selector": "app=db,tier in (a,b)"})
        response = self.api("GET", DEPLOY_PATH.replace("/web", "/nope") + "/scale")
        self.assertEqual(response.body["message"], 'deployments.apps "nope" not found')
        self.assertEqual(response.body["details"],
                         {"name": "nope", "group": "apps", "kind": "deployments"})

    def test_get_deployment(self):
        response = self.api("GET", DEPLOY_PATH)
        self.assertStatus(response, 200)
        self.assertEqual((response.body["kind"], response.body["apiVersion"]),
                         ("Deployment", "apps/v1"))
        self.assertEqual(response.body, self.deployment)

    def test_patch_scale_changes_only_replicas(self):
        rv = self.deployment["metadata"]["resourceVersion"]
        counter = self.counter()
        response = self.api("PATCH", DEPLOY_PATH + "/scale?fieldManager=scaler", {
            "metadata": {"resourceVersion": rv, "annotations": {"lost": "yes"},
                         "labels": {"lost": "yes"}},
            "spec": {"replicas": 6}, "status": {"replicas": 99}}, MERGE)
        self.assertStatus(response, 200)
        scale = response.body
        self.assertEqual((scale["kind"], scale["apiVersion"]), ("Scale", "autoscaling/v1"))
        self.assertEqual(scale["spec"], {"replicas": 6})
        self.assertEqual(scale["status"], {"replicas": 3, "selector": "app=web"})
        self.assertNotIn("annotations", scale["metadata"])
        deployment = self.stored("deployments", "web")
        self.assertEqual(deployment["spec"]["replicas"], 6)
        self.assertEqual(deployment["metadata"]["resourceVersion"],
                         scale["metadata"]["resourceVersion"])
        self.assertEqual(int(scale["metadata"]["resourceVersion"]), counter + 1)
        self.assertEqual(deployment["metadata"]["generation"], 2)
        self.assertEqual(deployment["metadata"]["labels"], {"app": "web"})
        self.assertNotIn("annotations", deployment["metadata"])
        self.assertEqual(deployment["status"], DEPLOYMENT_FIXTURE["status"])

    def test_scale_to_zero_omits_spec_replicas(self):
        response = self.api("PATCH", DEPLOY_PATH + "/scale", {"spec": {"replicas": 0}}, MERGE)
        self.assertStatus(response, 200)
        self.assertEqual(response.body["spec"], {})
        self.assertEqual(self.stored("deployments", "web")["spec"]["replicas"], 0)

    def test_scale_json_patch_and_put(self):
        response = self.api("PATCH", STS_PATH + "/scale", [
            {"op": "test", "path": "/spec/replicas", "value": 2},
            {"op": "replace", "path": "/spec/replicas", "value": 5}], JSON_PATCH)
        self.assertStatus(response, 200)
        self.assertEqual(self.stored("statefulsets", "db")["spec"]["replicas"], 5)
        scale = dict(response.body, spec={"replicas": 4})
        response = self.api("PUT", STS_PATH + "/scale", scale, "application/json")
        self.assertStatus(response, 200)
        self.assertEqual(self.stored("statefulsets", "db")["spec"]["replicas"], 4)

    def test_scale_conflicts_name_the_parent(self):
        for path, resource in ((DEPLOY_PATH, "deployments"), (STS_PATH, "statefulsets")):
            name = path.rsplit("/", 1)[1]
            response = self.api("PATCH", path + "/scale", {
                "metadata": {"resourceVersion": "5"}, "spec": {"replicas": 1}}, MERGE)
            self.assertEqual(response.body, {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": f'Operation cannot be fulfilled on {resource}.apps "{name}": {MODIFIED}',
                "reason": "Conflict",
                "details": {"name": name, "group": "apps", "kind": resource}, "code": 409})
        response = self.api("PATCH", DEPLOY_PATH + "/scale", {"metadata": {"uid": "other"}}, MERGE)
        self.assertStatus(response, 409, "Conflict")
        self.assertEqual(response.body["details"],
                         {"name": "web", "group": "apps", "kind": "deployments/scale"})
        self.assertTrue(response.body["message"].startswith(
            'Operation cannot be fulfilled on deployments/scale.apps "web": Precondition failed: '
            'UID in precondition: other'))

    def test_scale_validation(self):
        response = self.api("PATCH", DEPLOY_PATH + "/scale", {"spec": {"replicas": -1}}, MERGE)
        self.assertEqual(response.body, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: '
                       "must be greater than or equal to 0",
            "reason": "Invalid",
            "details": {"name": "web", "group": "autoscaling", "kind": "Scale", "causes": [
                {"reason": "FieldValueInvalid", "field": "spec.replicas",
                 "message": "Invalid value: -1: must be greater than or equal to 0"}]},
            "code": 422})
        response = self.api("PATCH", DEPLOY_PATH, {"spec": {"replicas": -1}}, MERGE)
        self.assertStatus(response, 422, "Invalid")
        self.assertEqual(response.body["message"], 'Deployment.apps "web" is invalid: '
                         "spec.replicas: Invalid value: -1: must be greater than or equal to 0")
        response = self.api("PATCH", DEPLOY_PATH + "/scale", {"metadata": {"name": "x"}}, MERGE)
        self.assertStatus(response, 400, "BadRequest")
        self.assertEqual(self.stored("deployments", "web"), self.deployment)

    def test_annotations_then_scale_as_the_scaler_writes(self):
        rv = self.deployment["metadata"]["resourceVersion"]
        response = self.api("PATCH", DEPLOY_PATH, {"metadata": {
            "resourceVersion": rv,
            "annotations": {"scaler.metrics-pipeline/original": "3"}}}, MERGE)
        self.assertStatus(response, 200)
        new_rv = response.body["metadata"]["resourceVersion"]
        self.assertEqual(response.body["metadata"]["generation"], 2)  # Deployments: annotations
        response = self.api("PATCH", DEPLOY_PATH + "/scale", {
            "metadata": {"resourceVersion": new_rv}, "spec": {"replicas": 8}}, MERGE)
        self.assertStatus(response, 200)
        deployment = self.stored("deployments", "web")
        self.assertEqual(deployment["spec"]["replicas"], 8)
        self.assertEqual(deployment["metadata"]["annotations"],
                         {"scaler.metrics-pipeline/original": "3"})
        # StatefulSets bump generation for spec changes only.
        response = self.api("PATCH", STS_PATH, {"metadata": {"annotations": {"a": "b"}}}, MERGE)
        self.assertEqual(response.body["metadata"]["generation"], 1)

    def test_main_resource_patch_keeps_status_and_defaults_replicas(self):
        response = self.api("PATCH", DEPLOY_PATH, {"spec": {"replicas": None},
                                                   "status": {"replicas": 0}}, MERGE)
        self.assertStatus(response, 200)
        self.assertEqual(response.body["spec"]["replicas"], 1)
        self.assertEqual(response.body["status"], DEPLOYMENT_FIXTURE["status"])


# ---------------------------------------------------------------------------
# Conflicts injected through the control API
# ---------------------------------------------------------------------------


class ConflictTest(StandInTestCase):
    def inject(self, resource, name, count, mutate=None):
        return self.control("POST", "/_standin/conflicts", {
            "resource": resource, "namespace": NS, "name": name, "count": count,
            "mutate": mutate})

    def test_precondition_gets_409_then_retry_succeeds(self):
        rv = self.hpa["metadata"]["resourceVersion"]
        counter = self.counter()
        self.inject("horizontalpodautoscalers", "web", 1,
                    {"metadata": {"annotations": {"other-controller": "touched"}}})
        response = self.api("PATCH", HPA_PATH, {"metadata": {"resourceVersion": rv},
                                                "spec": {"minReplicas": 3}}, MERGE)
        self.assertStatus(response, 409, "Conflict")
        current = self.api("GET", HPA_PATH).body
        self.assertEqual(int(current["metadata"]["resourceVersion"]), counter + 1)
        self.assertEqual(current["metadata"]["annotations"]["other-controller"], "touched")
        self.assertEqual(current["spec"]["minReplicas"], 2)
        response = self.api("PATCH", HPA_PATH, {
            "metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
            "spec": {"minReplicas": 3}}, MERGE)
        self.assertStatus(response, 200)
        (state,) = self.control("GET", "/_standin/conflicts")
        self.assertEqual((state["remaining"], state["applied"]), (0, 1))

    def test_without_precondition_the_write_wins(self):
        counter = self.counter()
        self.inject("horizontalpodautoscalers", "web", 2,
                    {"metadata": {"annotations": {"other-controller": "touched"}}})
        for minimum in (3, 4):
            response = self.api("PATCH", HPA_PATH, {"spec": {"minReplicas": minimum}}, MERGE)
            self.assertStatus(response, 200)
        hpa = self.stored("horizontalpodautoscalers", "web")
        self.assertEqual(hpa["spec"]["minReplicas"], 4)
        self.assertEqual(hpa["metadata"]["annotations"]["other-controller"], "touched")
        self.assertEqual(int(hpa["metadata"]["resourceVersion"]), counter + 4)

    def test_scale_conflict(self):
        rv = self.deployment["metadata"]["resourceVersion"]
        self.inject("deployments", "web", 1, {"spec": {"replicas": 4}})
        response = self.api("PATCH", DEPLOY_PATH + "/scale", {
            "metadata": {"resourceVersion": rv}, "spec": {"replicas": 6}}, MERGE)
        self.assertStatus(response, 409, "Conflict")
        self.assertIn('deployments.apps "web"', response.body["message"])
        deployment = self.stored("deployments", "web")
        self.assertEqual((deployment["spec"]["replicas"], deployment["metadata"]["generation"]),
                         (4, 2))

    def test_bad_conflict_spec(self):
        self.control("POST", "/_standin/conflicts", {"resource": "pods"}, expect=400)


# ---------------------------------------------------------------------------
# Faults injected into writes (POST /_standin/faults) and object history
# ---------------------------------------------------------------------------


class FaultTest(StandInTestCase):
    def arm(self, path, answer, expect=200, **fields):
        return self.control("POST", "/_standin/faults", {"path": path, "answer": answer, **fields},
                            expect=expect)

    def annotate(self, value, rv=None, client=None):
        meta = {"annotations": {"note": value}}
        if rv is not None:
            meta["resourceVersion"] = rv
        return (client or self.client).request("PATCH", DEPLOY_PATH, {"metadata": meta}, MERGE)

    def test_internal_error_stores_nothing_and_passes_once_spent(self):
        self.arm(DEPLOY_PATH, "internal_error")
        response = self.annotate("a")
        self.assertEqual(response.body, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Internal error occurred: etcdserver: request timed out",
            "reason": "InternalError",
            "details": {"causes": [{"message": "etcdserver: request timed out"}]}, "code": 500})
        self.assertEqual(self.stored("deployments", "web"), self.deployment)
        self.assertStatus(self.annotate("b"), 200)
        (fault,) = self.control("GET", "/_standin/faults")
        self.assertEqual((fault["remaining"], fault["fired"]), (0, 1))
        log = self.requests_log()
        self.assertEqual([(e["status"], e.get("fault")) for e in log],
                         [(500, "internal_error"), (200, None)])
        self.assertIn("fault injected", log[0]["error"])

    def test_after_counts_only_matching_writes_on_that_path(self):
        self.arm(DEPLOY_PATH + "/scale", "internal_error", after=1, methods=["PATCH"])
        scale = {"spec": {"replicas": 4}}
        self.assertStatus(self.annotate("not counted: other path"), 200)
        self.assertStatus(self.api("GET", DEPLOY_PATH + "/scale"), 200)  # not a write
        self.assertStatus(self.api("PATCH", DEPLOY_PATH + "/scale", scale, MERGE), 200)
        self.assertStatus(self.api("PATCH", DEPLOY_PATH + "/scale", {"spec": {"replicas": 5}},
                                   MERGE), 500, "InternalError")
        self.assertStatus(self.api("PATCH", DEPLOY_PATH + "/scale", {"spec": {"replicas": 6}},
                                   MERGE), 200)
        self.assertEqual(self.stored("deployments", "web")["spec"]["replicas"], 6)

    def test_conflict_is_another_writer_then_the_real_precondition(self):
        rv = self.deployment["metadata"]["resourceVersion"]
        self.arm(DEPLOY_PATH + "/scale", "conflict", count=2,
                 mutate={"status": {"observedGeneration": 7}})
        response = self.api("PATCH", DEPLOY_PATH + "/scale", {
            "metadata": {"resourceVersion": rv}, "spec": {"replicas": 6}}, MERGE)
        self.assertEqual(response.body["message"],
                         f'Operation cannot be fulfilled on deployments.apps "web": {MODIFIED}')
        self.assertStatus(response, 409, "Conflict")
        stored = self.stored("deployments", "web")
        self.assertEqual(stored["spec"]["replicas"], 3)
        self.assertEqual(stored["status"]["observedGeneration"], 7)
        self.assertGreater(int(stored["metadata"]["resourceVersion"]), int(rv))
        # Without a precondition the write applies on top of the other writer's.
        response = self.api("PATCH", DEPLOY_PATH + "/scale", {"spec": {"replicas": 6}}, MERGE)
        self.assertStatus(response, 200)
        self.assertEqual(self.stored("deployments", "web")["spec"]["replicas"], 6)
        self.assertEqual([e.get("fault") for e in self.requests_log()], ["conflict", "conflict"])

    def test_drop_closes_the_connection_before_processing(self):
        self.arm(DEPLOY_PATH, "drop")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
            self.annotate("lost")
        self.client.close()
        self.client = self.new_client()
        self.assertEqual(self.stored("deployments", "web"), self.deployment)
        (entry,) = self.requests_log()
        self.assertEqual((entry["status"], entry["fault"]), (None, "drop"))
        self.assertStatus(self.annotate("then fine"), 200)

    def test_drop_after_write_stores_then_closes(self):
        self.arm(HPA_PATH, "drop_after_write", methods=["PATCH"])
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
            self.api("PATCH", HPA_PATH, {"spec": {"maxReplicas": 15}}, MERGE)
        self.client.close()
        self.client = self.new_client()
        self.assertEqual(self.stored("horizontalpodautoscalers", "web")["spec"]["maxReplicas"], 15)
        (entry,) = self.requests_log()
        self.assertEqual((entry["status"], entry["fault"]), (200, "drop_after_write"))

    def test_event_creation_can_fail_and_faults_reset(self):
        self.arm(EVENTS_PATH, "internal_error", methods=["POST"])
        response = self.api("POST", EVENTS_PATH, CORE_EVENT)
        self.assertStatus(response, 500, "InternalError")
        self.assertEqual(self.control("GET", "/_standin/events"), [])
        self.arm(EVENTS_PATH, "internal_error", methods=["POST"])
        self.control("POST", "/_standin/reset")
        self.assertEqual(self.control("GET", "/_standin/faults"), [])
        self.arm(HPA_PATH, "drop")
        self.control("DELETE", "/_standin/faults")
        self.assertEqual(self.control("GET", "/_standin/faults"), [])

    def test_auth_and_routing_come_before_faults(self):
        self.arm(DEPLOY_PATH, "internal_error")
        anonymous = self.new_client(token=None)
        self.assertStatus(self.annotate("x", client=anonymous), 401)
        anonymous.close()
        self.assertStatus(self.api("POST", DEPLOY_PATH, {}), 405)
        (fault,) = self.control("GET", "/_standin/faults")
        self.assertEqual(fault["remaining"], 1)

    def test_bad_fault_specs(self):
        for spec in ({"path": DEPLOY_PATH}, {"path": DEPLOY_PATH, "answer": "teapot"},
                     {"path": "/nowhere", "answer": "drop"},
                     {"path": DEPLOY_PATH, "answer": "drop", "count": 0},
                     {"path": DEPLOY_PATH, "answer": "drop", "methods": ["GET"]},
                     {"path": DEPLOY_PATH, "answer": "drop", "mutate": {}},
                     {"path": "/apis/apps/v1/namespaces/prod/deployments", "answer": "conflict"},
                     {"path": DEPLOY_PATH, "answer": "drop", "extra": 1}):
            body = self.control("POST", "/_standin/faults", spec, expect=400)
            self.assertTrue(body["message"].startswith("fault spec: "), body)
        self.assertEqual(self.control("GET", "/_standin/faults"), [])

    def test_history_lists_every_version_in_order(self):
        first = self.annotate("one").body
        second = self.api("PATCH", DEPLOY_PATH + "/scale", {"spec": {"replicas": 5}}, MERGE)
        history = self.control("GET", f"/_standin/history/deployments/{NS}/web")
        self.assertEqual([h["resourceVersion"] for h in history], [
            self.deployment["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"],
            second.body["metadata"]["resourceVersion"]])
        self.assertEqual(history[0]["object"], self.deployment)
        self.assertEqual(history[1]["object"]["metadata"]["annotations"], {"note": "one"})
        self.assertEqual(history[2]["object"]["spec"]["replicas"], 5)
        self.control("DELETE", f"/_standin/objects/deployments/{NS}/web")
        self.assertIsNone(self.control("GET", f"/_standin/history/deployments/{NS}/web")[-1][
            "object"])
        self.control("GET", f"/_standin/history/secrets/{NS}/x", expect=400)


# ---------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------

CORE_EVENT = {  # what the scaler's record_event sends (k8s-openapi leaves out None)
    "metadata": {"generateName": "web.", "namespace": NS},
    "involvedObject": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                       "name": "web", "namespace": NS, "uid": "abc"},
    "reason": "ScaledUp", "message": "raised min 2 -> 4", "type": "Normal",
    "source": {"component": "scaler"}, "reportingComponent": "scaler",
    "reportingInstance": "scaler", "firstTimestamp": "2025-01-01T00:00:00Z",
    "lastTimestamp": "2025-01-01T00:00:00Z", "count": 1,
}
EVENTS_V1_EVENT = {  # what kube's events::Recorder sends
    "apiVersion": "events.k8s.io/v1", "kind": "Event",
    "metadata": {"name": "web.17a2b3c4d5e6f708", "namespace": NS},
    "eventTime": "2025-01-01T00:00:00.000000Z", "action": "Scaling", "reason": "ScaledUp",
    "note": "raised min", "type": "Normal", "reportingController": "scaler",
    "reportingInstance": "scaler-1",
    "regarding": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "namespace": NS},
}


class EventTest(StandInTestCase):
    def test_core_event_create_and_list(self):
        response = self.api("POST", EVENTS_PATH, CORE_EVENT, "application/json")
        self.assertStatus(response, 201)
        event = response.body
        self.assertEqual((event["kind"], event["apiVersion"]), ("Event", "v1"))
        meta = event["metadata"]
        self.assertRegex(meta["name"], r"^web\.[a-z0-9]{5}$")
        self.assertEqual(meta["namespace"], NS)
        for field in ("uid", "resourceVersion", "creationTimestamp"):
            self.assertTrue(meta[field])
        self.assertEqual(event["message"], CORE_EVENT["message"])
        listed = self.api("GET", EVENTS_PATH).body
        self.assertEqual((listed["kind"], listed["apiVersion"]), ("EventList", "v1"))
        self.assertEqual(listed["items"], [{k: v for k, v in event.items()
                                            if k not in ("kind", "apiVersion")}])
        as_v1 = self.api("GET", EVENTS_V1_PATH).body["items"][0]
        self.assertEqual(self.api("GET", EVENTS_V1_PATH).body["apiVersion"], "events.k8s.io/v1")
        self.assertEqual((as_v1["note"], as_v1["regarding"], as_v1["reportingController"],
                          as_v1["deprecatedCount"]),
                         (CORE_EVENT["message"], CORE_EVENT["involvedObject"], "scaler", 1))
        self.assertEqual(self.control("GET", "/_standin/events"), [event])
        self.assertEqual(self.api("GET", f"{EVENTS_PATH}/{meta['name']}").body, event)
        selected = self.api("GET", EVENTS_PATH + "?fieldSelector=involvedObject.name%3Dweb")
        self.assertEqual(len(selected.body["items"]), 1)

    def test_core_event_errors(self):
        nameless = dict(CORE_EVENT, metadata={})
        response = self.api("POST", EVENTS_PATH, nameless, "application/json")
        self.assertEqual(response.body, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'Event "" is invalid: metadata.name: Required value: name or generateName '
                       "is required",
            "reason": "Invalid", "details": {"kind": "Event", "causes": [
                {"reason": "FieldValueRequired",
                 "message": "Required value: name or generateName is required",
                 "field": "metadata.name"}]},
            "code": 422})
        named = dict(CORE_EVENT, metadata={"name": "web.1"})
        self.assertStatus(self.api("POST", EVENTS_PATH, named, "application/json"), 201)
        response = self.api("POST", EVENTS_PATH, named, "application/json")
        self.assertEqual(response.body, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": 'events "web.1" already exists', "reason": "AlreadyExists",
            "details": {"name": "web.1", "kind": "events"}, "code": 409})
        response = self.api("POST", EVENTS_PATH, dict(CORE_EVENT, metadata={
            "generateName": "x.", "namespace": "other"}), "application/json")
        self.assertStatus(response, 400, "BadRequest")
        response = self.api("POST", EVENTS_PATH, dict(CORE_EVENT, involvedObject=dict(
            CORE_EVENT["involvedObject"], namespace="other")), "application/json")
        self.assertStatus(response, 422, "Invalid")
        self.assertEqual(response.body["details"]["causes"][0]["field"],
                         "involvedObject.namespace")
        response = self.api("POST", EVENTS_PATH, dict(CORE_EVENT, apiVersion="events.k8s.io/v1"),
                            "application/json")
        self.assertStatus(response, 400, "BadRequest")
        response = self.api("POST", EVENTS_PATH, dict(CORE_EVENT, count="1"), "application/json")
        self.assertStatus(response, 400, "BadRequest")
        self.assertEqual(response.body["message"],
                         'Event in version "v1" cannot be handled as a Event: json: cannot '
                         'unmarshal string into Go struct field Event.count of type int32')
        response = self.api("POST", EVENTS_PATH + "?dryRun=All", CORE_EVENT, "application/json")
        self.assertStatus(response, 201)
        self.assertEqual(len(self.control("GET", "/_standin/events")), 1)

    def test_events_k8s_io(self):
        response = self.api("POST", EVENTS_V1_PATH, EVENTS_V1_EVENT, "application/json")
        self.assertStatus(response, 201)
        event = response.body
        self.assertEqual((event["kind"], event["apiVersion"]), ("Event", "events.k8s.io/v1"))
        self.assertEqual(event["note"], "raised min")
        (stored,) = self.control("GET", "/_standin/events")
        self.assertEqual(stored, event)
        core = self.api("GET", EVENTS_PATH).body["items"][0]
        self.assertEqual((core["message"], core["reportingComponent"], core["involvedObject"]),
                         ("raised min", "scaler", EVENTS_V1_EVENT["regarding"]))
        # kube's Recorder patches a repeated event with a series.
        path = f"{EVENTS_V1_PATH}/{event['metadata']['name']}"
        response = self.api("PATCH", path, dict(EVENTS_V1_EVENT, series={
            "count": 2, "lastObservedTime": "2025-01-01T00:01:00.000000Z"}), MERGE)
        self.assertStatus(response, 200)
        self.assertEqual(response.body["series"]["count"], 2)
        response = self.api("PATCH", path, {"note": "changed"}, MERGE)
        self.assertStatus(response, 422, "Invalid")
        self.assertIn("message: Invalid value", response.body["message"])

    def test_events_k8s_io_validation(self):
        broken = {k: v for k, v in EVENTS_V1_EVENT.items()
                  if k not in ("eventTime", "action", "reportingController")}
        response = self.api("POST", EVENTS_V1_PATH, dict(broken, type="Info"), "application/json")
        self.assertStatus(response, 422, "Invalid")
        fields = {c["field"] for c in response.body["details"]["causes"]}
        self.assertEqual(fields, {"eventTime", "type"})
        self.assertEqual(response.body["details"]["group"], "events.k8s.io")
        response = self.api("POST", EVENTS_V1_PATH, dict(EVENTS_V1_EVENT, action=""),
                            "application/json")
        self.assertEqual([c["field"] for c in response.body["details"]["causes"]], ["action"])

    def test_events_methods(self):
        self.assertEqual(self.api("DELETE", f"{EVENTS_PATH}/x").body, METHOD_NOT_ALLOWED)
        self.assertEqual(self.api("POST", "/api/v1/events", CORE_EVENT, "application/json").body,
                         METHOD_NOT_ALLOWED)
        self.assertStatus(self.api("GET", f"{EVENTS_PATH}/missing"), 404, "NotFound")


# ---------------------------------------------------------------------------
# Control API and request log
# ---------------------------------------------------------------------------


class ControlTest(StandInTestCase):
    def test_request_log(self):
        self.control("DELETE", "/_standin/requests")
        self.api("GET", HPA_PATH)
        self.api("PATCH", HPA_PATH + "?fieldManager=scaler&dryRun=All",
                 {"spec": {"minReplicas": 3}}, MERGE)
        self.api("GET", HPA_PATH, token=None)
        self.api("PATCH", HPA_PATH, raw=b"{oops", content_type=MERGE)
        log = self.requests_log()
        self.assertEqual([(e["method"], e["path"], e["status"]) for e in log], [
            ("GET", HPA_PATH, 200), ("PATCH", HPA_PATH, 200), ("GET", HPA_PATH, 401),
            ("PATCH", HPA_PATH, 400)])
        self.assertEqual(log[1]["query"], {"fieldManager": "scaler", "dryRun": "All"})
        self.assertEqual(log[1]["content_type"], MERGE)
        self.assertEqual(log[1]["body"], {"spec": {"minReplicas": 3}})
        self.assertEqual((log[1]["auth_ok"], log[1]["auth_error"]), (True, None))
        self.assertEqual(log[2]["auth_ok"], False)
        self.assertIsNone(log[3]["body"])
        for entry in log:
            self.assertTrue({"method", "path", "query", "content_type", "status", "body",
                             "auth_ok", "auth_error"} <= set(entry))
        self.control("DELETE", "/_standin/requests")
        self.assertEqual(self.requests_log(), [])

    def test_objects(self):
        self.assertEqual(self.stored("horizontalpodautoscalers", "web"), self.hpa)
        replaced = self.control("PUT", f"/_standin/objects/horizontalpodautoscalers/{NS}/web",
                                dict(HPA_FIXTURE, spec=dict(HPA_FIXTURE["spec"], maxReplicas=11)))
        self.assertEqual(replaced["metadata"]["uid"], self.hpa["metadata"]["uid"])
        self.assertEqual(replaced["metadata"]["generation"], 2)
        self.assertGreater(int(replaced["metadata"]["resourceVersion"]),
                           int(self.hpa["metadata"]["resourceVersion"]))
        self.control("PUT", f"/_standin/objects/horizontalpodautoscalers/{NS}/bad",
                     dict(HPA_FIXTURE, spec=dict(HPA_FIXTURE["spec"], maxReplicas=1)), expect=422)
        self.control("PUT", f"/_standin/objects/secrets/{NS}/x", {}, expect=400)
        response = self.client.request("PUT", f"/_standin/objects/deployments/{NS}/x",
                                       raw=b"{nope", token=None)
        self.assertEqual(response.status, 400)
        self.control("DELETE", f"/_standin/objects/deployments/{NS}/web")
        self.control("GET", f"/_standin/objects/deployments/{NS}/web", expect=404)
        self.control("GET", "/_standin/nothing", expect=404)


# ---------------------------------------------------------------------------
# Service discovery resources: pods, services, endpoints, nodes, endpointslices,
# ingresses (seeded from discovery_cluster.json)
# ---------------------------------------------------------------------------

CLUSTER_FILE = HERE / "discovery_cluster.json"
CLUSTER_OBJECTS = json.loads(CLUSTER_FILE.read_text())


def seeded(kind, namespace=None):
    """(namespace, name) of the seed file's objects of a kind, in etcd order."""
    found = [(o["metadata"].get("namespace", "default") if kind != "Node" else "",
              o["metadata"]["name"]) for o in CLUSTER_OBJECTS if o["kind"] == kind]
    found = [f for f in found if namespace is None or f[0] == namespace]
    return sorted(found, key=lambda f: f"{f[0]}/{f[1]}" if f[0] else f[1])


def names(body):
    return [(i["metadata"].get("namespace", ""), i["metadata"]["name"]) for i in body["items"]]


class DiscoveryTestCase(StandInTestCase):
    def setUp(self):
        super().setUp()
        loaded = self.control("POST", "/_standin/load", CLUSTER_OBJECTS)
        self.assertEqual(loaded, {"loaded": len(CLUSTER_OBJECTS)})

    def pod_fixture(self, name, namespace="default", labels=None, node="node-c"):
        return self.control("PUT", f"/_standin/objects/pods/{namespace}/{name}", {
            "metadata": {"labels": labels or {"app": name}},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "x"}]},
            "status": {"phase": "Running", "podIP": "127.0.0.99"}})


class DiscoveryListTest(DiscoveryTestCase):
    def test_lists_every_resource(self):
        for path, kind, api_version, seed_kind in [
                ("/api/v1/pods", "PodList", "v1", "Pod"),
                ("/api/v1/services", "ServiceList", "v1", "Service"),
                ("/api/v1/endpoints", "EndpointsList", "v1", "Endpoints"),
                ("/api/v1/nodes", "NodeList", "v1", "Node"),
                ("/apis/discovery.k8s.io/v1/endpointslices", "EndpointSliceList",
                 "discovery.k8s.io/v1", "EndpointSlice"),
                ("/apis/networking.k8s.io/v1/ingresses", "IngressList", "networking.k8s.io/v1",
                 "Ingress")]:
            body = self.api("GET", path).body
            self.assertEqual((body["kind"], body["apiVersion"]), (kind, api_version), path)
            self.assertEqual(names(body), seeded(seed_kind), path)
            for item in body["items"]:
                self.assertNotIn("kind", item)  # typed lists: items carry no kind/apiVersion
                self.assertNotIn("apiVersion", item)
                self.assertTrue(item["metadata"]["uid"] and item["metadata"]["resourceVersion"])
            self.assertNotIn("continue", body["metadata"])
        nodes = self.api("GET", "/api/v1/nodes").body["items"]
        self.assertTrue(all("namespace" not in n["metadata"] for n in nodes))

    def test_namespaces_and_single_objects(self):
        self.assertEqual(names(self.api("GET", "/api/v1/namespaces/mesh/pods").body),
                         seeded("Pod", "mesh"))
        self.assertEqual(self.api("GET", "/api/v1/namespaces/nothing/pods").body["items"], [])
        ns, name = seeded("Pod", "monitoring")[0]
        pod = self.api("GET", f"/api/v1/namespaces/{ns}/pods/{name}").body
        self.assertEqual((pod["kind"], pod["apiVersion"], pod["metadata"]["name"]),
                         ("Pod", "v1", name))
        node = self.api("GET", "/api/v1/nodes/node-c").body
        self.assertEqual((node["kind"], node["metadata"]["name"]), ("Node", "node-c"))
        slice_name = seeded("EndpointSlice", "mesh")[0][1]
        eps = self.api("GET", f"/apis/discovery.k8s.io/v1/namespaces/mesh/endpointslices/"
                              f"{slice_name}").body
        self.assertEqual((eps["kind"], eps["addressType"]), ("EndpointSlice", "IPv4"))
        missing = self.api("GET", "/api/v1/namespaces/default/pods/nope")
        self.assertStatus(missing, 404, "NotFound")
        self.assertEqual(missing.body["message"], 'pods "nope" not found')
        self.assertEqual(missing.body["details"], {"name": "nope", "kind": "pods"})
        self.assertEqual(self.api("GET", "/api/v1/namespaces/default/nodes").body,
                         PATH_NOT_FOUND)
        for method in ("PUT", "PATCH", "DELETE", "POST"):
            self.assertEqual(self.api(method, f"/api/v1/namespaces/{ns}/pods/{name}", {},
                                      MERGE).body, METHOD_NOT_ALLOWED, method)

    def test_pagination_is_a_consistent_snapshot(self):
        everything = self.api("GET", "/api/v1/pods").body
        total = len(everything["items"])
        first = self.api("GET", "/api/v1/pods?limit=3").body
        self.assertEqual(len(first["items"]), 3)
        self.assertEqual(first["metadata"]["remainingItemCount"], total - 3)
        token = first["metadata"]["continue"]
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        self.assertEqual(decoded["v"], "meta.k8s.io/v1")
        self.assertEqual(str(decoded["rv"]), first["metadata"]["resourceVersion"])
        # changes after the first page do not show in the following pages
        self.pod_fixture("aaa-new", "monitoring")
        self.control("DELETE", "/_standin/objects/pods/" + "/".join(seeded("Pod")[-1]))
        collected, pages = list(first["items"]), 1
        while token:
            page = self.api("GET", f"/api/v1/pods?limit=3&continue={token}").body
            self.assertEqual(page["metadata"]["resourceVersion"],
                             first["metadata"]["resourceVersion"])
            collected += page["items"]
            pages += 1
            token = page["metadata"].get("continue")
            if token:
                self.assertEqual(page["metadata"]["remainingItemCount"],
                                 total - len(collected))
            else:
                self.assertNotIn("remainingItemCount", page["metadata"])
        self.assertEqual(collected, everything["items"])
        self.assertEqual(pages, -(-total // 3))
        fresh = names(self.api("GET", "/api/v1/pods").body)
        self.assertIn(("monitoring", "aaa-new"), fresh)
        self.assertNotIn(seeded("Pod")[-1], fresh)
        # an exact page count: no continue when the limit ends on the last item
        exact = self.api("GET", f"/api/v1/namespaces/mesh/pods?limit="
                                f"{len(seeded('Pod', 'mesh'))}").body
        self.assertNotIn("continue", exact["metadata"])

    def test_continue_errors(self):
        first = self.api("GET", "/api/v1/pods?limit=2").body
        token = first["metadata"]["continue"]
        bad = self.api("GET", "/api/v1/pods?limit=2&continue=%21%21notbase64")
        self.assertStatus(bad, 400, "BadRequest")
        self.assertTrue(bad.body["message"].startswith("invalid continue token"))
        wrong_version = base64.urlsafe_b64encode(b'{"v":"x","rv":5,"start":"a"}').decode()
        self.assertStatus(self.api("GET", f"/api/v1/pods?continue={wrong_version}"), 400,
                          "BadRequest")
        both = self.api("GET", f"/api/v1/pods?limit=2&continue={token}&resourceVersion=5")
        self.assertStatus(both, 400, "BadRequest")
        self.assertEqual(both.body["message"],
                         "specifying resource version is not allowed when using continue")
        self.assertStatus(self.api("GET", f"/api/v1/pods?limit=2&continue={token}"), 200)
        self.pod_fixture("later")
        self.control("POST", "/_standin/compact")
        expired = self.api("GET", f"/api/v1/pods?limit=2&continue={token}")
        self.assertStatus(expired, 410, "Expired")
        self.assertIn("continue parameter is too old", expired.body["message"])

    def test_resource_version_parameter(self):
        current = int(self.api("GET", "/api/v1/pods").body["metadata"]["resourceVersion"])
        too_large = self.api("GET", f"/api/v1/pods?resourceVersion={current + 100}")
        self.assertStatus(too_large, 504, "Timeout")
        self.assertIn("Too large resource version", too_large.body["message"])
        self.pod_fixture("newer")
        at_old = self.api("GET", f"/api/v1/pods?resourceVersion={current}&"
                                 f"resourceVersionMatch=Exact").body
        self.assertEqual(at_old["metadata"]["resourceVersion"], str(current))
        self.assertNotIn(("default", "newer"), names(at_old))
        not_older = self.api("GET", f"/api/v1/pods?resourceVersion={current}").body
        self.assertIn(("default", "newer"), names(not_older))

    def test_label_and_field_selectors(self):
        def listed(path):
            response = self.api("GET", path)
            self.assertStatus(response, 200)
            return names(response.body)

        web = [p for p in seeded("Pod") if p[1].startswith("web-")]
        self.assertEqual(listed("/api/v1/pods?labelSelector=app.kubernetes.io%2Fname%3Dweb"), web)
        self.assertEqual(listed("/api/v1/pods?labelSelector=tier"), web)  # empty-valued label
        self.assertEqual(listed("/api/v1/pods?fieldSelector=status.phase%3DPending"),
                         [("mesh", "api-6c8f7d9b4-wm4xj")])
        self.assertEqual(listed("/api/v1/pods?fieldSelector=status.podIP%3D127.0.0.25"),
                         [("monitoring", "kube-state-metrics-84d9b6c7f-l2pgs")])
        on_c = listed("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-c")
        self.assertEqual(on_c, [p for p in seeded("Pod") if p[1] in (
            "web-7d4b9c8f5-zr5mn", "api-6c8f7d9b4-ck7vd")])
        self.assertEqual(listed("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-c,"
                                "metadata.namespace!%3Dmesh"), [("default", "web-7d4b9c8f5-zr5mn")])
        self.assertEqual(listed("/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue"),
                         [("", "ip-10-0-2-32.eu-west-1.compute.internal")])
        self.assertEqual(len(listed("/api/v1/nodes?fieldSelector=spec.unschedulable%3Dfalse")), 2)
        self.assertEqual(listed("/api/v1/services?fieldSelector=metadata.name%3Dweb"),
                         [("default", "web")])
        for path, message in [
                ("/api/v1/pods?fieldSelector=spec.foo%3D1", "field label not supported: spec.foo"),
                ("/api/v1/nodes?fieldSelector=metadata.namespace%3Dx",
                 "field label not supported: metadata.namespace"),
                ("/api/v1/services?fieldSelector=spec.type%3DClusterIP",
                 '"spec.type" is not a known field selector: only "metadata.name", '
                 '"metadata.namespace"')]:
            response = self.api("GET", path)
            self.assertStatus(response, 400, "BadRequest")
            self.assertEqual(response.body["message"], message)
        # with a selector, pages may be short and have no remainingItemCount
        page = self.api("GET", "/api/v1/pods?limit=1&labelSelector=app.kubernetes.io%2Fname").body
        self.assertEqual(len(page["items"]), 1)
        self.assertIn("continue", page["metadata"])
        self.assertNotIn("remainingItemCount", page["metadata"])


class WatchTest(DiscoveryTestCase):
    def open_watch(self, path):
        """(connection, response) of a watch request; read events with next_event."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, timeout=20,
                                           context=ssl.create_default_context(
                                               cafile=str(self.certdir / "ca.pem")))
        conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
        response = conn.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Transfer-Encoding"), "chunked")
        self.assertEqual(response.getheader("Content-Type"), "application/json")
        return conn, response

    @staticmethod
    def next_event(response):
        line = response.readline()
        return json.loads(line) if line else None

    def test_events_after_the_list(self):
        rv = self.api("GET", "/api/v1/namespaces/default/pods").body["metadata"]["resourceVersion"]
        conn, response = self.open_watch(f"/api/v1/namespaces/default/pods?watch=true&"
                                         f"resourceVersion={rv}&timeoutSeconds=5")
        try:
            created = self.pod_fixture("watched")
            self.pod_fixture("elsewhere", namespace="mesh")  # another namespace: not seen
            changed = self.control("PUT", "/_standin/objects/pods/default/watched", {
                "metadata": {"labels": {"app": "watched", "v": "2"}},
                "spec": {"nodeName": "node-c"}, "status": {"phase": "Running"}})
            self.control("DELETE", "/_standin/objects/pods/default/watched")
            events = [self.next_event(response) for _ in range(3)]
        finally:
            conn.close()
        self.assertEqual([e["type"] for e in events], ["ADDED", "MODIFIED", "DELETED"])
        self.assertEqual(events[0]["object"], created)
        self.assertEqual(events[1]["object"], changed)
        self.assertEqual((events[2]["object"]["kind"], events[2]["object"]["metadata"]["name"]),
                         ("Pod", "watched"))
        self.assertGreater(int(events[2]["object"]["metadata"]["resourceVersion"]),
                           int(changed["metadata"]["resourceVersion"]))

    def test_initial_state_selectors_timeout_and_bookmark(self):
        start = time.monotonic()
        conn, response = self.open_watch(
            "/apis/discovery.k8s.io/v1/namespaces/mesh/endpointslices?watch=1&timeoutSeconds=1"
            "&allowWatchBookmarks=true")
        try:
            events = []
            while (event := self.next_event(response)) is not None:
                events.append(event)
        finally:
            conn.close()
        self.assertLess(time.monotonic() - start, 5)
        added = [e for e in events if e["type"] == "ADDED"]
        self.assertEqual([("mesh", e["object"]["metadata"]["name"]) for e in added],
                         seeded("EndpointSlice", "mesh"))
        self.assertEqual(added[0]["object"]["apiVersion"], "discovery.k8s.io/v1")
        self.assertEqual(events[-1]["type"], "BOOKMARK")
        self.assertEqual(events[-1]["object"]["kind"], "EndpointSlice")
        # a label selector turns changes into ADDED/DELETED as objects enter and leave it
        rv = self.api("GET", "/api/v1/pods").body["metadata"]["resourceVersion"]
        conn, response = self.open_watch(f"/api/v1/pods?watch=true&resourceVersion={rv}&"
                                         "labelSelector=team%3Dblue&timeoutSeconds=5")
        try:
            self.pod_fixture("p", labels={"team": "red"})
            self.pod_fixture("p", labels={"team": "blue"})
            self.pod_fixture("p", labels={"team": "green"})
            types = [self.next_event(response)["type"] for _ in range(2)]
        finally:
            conn.close()
        self.assertEqual(types, ["ADDED", "DELETED"])

    def test_too_old_resource_version(self):
        rv = self.api("GET", "/api/v1/pods").body["metadata"]["resourceVersion"]
        self.pod_fixture("x")
        self.control("POST", "/_standin/compact")
        conn, response = self.open_watch(f"/api/v1/pods?watch=true&resourceVersion={rv}")
        try:
            event = self.next_event(response)
        finally:
            conn.close()
        self.assertEqual(event["type"], "ERROR")
        self.assertEqual((event["object"]["code"], event["object"]["reason"]), (410, "Expired"))
        self.assertTrue(event["object"]["message"].startswith(f"too old resource version: {rv}"))

    def test_request_log_tells_lists_from_watches(self):
        self.control("DELETE", "/_standin/requests")
        self.api("GET", "/api/v1/nodes")
        conn, response = self.open_watch("/api/v1/nodes?watch=true&timeoutSeconds=1")
        try:
            while self.next_event(response) is not None:
                pass
        finally:
            conn.close()
        self.api("GET", "/api/v1/nodes/node-c")
        log = self.requests_log()
        self.assertEqual([(r["verb"], r["path"], r["auth_ok"]) for r in log],
                         [("list", "/api/v1/nodes", True), ("watch", "/api/v1/nodes", True),
                          ("get", "/api/v1/nodes/node-c", True)])
        self.assertEqual(log[1]["query"]["watch"], "true")


class VersionAndDiscoveryTest(StandInTestCase):
    def test_version(self):
        body = self.api("GET", "/version").body
        self.assertRegex(body["gitVersion"], r"^v1\.\d+\.\d+")
        self.assertEqual((body["major"], body["minor"]),
                         tuple(body["gitVersion"][1:].split(".")[:2]))
        for key in ("gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler",
                    "platform"):
            self.assertIn(key, body)

    def test_discovery_documents(self):
        api = self.api("GET", "/api").body
        self.assertEqual((api["kind"], api["versions"]), ("APIVersions", ["v1"]))
        groups = self.api("GET", "/apis").body
        self.assertEqual(groups["kind"], "APIGroupList")
        by_name = {g["name"]: g for g in groups["groups"]}
        for group in ("discovery.k8s.io", "networking.k8s.io", "apps", "autoscaling"):
            self.assertEqual(by_name[group]["preferredVersion"], by_name[group]["versions"][0])
        core = self.api("GET", "/api/v1").body
        self.assertEqual((core["kind"], core["groupVersion"]), ("APIResourceList", "v1"))
        resources = {r["name"]: r for r in core["resources"]}
        self.assertFalse(resources["nodes"]["namespaced"])
        self.assertIn("watch", resources["pods"]["verbs"])
        self.assertIn("pods/proxy", resources)
        for group_version, name in [("discovery.k8s.io/v1", "endpointslices"),
                                    ("networking.k8s.io/v1", "ingresses")]:
            body = self.api("GET", f"/apis/{group_version}").body
            self.assertEqual(body["groupVersion"], group_version)
            self.assertIn(name, [r["name"] for r in body["resources"]])
        self.assertEqual(self.api("GET", "/apis/discovery.k8s.io").body["kind"], "APIGroup")

    def test_everything_needs_a_token(self):
        for path in ["/version", "/api", "/apis", "/api/v1", "/api/v1/pods",
                     "/api/v1/pods?watch=true", "/api/v1/nodes/node-c",
                     "/api/v1/nodes/node-c/proxy/metrics",
                     "/api/v1/namespaces/default/pods/web:80/proxy/",
                     "/apis/networking.k8s.io/v1/ingresses"]:
            for token in (None, manual_token(secret="wrong")):
                response = self.api("GET", path, token=token)
                self.assertEqual((response.status, response.body), (401, UNAUTHORIZED), path)


class Backend(http.server.BaseHTTPRequestHandler):
    """A local plain-HTTP exporter: echoes what it received."""

    def do_GET(self):
        body = json.dumps({"path": self.path, "authorization": self.headers.get("Authorization"),
                           "x_test": self.headers.get("X-Test")}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ProxyTest(DiscoveryTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Backend)
        threading.Thread(target=cls.backend.serve_forever, daemon=True).start()
        cls.backend_port = cls.backend.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.backend.shutdown()
        cls.backend.server_close()

    def setUp(self):
        super().setUp()
        self.control("PUT", "/_standin/objects/nodes/local", {
            "status": {"addresses": [{"type": "Hostname", "address": "local"},
                                     {"type": "InternalIP", "address": "127.0.0.1"}],
                       "daemonEndpoints": {"kubeletEndpoint": {"Port": self.backend_port}}}})
        self.control("PUT", "/_standin/objects/pods/default/exporter", {
            "spec": {"nodeName": "local", "containers": [{"name": "e", "image": "x", "ports": [
                {"containerPort": self.backend_port}]}]},
            "status": {"phase": "Running", "podIP": "127.0.0.1",
                       "podIPs": [{"ip": "127.0.0.1"}]}})
        self.control("PUT", "/_standin/objects/pods/default/unstarted", {
            "spec": {"containers": [{"name": "e", "image": "x"}]},
            "status": {"phase": "Pending"}})

    def test_node_and_pod_proxy_forward(self):
        for path, forwarded in [
                ("/api/v1/nodes/local/proxy/metrics?a=1&b=x%2Fy", "/metrics?a=1&b=x%2Fy"),
                (f"/api/v1/nodes/local:{self.backend_port}/proxy/metrics/cadvisor",
                 "/metrics/cadvisor"),
                (f"/api/v1/namespaces/default/pods/exporter:{self.backend_port}/proxy/metrics",
                 "/metrics"),
                (f"/api/v1/namespaces/default/pods/http:exporter:{self.backend_port}/proxy/x?q=1",
                 "/x?q=1"),
                ("/api/v1/namespaces/default/pods/exporter/proxy/", "/")]:
            response = self.api("GET", path, headers={"X-Test": "kept"})
            self.assertEqual(response.status, 201, (path, response.body))
            self.assertEqual(response.headers.getheader("Content-Type"),
                             "text/plain; version=0.0.4")
            self.assertEqual(response.body, {"path": forwarded, "authorization": None,
                                             "x_test": "kept"}, path)
        log = self.requests_log()
        self.assertTrue(all(r["auth_ok"] for r in log))
        self.assertEqual([r["verb"] for r in log if "/proxy" in r["path"]], ["proxy"] * 5)

    def test_proxy_errors(self):
        missing = self.api("GET", "/api/v1/namespaces/default/pods/nope:80/proxy/metrics")
        self.assertStatus(missing, 404, "NotFound")
        self.assertEqual(missing.body["message"], 'pods "nope" not found')
        self.assertStatus(self.api("GET", "/api/v1/nodes/nope/proxy/metrics"), 404, "NotFound")
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        down = self.api("GET", f"/api/v1/namespaces/default/pods/exporter:{closed}/proxy/metrics")
        self.assertStatus(down, 503, "ServiceUnavailable")
        self.assertEqual(down.body["message"], f"error trying to reach service: dial tcp "
                                               f"127.0.0.1:{closed}: connect: connection refused")
        no_ip = self.api("GET", "/api/v1/namespaces/default/pods/unstarted:80/proxy/")
        self.assertStatus(no_ip, 400, "BadRequest")
        self.assertStatus(self.api("GET", "/api/v1/nodes/a:b:c:d/proxy/"), 400, "BadRequest")


class SeedAndGenerateTest(unittest.TestCase):
    def start(self, *extra):
        server = StandInProcess(SHARED["certdir"], SHARED["tmp"].name)
        server.extra_args = list(extra)
        server.start()
        self.addCleanup(server.stop)
        return Client(server.port, SHARED["certdir"] / "ca.pem", presigned_token())

    def test_seed_file_on_the_command_line(self):
        client = self.start("--seed", str(CLUSTER_FILE))
        self.addCleanup(client.close)
        body = client.request("GET", "/apis/networking.k8s.io/v1/ingresses").body
        self.assertEqual(names(body), seeded("Ingress"))

    def test_generated_cluster_pages(self):
        client = self.start("--generate-pods", "120")
        self.addCleanup(client.close)
        token, pods = "", []
        while True:
            page = client.request("GET", "/api/v1/pods?limit=50" + (
                f"&continue={token}" if token else "")).body
            pods += page["items"]
            token = page["metadata"].get("continue")
            if not token:
                break
        self.assertEqual(len(pods), 120)
        self.assertEqual(len({p["metadata"]["uid"] for p in pods}), 120)
        pod = pods[0]
        self.assertEqual(len(pod["spec"]["containers"]), 2)
        self.assertTrue(pod["metadata"]["ownerReferences"][0]["controller"])
        self.assertEqual(pod["status"]["phase"], "Running")
        endpoints = client.request("GET", "/api/v1/endpoints").body["items"]
        self.assertEqual(sum(len(s["addresses"]) for e in endpoints for s in e["subsets"]), 120)
        nodes = client.request("GET", "/api/v1/nodes").body["items"]
        self.assertEqual({p["spec"]["nodeName"] for p in pods},
                         {n["metadata"]["name"] for n in nodes})


# ---------------------------------------------------------------------------
# make_certs.sh, and a stand-in without a session token
# ---------------------------------------------------------------------------


class MakeCertsScriptTest(unittest.TestCase):
    def test_script_certificates_work_for_tls(self):
        with tempfile.TemporaryDirectory() as tmp:
            certs = Path(tmp) / "certs"
            subprocess.run([str(HERE / "make_certs.sh"), str(certs)], check=True)
            for name in ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem"):
                self.assertTrue((certs / name).is_file(), name)
            subprocess.run(["openssl", "verify", "-x509_strict", "-purpose", "sslserver",
                            "-CAfile", certs / "ca.pem", certs / "server.pem"], check=True,
                           capture_output=True)
            text = lambda f: subprocess.run(["openssl", "x509", "-in", certs / f, "-noout",
                                             "-text"], check=True, capture_output=True,
                                            text=True).stdout
            ca, server = text("ca.pem"), text("server.pem")
            self.assertRegex(ca, r"Basic Constraints: critical\s+CA:TRUE")
            self.assertIn("Certificate Sign", ca)
            self.assertRegex(server, r"Basic Constraints: critical\s+CA:FALSE")
            self.assertIn("Digital Signature, Key Encipherment", server)
            self.assertIn("TLS Web Server Authentication", server)
            self.assertIn("IP Address:127.0.0.1, DNS:localhost", server)

            with socket.socket() as s:  # the --port form, with a port picked here
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            server_proc = StandInProcess(certs, tmp, port=port, session_token=None).start()
            try:
                self.assertEqual(server_proc.port, port)
                client = Client(port, certs / "ca.pem", manual_token(session=None))
                response = client.request("GET", HPA_PATH)
                self.assertEqual((response.status, response.body["reason"]), (404, "NotFound"))
                response = client.request("GET", HPA_PATH, token=presigned_token(session=None))
                self.assertEqual(response.status, 404)
                response = client.request("GET", HPA_PATH, token=manual_token())
                self.assertEqual((response.status, response.body), (401, UNAUTHORIZED))
                client.close()
            finally:
                server_proc.stop()


if __name__ == "__main__":
    unittest.main()
