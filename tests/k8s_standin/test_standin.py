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
        for item in body["items"]:
            self.assertEqual((item["kind"], item["apiVersion"]),
                             ("HorizontalPodAutoscaler", "autoscaling/v2"))
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
        for path in ["/version", "/apis/autoscaling/v1/namespaces/prod/horizontalpodautoscalers",
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
        self.assertEqual(listed["items"], [event])
        as_v1 = self.api("GET", EVENTS_V1_PATH).body["items"][0]
        self.assertEqual(as_v1["apiVersion"], "events.k8s.io/v1")
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
        self.control("PUT", f"/_standin/objects/pods/{NS}/x", {}, expect=400)
        response = self.client.request("PUT", f"/_standin/objects/deployments/{NS}/x",
                                       raw=b"{nope", token=None)
        self.assertEqual(response.status, 400)
        self.control("DELETE", f"/_standin/objects/deployments/{NS}/web")
        self.control("GET", f"/_standin/objects/deployments/{NS}/web", expect=404)
        self.control("GET", "/_standin/nothing", expect=404)


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
