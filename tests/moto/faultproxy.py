#!/usr/bin/env python3
"""A fault-injecting HTTP reverse proxy between the engine and a moto server.

Usage: python3 tests/moto/faultproxy.py --port P --upstream http://127.0.0.1:M
           [--host 127.0.0.1] [--throttle R] [--server-error R] [--reset R]
           [--lost-reply R] [--only ACTION,...] [--latency-ms N] [--latency-rate R] [--seed S] [--log FILE]
           [--keep-running]

Point the engine (the AWS SDK for Rust) at the proxy with AWS_ENDPOINT_URL. Every
request (method, path, query, headers, including Host and the signed ones, and
body) is forwarded to the upstream unchanged and its answer (status, headers,
body) is returned unchanged, unless a fault is chosen. Client and upstream
connections are kept alive; a chunked request body is forwarded de-chunked with a
Content-Length (Transfer-Encoding is hop-by-hop and not part of the signature).

Faults are chosen per request by one `random.Random(--seed)` under a lock, which
draws five numbers for every eligible request (so a seed gives the same sequence
whatever the rates), in this order:

--latency-rate R, --latency-ms N (default 0, 100): sleep N ms, then go on (may add
   to one of the faults below).
--throttle R (default 0): answer the service's own throttling error in its wire
   protocol, as launcher.py's R10 does (realistic.throttle_answer). EC2:
   RequestLimitExceeded (HTTP 503, EC2 XML):
   https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
   Query services (IAM, STS, RDS, ElastiCache, SNS, CloudWatch): Throttling "Rate
   exceeded" (HTTP 400, ErrorResponse XML):
   https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/CommonErrors.html
   Kinesis: LimitExceededException (HTTP 400, JSON):
   https://docs.aws.amazon.com/kinesis/latest/APIReference/API_DescribeStreamSummary.html
   KMS: ThrottlingException:
   https://docs.aws.amazon.com/kms/latest/developerguide/throttling.html
   Secrets Manager (and any other JSON service): ThrottlingException:
   https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html
   S3: SlowDown (HTTP 503, S3 XML):
   https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
--server-error R (default 0): HTTP 500 and 503 alternately, with a body in the
   service's protocol. EC2: InternalError / Unavailable (EC2 XML):
   https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
   Query services: InternalFailure / ServiceUnavailable (ErrorResponse XML, Type
   Receiver), JSON services: InternalFailure / ServiceUnavailable (`__type` and
   x-amzn-ErrorType), the common errors of the pages above (RDS, Secrets Manager);
   S3: InternalError / ServiceUnavailable (S3 XML, page above). SDKs retry HTTP
   500, 502, 503 and 504 ("transient errors"):
   https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
--reset R (default 0): close the client connection without answering (SO_LINGER 0,
   so the client sees a connection reset), which SDKs retry as a transient error
   (same page).

--lost-reply R (default 0): forward the request (AWS acts on it), then lose the
   answer: a connection reset and an HTTP 500 alternately. This is the ambiguous
   failure a client cannot tell from the ones above; SDKs retry it like them, which
   for a create without an idempotency token makes a second resource (EC2 retries
   and `ClientToken`):
   https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html

--only ACTION,... : inject faults only into calls of these actions (for example
   `CreateVpc,CreateKey`); every other call passes untouched and draws nothing.

The first three faults are injected instead of forwarding: the upstream never sees
the request, so a retry repeats no side effect. Requests to moto's own paths (`/moto-api/...`) and
requests without a SigV4 Authorization header are always forwarded.

--log FILE: one JSON line per request (service, action, method, path, the fault
   injected if any, and the body as text), so that a test can search everything the
   engine sent (for example for a secret it must not send).

`POST /faultproxy/hold` with an action name as body (`CreateDBInstance`) arms a
one-shot hold: the next request of that action is forwarded, AWS acts on it, and its
answer is held back until `POST /faultproxy/release` (or 10 minutes). A test kills
the engine meanwhile: AWS made the resource, the engine never heard of it.

`GET /faultproxy/stats` answers JSON: requests seen, requests forwarded, injected
faults per kind and per service (service from the SigV4 credential scope), the action
whose answer is held now (`holding`) and how many were held (`held`). On exit
one summary line goes to stderr. Like launcher.py, the proxy exits when its stdin
closes, unless `--keep-running`; SIGTERM also ends it.
"""

