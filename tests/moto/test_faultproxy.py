"""Tests of faultproxy.py: a fast-profile moto launcher with proxies in front of it.

Run: python3 -m unittest discover -s tests/moto -p 'test_faultproxy.py' -v
"""

import json
import os
import sys
import tempfile
import time
import unittest
import urllib.request
from unittest import mock

import botocore.retries.standard
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_realistic import ONE_ATTEMPT, REGION, Server  # noqa: E402

PROXY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "faultproxy.py")


class Proxy(Server):
    """A faultproxy process in front of `upstream`; it ends when its stdin closes."""

    def __init__(self, upstream: Server, *args: str):
        super().__init__(
            "--upstream", upstream.endpoint, *args, script=PROXY, ready="/faultproxy/stats"
        )

    def stats(self) -> dict:
        return json.loads(self.get("/faultproxy/stats"))


MOTO: list[Server] = []
PROXIES: dict[str, Proxy] = {}


def setUpModule() -> None:
    moto = Server()
    MOTO.append(moto)
    PROXIES["clean"] = Proxy(moto)
    PROXIES["throttle"] = Proxy(moto, "--throttle", "1")
    PROXIES["server_error"] = Proxy(moto, "--server-error", "1")
    PROXIES["reset"] = Proxy(moto, "--reset", "1")
    PROXIES["latency"] = Proxy(moto, "--latency-rate", "1", "--latency-ms", "300")
    PROXIES["mixed"] = Proxy(
        moto,
        *("--throttle", "0.2", "--server-error", "0.2", "--reset", "0.2"),
        *("--latency-rate", "0.2", "--latency-ms", "20", "--seed", "7"),
    )
    moto.wait_ready()
    for proxy in PROXIES.values():
        proxy.wait_ready()


def tearDownModule() -> None:
    for proxy in PROXIES.values():
        proxy.stop()
        proxy.log.close()
    for server in MOTO:
        server.stop()
        server.log.close()


def error_of(call, **kwargs) -> tuple[str, int]:
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError(f"{call.__name__} succeeded")


# service -> a read-only call with its arguments
READS = {
    "ec2": ("describe_vpcs", {}),
    "kinesis": ("list_streams", {}),
    "secretsmanager": ("list_secrets", {}),
    "rds": ("describe_db_instances", {}),
}


