"""A local fake of Twilio's Messages API, for tests and the benchmark.

It answers POST /2010-04-01/Accounts/{sid}/Messages.json the way Twilio does
(201 with a message resource, or a JSON error with a Twilio code), so the real
`twilio` client can be pointed at it:

    fake = FakeTwilio().start()          # or: with FakeTwilio() as fake:
    settings.TWILIO_API_BASE_URL = fake.base_url
    ...
    fake.wait_for(1)                     # accepted messages, across threads/processes
    assert fake.messages[0]["To"] == "+84912345678"
    fake.fail_next(status=429, code=20429, retry_after=2)    # the next call only
    fake.fail_for("+84900000000", status=400, code=21211)    # every call to that number
    fake.latency = 0.05                  # seconds before each answer
    fake.stop()

`messages` holds the accepted ones (one dict per message: the form fields as
sent, plus "sid", "account_sid", "auth" and "path"); `requests` holds every
call, failed ones too. Both are snapshots taken under a lock. A latency longer
than the client's timeout (settings.TWILIO_TIMEOUT) gives the ambiguous case:
the message is accepted but the sender sees a timeout. Run it on its own with
`python -m tests.fake_twilio --port 8099`; GET /_fake/messages then lists what it accepted.
"""

import argparse
import base64
import json
import re
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")


@dataclass(frozen=True)
class Reply:
    """A canned error answer. `disconnect`: close the connection without answering
    (the client sees a network error)."""

    status: int = 500
    code: int | None = None
    message: str = "Fake error"
    retry_after: str | int | float | None = None
    disconnect: bool = False


class FakeTwilio:
    def __init__(self, *, port: int = 0, auth_token: str | None = None, latency: float = 0.0):
        """`port` 0 picks a free one. With `auth_token`, requests whose Basic auth
        password differs get Twilio's 401 (code 20003)."""
        self.auth_token = auth_token
        self.latency = latency
        self._requested_port = port
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._messages: list[dict] = []
        self._requests: list[dict] = []
        self._next: list[Reply] = []
        self._by_recipient: dict[str, Reply] = {}
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Life cycle

    def start(self) -> "FakeTwilio":
        self._server = _Server(("127.0.0.1", self._requested_port), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            # Kept-alive connections would otherwise go on being served after stop().
            with self._lock:
                connections, self._connections = self._connections, set()
            for connection in connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> "FakeTwilio":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """For settings.TWILIO_API_BASE_URL."""
        return f"http://127.0.0.1:{self.port}"

    # What it received

    @property
    def messages(self) -> list[dict]:
        with self._lock:
            return list(self._messages)

    @property
    def requests(self) -> list[dict]:
        with self._lock:
            return list(self._requests)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict]:
        """Wait until at least `count` messages were accepted; return them all.
        Raises TimeoutError with what arrived otherwise."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._messages)} of {count} messages arrived in {timeout} s")
                self._changed.wait(left)
            return list(self._messages)

    def reset(self) -> None:
        """Forget received messages and canned errors."""
        with self._lock:
            self._messages.clear()
            self._requests.clear()
            self._next.clear()
            self._by_recipient.clear()

    # Canned errors

    def fail_next(self, *, status: int = 500, code: int | None = None, message: str = "Fake error",
                  retry_after=None, disconnect: bool = False, times: int = 1) -> None:
        """The next `times` calls (whoever they are for) fail like this, in order."""
        with self._lock:
            self._next.extend([Reply(status, code, message, retry_after, disconnect)] * times)

    def fail_for(self, recipient: str, *, status: int = 400, code: int | None = 21211,
                 message: str = "The 'To' number is not a valid phone number.", retry_after=None,
                 disconnect: bool = False) -> None:
        """Every call to `recipient` fails like this until `reset()`."""
        with self._lock:
            self._by_recipient[recipient] = Reply(status, code, message, retry_after, disconnect)

    # Called by the handler

    def _answer(self, path: str, form: dict, auth: tuple[str, str] | None) -> tuple[Reply | None, dict]:
        """Record one call and decide its answer: a Reply for errors, None and the
        message resource for success."""
        match = MESSAGES_PATH.match(path)
        record = {**form, "path": path, "auth": auth, "account_sid": match["sid"] if match else None}
        with self._changed:
            self._requests.append(record)
            if not match:
                return Reply(404, 20404, "The requested resource was not found"), {}
            if auth is None or auth[0] != match["sid"] or (self.auth_token and auth[1] != self.auth_token):
                return Reply(401, 20003, "Authenticate"), {}
            if not form.get("To"):
                return Reply(400, 21604, "A 'To' phone number is required."), {}
            if not form.get("From") and not form.get("MessagingServiceSid"):
                return Reply(400, 21603, "A 'From' phone number is required."), {}
            if not form.get("Body"):
                return Reply(400, 21602, "Message body is required."), {}
            canned = self._next.pop(0) if self._next else self._by_recipient.get(form["To"])
            if canned is not None:
                return canned, {}
            sid = "SM" + uuid.uuid4().hex
            self._messages.append({**record, "sid": sid})
            self._changed.notify_all()
        return None, {
            "sid": sid,
            "account_sid": match["sid"],
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form["Body"],
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "price": None,
            "error_code": None,
            "error_message": None,
            "uri": f"{path[:-5]}/{sid}.json",
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that gave up (timeout, stop()) is expected here, not a bug.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(fake: FakeTwilio):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the twilio client's session expects
        # Headers and body leave in two writes: without this, Nagle and delayed ACKs add 40 ms to each answer.
        disable_nagle_algorithm = True

        def setup(self):
            super().setup()
            with fake._lock:
                fake._connections.add(self.connection)

        def finish(self):
            with fake._lock:
                fake._connections.discard(self.connection)
            super().finish()

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            form = {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}
            reply, resource = fake._answer(self.path, form, _basic_auth(self.headers.get("Authorization", "")))
            if fake.latency:
                time.sleep(fake.latency)
            if reply is not None and reply.disconnect:
                self.close_connection = True
                self.connection.close()
                return
            if reply is None:
                self._send(201, resource)
            else:
                body = {"code": reply.code, "message": reply.message, "status": reply.status,
                        "more_info": f"https://www.twilio.com/docs/errors/{reply.code}"}
                headers = {"Retry-After": str(reply.retry_after)} if reply.retry_after is not None else {}
                self._send(reply.status, body, headers)

        def do_GET(self):
            # For a fake running in another process (python -m tests.fake_twilio).
            if self.path == "/_fake/messages":
                self._send(200, {"messages": fake.messages})
            else:
                self._send(404, {"code": 20404, "message": "Not found", "status": 404})

        def _send(self, status: int, payload: dict, headers: dict | None = None):
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass  # quiet in tests

    return Handler


def _basic_auth(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except ValueError:
        return None
    return user, password


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="A fake Twilio Messages API on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    options = parser.parse_args()
    fake = FakeTwilio(port=options.port, latency=options.latency).start()
    print(f"Fake Twilio on {fake.base_url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(10)
            print(f"{len(fake.messages)} messages accepted", flush=True)
    except KeyboardInterrupt:
        fake.stop()