import argparse
import atexit
import http.client
import json
import os
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from launcher import exit_when_stdin_closes  # noqa: E402
from realistic import ec2_error, signing_scope, throttle_answer  # noqa: E402

FAULTS = ("latency", "throttle", "server_error", "reset", "lost_reply")

# Headers that belong to one connection, not to the request (RFC 9110 7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


def server_error_answer(service: str, content_type: str, status: int):
    """A 500 (internal error) or 503 (unavailable) in the service's protocol."""
    request_id = os.urandom(16).hex()
    if service == "ec2":
        code, message = (
            ("InternalError", "An internal error has occurred.")
            if status == 500
            else ("Unavailable", "The server is overloaded and can't handle the request.")
        )
        return status, {"Content-Type": "text/xml"}, ec2_error(code, message)
    if service == "s3":
        code, message = (
            ("InternalError", "We encountered an internal error. Please try again.")
            if status == 500
            else ("ServiceUnavailable", "Service is unable to handle request.")
        )
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
        )
        return status, {"Content-Type": "application/xml"}, body.encode()
    code, message = (
        ("InternalFailure", "The request processing has failed because of an unknown error.")
        if status == 500
        else ("ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
    )
    if "json" in content_type:
        headers = {
            "Content-Type": content_type.split(";")[0],
            "x-amzn-ErrorType": code,
            "x-amzn-RequestId": request_id,
        }
        return status, headers, json.dumps({"__type": code, "message": message}).encode()
    body = (
        f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code>"
        f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
        "</ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml"}, body.encode()


def action_of(headers, path: str, body: bytes) -> str | None:
    """The API action of a request: JSON protocols name it in X-Amz-Target
    (`Kinesis_20131202.CreateStream`), Smithy RPC v2 in the path
    (`/service/GraniteServiceVersion20100801/operation/PutMetricAlarm`), query
    protocols (EC2, IAM, RDS, ...) in the form body's `Action`."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    operation = re.search(r"/operation/([A-Za-z0-9]+)$", path)
    if operation:
        return operation.group(1)
    if "x-www-form-urlencoded" in headers.get("Content-Type", ""):
        actions = parse_qs(body.decode("utf-8", "replace")).get("Action")
        return actions[0] if actions else None
    return None


class Hold:
    """A one-shot hold of one action's answer (see the module's documentation)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.armed: str | None = None
        self.holding: str | None = None
        self.held = 0
        self.released = threading.Event()

    def arm(self, action: str) -> None:
        with self.lock:
            self.armed = action
            self.released.clear()

    def release(self) -> None:
        self.released.set()

    def maybe_hold(self, action: str | None) -> None:
        with self.lock:
            if action is None or action != self.armed:
                return
            self.armed, self.holding = None, action
            self.held += 1
        self.released.wait(600)
        with self.lock:
            self.holding = None

    def stats(self) -> dict:
        with self.lock:
            return {"holding": self.holding, "held": self.held, "armed": self.armed}


class RequestLog:
    """--log: one JSON line per request."""

    def __init__(self, path: str | None):
        self.file = open(path, "a", encoding="utf-8") if path else None
        self.lock = threading.Lock()

    def write(self, **record) -> None:
        if self.file is None:
            return
        line = json.dumps(record)
        with self.lock:
            self.file.write(line + "\n")
            self.file.flush()