class FaultProxy(unittest.TestCase):
    def read(self, proxy: Proxy, service: str, config: Config = ONE_ATTEMPT):
        name, kwargs = READS[service]
        return getattr(proxy.client(service, config), name), kwargs

    def test_passes_through_at_rate_zero(self):
        proxy = PROXIES["clean"]
        ec2 = proxy.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        found = ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"]
        self.assertEqual([v["CidrBlock"] for v in found], ["10.7.0.0/16"])
        kinesis = proxy.client("kinesis")
        kinesis.create_stream(StreamName="through-proxy", ShardCount=1)
        summary = kinesis.describe_stream_summary(StreamName="through-proxy")
        self.assertEqual(summary["StreamDescriptionSummary"]["StreamName"], "through-proxy")
        secrets = proxy.client("secretsmanager")
        secrets.create_secret(Name="through-proxy", SecretString="s3cr3t")
        value = secrets.get_secret_value(SecretId="through-proxy")
        self.assertEqual(value["SecretString"], "s3cr3t")
        # The same answers as moto's own (here: what the launcher answers directly).
        direct = MOTO[0].client("ec2").describe_vpcs(VpcIds=[vpc])["Vpcs"]
        self.assertEqual(found, direct)
        # A missing resource keeps moto's error.
        self.assertEqual(
            error_of(secrets.describe_secret, SecretId="missing")[0], "ResourceNotFoundException"
        )
        # moto's own API passes too.
        self.assertIn(b"ec2", proxy.get("/moto-api/data.json"))
        stats = proxy.stats()
        self.assertEqual(stats["injected"], dict.fromkeys(stats["injected"], 0))
        self.assertEqual(stats["forwarded"], stats["requests"])
        self.assertEqual(stats["forwarded"], 8)  # the 7 SDK calls and /moto-api

    def test_throttle(self):
        proxy = PROXIES["throttle"]
        expected = {
            "ec2": ("RequestLimitExceeded", 503),
            "kinesis": ("LimitExceededException", 400),
            "secretsmanager": ("ThrottlingException", 400),
            "rds": ("Throttling", 400),
        }
        for service, answer in expected.items():
            with self.subTest(service=service):
                call, kwargs = self.read(proxy, service)
                self.assertEqual(error_of(call, **kwargs), answer)
        # moto's own API and unsigned requests are never refused.
        for _ in range(5):
            proxy.get("/moto-api/data.json")
        stats = proxy.stats()
        self.assertEqual(stats["injected"]["throttle"], 4)
        self.assertEqual(stats["forwarded"], 5)
        self.assertEqual(
            stats["by_service"], {s: {"throttle": 1} for s in expected},
        )

    def test_server_error(self):
        proxy = PROXIES["server_error"]
        seen = {}
        for service in READS:
            for _ in range(2):  # 500, then 503 (alternately over all calls)
                call, kwargs = self.read(proxy, service)
                code, status = error_of(call, **kwargs)
                seen.setdefault(service, set()).add((code, status))
        self.assertEqual(seen["ec2"], {("InternalError", 500), ("Unavailable", 503)})
        for service in ("kinesis", "secretsmanager", "rds"):
            self.assertEqual(
                seen[service], {("InternalFailure", 500), ("ServiceUnavailable", 503)}, service
            )
        self.assertEqual(proxy.stats()["injected"]["server_error"], 8)

    def test_reset(self):
        proxy = PROXIES["reset"]
        for service in READS:
            with self.subTest(service=service):
                call, kwargs = self.read(proxy, service)
                with self.assertRaises((ConnectionClosedError, EndpointConnectionError)):
                    call(**kwargs)
        stats = proxy.stats()
        self.assertEqual(stats["injected"]["reset"], 4)
        self.assertEqual(stats["forwarded"], 0)

    def test_latency(self):
        proxy = PROXIES["latency"]
        ec2 = proxy.client("ec2")
        ec2.describe_vpcs()  # connection set up
        started = time.monotonic()
        ec2.describe_vpcs()
        self.assertGreaterEqual(time.monotonic() - started, 0.3)
        stats = proxy.stats()
        self.assertEqual(stats["injected"]["latency"], 2)
        self.assertEqual(stats["forwarded"], 2)

    def test_default_retries_get_through(self):
        proxy = PROXIES["mixed"]
        config = Config(retries={"mode": "standard", "max_attempts": 10})
        clients = {service: proxy.client(service, config) for service in READS}
        # Standard mode's retry decisions, with its backoff (up to 20 s) cut to 10 ms
        # so that the test stays short.
        with mock.patch.object(
            botocore.retries.standard.ExponentialBackoff, "delay_amount", return_value=0.01
        ):
            calls = 0
            for i in range(30):
                service = list(READS)[i % len(READS)]
                name, kwargs = READS[service]
                getattr(clients[service], name)(**kwargs)
                calls += 1
        self.assertEqual(calls, 30)
        stats = proxy.stats()
        injected = stats["injected"]
        for fault in ("latency", "throttle", "server_error", "reset"):
            self.assertGreater(injected[fault], 0, stats)
        self.assertEqual(injected["lost_reply"], 0)
        refused = injected["throttle"] + injected["server_error"] + injected["reset"]
        # Each call is forwarded once, after its refused attempts.
        self.assertEqual(stats["forwarded"], 30)
        self.assertEqual(stats["requests"], 30 + refused)
        self.assertEqual(
            sum(sum(c.values()) for c in stats["by_service"].values()),
            refused + injected["latency"],
        )

    def test_request_log_names_service_action_and_body(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "requests.jsonl")
            proxy = Proxy(MOTO[0], "--throttle", "0.5", "--seed", "3", "--log", path)
            try:
                proxy.wait_ready()
                for service in ("ec2", "kinesis", "secretsmanager", "rds"):
                    call, kwargs = self.read(proxy, service)
                    try:
                        call(**kwargs)
                    except ClientError:
                        pass
            finally:
                proxy.stop()
                proxy.log.close()
            with open(path, encoding="utf-8") as f:
                records = [json.loads(line) for line in f]
        actions = {(r["service"], r["action"]) for r in records}
        self.assertEqual(
            actions,
            {
                ("ec2", "DescribeVpcs"),
                ("kinesis", "ListStreams"),
                ("secretsmanager", "ListSecrets"),
                ("rds", "DescribeDBInstances"),
            },
        )
        self.assertEqual(len(records), 4)
        faults = [r["fault"] for r in records]
        self.assertIn("throttle", faults, "seed 3 throttles at least one of four")
        self.assertIn(None, faults)
        ec2 = next(r for r in records if r["service"] == "ec2")
        self.assertIn("Action=DescribeVpcs", ec2["body"])

    def test_hold_keeps_one_answer_back_after_the_upstream_acted(self):
        moto = MOTO[0]
        proxy = Proxy(moto)
        self.addCleanup(proxy.log.close)
        self.addCleanup(proxy.stop)
        proxy.wait_ready()
        post = lambda path, body: urllib.request.urlopen(  # noqa: E731
            urllib.request.Request(proxy.endpoint + path, data=body, method="POST"), timeout=10
        ).read()
        self.assertEqual(post("/faultproxy/hold", b"CreateStream"), b"armed")
        self.assertEqual(proxy.stats()["armed"], "CreateStream")
        kinesis = proxy.client("kinesis", Config(retries={"max_attempts": 1}, read_timeout=2))
        with self.assertRaises(Exception):  # the answer never comes: read timeout
            kinesis.create_stream(StreamName="held", ShardCount=1)
        stats = proxy.stats()
        self.assertEqual((stats["holding"], stats["held"], stats["armed"]), ("CreateStream", 1, None))
        # AWS acted: the stream exists, though its creator never heard so.
        self.assertIn("held", moto.client("kinesis").list_streams()["StreamNames"])
        self.assertEqual(post("/faultproxy/release", b""), b"released")
        deadline = time.monotonic() + 5
        while proxy.stats()["holding"] is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIsNone(proxy.stats()["holding"])
        # One-shot: the next call of the action is answered.
        kinesis.create_stream(StreamName="after", ShardCount=1)
        for name in ("held", "after"):
            moto.client("kinesis").delete_stream(StreamName=name)

    def test_lost_reply_acts_upstream_then_fails(self):
        moto = MOTO[0]
        proxy = Proxy(moto, "--lost-reply", "1")
        self.addCleanup(proxy.log.close)
        self.addCleanup(proxy.stop)
        proxy.wait_ready()
        kinesis = proxy.client("kinesis")
        # A reset first, then an HTTP 500 in the service's protocol.
        with self.assertRaises((ConnectionClosedError, EndpointConnectionError)):
            kinesis.create_stream(StreamName="lost-1", ShardCount=1)
        code, status = error_of(kinesis.create_stream, StreamName="lost-2", ShardCount=1)
        self.assertEqual((code, status), ("InternalFailure", 500))
        # AWS acted both times, though the client heard only failures.
        streams = moto.client("kinesis").list_streams()["StreamNames"]
        self.assertIn("lost-1", streams)
        self.assertIn("lost-2", streams)
        stats = proxy.stats()
        self.assertEqual((stats["forwarded"], stats["injected"]["lost_reply"]), (2, 2))
        for name in ("lost-1", "lost-2"):
            moto.client("kinesis").delete_stream(StreamName=name)

    def test_only_the_named_actions_get_faults(self):
        proxy = Proxy(MOTO[0], "--throttle", "1", "--only", "ListStreams")
        self.addCleanup(proxy.log.close)
        self.addCleanup(proxy.stop)
        proxy.wait_ready()
        kinesis = proxy.client("kinesis")
        self.assertEqual(error_of(kinesis.list_streams), ("LimitExceededException", 400))
        kinesis.describe_limits()  # another action passes
        self.assertEqual(proxy.stats()["injected"]["throttle"], 1)

    def test_summary_on_exit(self):
        moto = MOTO[0]
        proxy = Proxy(moto, "--throttle", "1")
        try:
            proxy.wait_ready()
            call, kwargs = self.read(proxy, "kinesis")
            error_of(call, **kwargs)
        finally:
            proxy.stop()
        self.assertEqual(proxy.process.returncode, 0)
        self.assertIn("faultproxy: ", proxy.output())
        self.assertIn("throttle=1", proxy.output())
        proxy.log.close()


if __name__ == "__main__":
    unittest.main()