class Faults:
    """The seeded choice of faults, and the counts."""

    def __init__(self, args):
        self.rates = {
            "latency": args.latency_rate,
            "throttle": args.throttle,
            "server_error": args.server_error,
            "reset": args.reset,
            "lost_reply": args.lost_reply,
        }
        self.latency = args.latency_ms / 1000
        self.random = random.Random(args.seed)
        self.lock = threading.Lock()
        self.requests = 0
        self.forwarded = 0
        self.injected: Counter = Counter()
        self.by_service: dict[str, Counter] = defaultdict(Counter)
        self.next_error = 500
        self.next_loss = "reset"
        self.reported = False

    def choose(self, service: str | None) -> tuple[bool, str | None, int]:
        """(sleep first?, fault or None, status of a server error) for one request."""
        with self.lock:
            self.requests += 1
            if service is None:
                return False, None, 0
            draws = dict(zip(FAULTS, (self.random.random() for _ in FAULTS)))
            delayed = draws["latency"] < self.rates["latency"]
            if delayed:
                self.count("latency", service)
            fault = next(
                (f for f in FAULTS[1:] if draws[f] < self.rates[f]),
                None,
            )
            status = 0
            if fault:
                self.count(fault, service)
                if fault == "server_error":
                    status, self.next_error = self.next_error, 1003 - self.next_error
                if fault == "lost_reply":
                    status = 0 if self.next_loss == "reset" else 500
                    self.next_loss = "500" if self.next_loss == "reset" else "reset"
            return delayed, fault, status

    def count(self, fault: str, service: str) -> None:
        self.injected[fault] += 1
        self.by_service[service][fault] += 1

    def mark_forwarded(self) -> None:
        with self.lock:
            self.forwarded += 1

    def stats(self) -> dict:
        with self.lock:
            return {
                "requests": self.requests,
                "forwarded": self.forwarded,
                "injected": {f: self.injected[f] for f in FAULTS},
                "by_service": {s: dict(c) for s, c in sorted(self.by_service.items())},
                "rates": self.rates,
                "latency_ms": self.latency * 1000,
            }

    def summary(self) -> str:
        stats = self.stats()
        injected = ", ".join(f"{f}={n}" for f, n in stats["injected"].items())
        return (
            f"faultproxy: {stats['requests']} requests, {stats['forwarded']} forwarded, "
            f"injected {injected}"
        )

    def report(self) -> None:
        with self.lock:
            if self.reported:
                return
            self.reported = True
        print(self.summary(), file=sys.stderr, flush=True)


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    faults: Faults
    only: set[str] | None
    hold: Hold
    requests: RequestLog
    upstream: tuple[str, int]
    upstream_connection: http.client.HTTPConnection | None = None

    def log_message(self, format, *args):  # one line per request is too much
        pass

    def __getattr__(self, name: str):
        if name.startswith("do_"):  # every method is forwarded
            return self.handle_request
        raise AttributeError(name)

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def handle_request(self) -> None:
        body = self.read_body()
        path = urlsplit(self.path).path
        if path == "/faultproxy/stats":
            answer = json.dumps(self.faults.stats() | self.hold.stats()).encode()
            return self.answer(200, {"Content-Type": "application/json"}, answer)
        if path == "/faultproxy/hold" and self.command == "POST":
            self.hold.arm(body.decode().strip())
            return self.answer(200, {"Content-Type": "text/plain"}, b"armed")
        if path == "/faultproxy/release" and self.command == "POST":
            self.hold.release()
            return self.answer(200, {"Content-Type": "text/plain"}, b"released")
        scope = signing_scope({"HTTP_AUTHORIZATION": self.headers.get("Authorization", "")})
        service = None if path.startswith("/moto-api") or scope is None else scope[0]
        action = action_of(self.headers, path, body)
        if self.only is not None and action not in self.only:
            service = None  # passes untouched
        delayed, fault, status = self.faults.choose(service)
        self.requests.write(
            service=service,
            action=action,
            method=self.command,
            path=self.path,
            fault=fault,
            body=body.decode("utf-8", "replace"),
        )
        if delayed:
            time.sleep(self.faults.latency)
        content_type = self.headers.get("Content-Type", "")
        if fault == "throttle":
            return self.answer(*throttle_answer(service, content_type))
        if fault == "server_error":
            return self.answer(*server_error_answer(service, content_type, status))
        if fault == "reset":
            return self.reset()
        try:
            if fault == "lost_reply":
                return self.forward(body, action, lose=status)
            self.forward(body, action)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (killed while held)

    def answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reset(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()  # drops the makefile's reference, so close() is final
        self.connection.close()

    def forward(self, body: bytes, action: str | None, lose: int | None = None) -> None:
        """Forwards the request and returns the answer; with `lose`, drops the
        answer instead (0: a connection reset, else an HTTP 500 in the service's
        protocol)."""
        chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
        for attempt in (1, 2):
            fresh = self.upstream_connection is None
            if fresh:
                self.upstream_connection = http.client.HTTPConnection(*self.upstream, timeout=600)
            connection = self.upstream_connection
            try:
                connection.putrequest(
                    self.command, self.path, skip_host=True, skip_accept_encoding=True
                )
                for name, value in self.headers.items():
                    if name.lower() not in HOP_BY_HOP:
                        connection.putheader(name, value)  # Content-Length as sent
                if "Content-Length" not in self.headers and (body or chunked):
                    connection.putheader("Content-Length", str(len(body)))
                connection.endheaders(body)
                response = connection.getresponse()
                answer = response.read()
                break
            except (http.client.HTTPException, OSError) as e:
                connection.close()
                self.upstream_connection = None
                # A kept-alive upstream connection may have been closed meanwhile.
                if fresh or attempt == 2:
                    message = f"faultproxy: upstream failed: {e!r}".encode()
                    return self.answer(502, {"Content-Type": "text/plain"}, message)
        self.faults.mark_forwarded()
        if lose is not None:
            if response.will_close:
                connection.close()
                self.upstream_connection = None
            if lose == 0:
                return self.reset()
            scope = signing_scope({"HTTP_AUTHORIZATION": self.headers.get("Authorization", "")})
            content_type = self.headers.get("Content-Type", "")
            return self.answer(*server_error_answer(scope[0], content_type, 500))
        self.hold.maybe_hold(action)
        if response.will_close:
            connection.close()
            self.upstream_connection = None
        self.send_response_only(response.status, response.reason)
        bodiless = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        for name, value in response.getheaders():
            lower = name.lower()
            if lower in HOP_BY_HOP or (lower == "content-length" and not bodiless):
                continue
            self.send_header(name, value)
        if not bodiless:
            self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        if not bodiless:
            self.wfile.write(answer)

    def finish(self) -> None:
        if self.upstream_connection is not None:
            self.upstream_connection.close()
        try:
            super().finish()
        except OSError:
            pass


def rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a rate is within [0, 1]")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the moto server, http://host:port")
    parser.add_argument("--throttle", type=rate, default=0.0)
    parser.add_argument("--server-error", type=rate, default=0.0)
    parser.add_argument("--reset", type=rate, default=0.0)
    parser.add_argument("--lost-reply", type=rate, default=0.0)
    parser.add_argument("--only", help="inject faults only into these actions (comma-separated)")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--latency-rate", type=rate, default=0.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log", help="write one JSON line per request to this file")
    parser.add_argument(
        "--keep-running", action="store_true", help="run until killed, not until stdin closes"
    )
    args = parser.parse_args()
    upstream = urlsplit(args.upstream)
    if upstream.scheme != "http" or not upstream.hostname:
        parser.error("--upstream must be http://host:port")
    if args.latency_ms < 0:
        parser.error("--latency-ms must be >= 0")

    faults = Faults(args)
    Proxy.faults = faults
    Proxy.only = set(args.only.split(",")) if args.only else None
    Proxy.hold = Hold()
    Proxy.requests = RequestLog(args.log)
    Proxy.upstream = (upstream.hostname, upstream.port or 80)
    server = ThreadingHTTPServer((args.host, args.port), Proxy)
    server.daemon_threads = True

    def on_sigterm(signum, frame):
        faults.report()
        os._exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    atexit.register(faults.report)
    if not args.keep_running:
        exit_when_stdin_closes(faults.report)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
