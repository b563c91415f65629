"""A local fake of Twilio's Messages API, for tests and the benchmark.

It answers POST /2010-04-01/Accounts/{sid}/Messages.json the way Twilio does
(201 with a message resource, or a JSON error with a Twilio code), and GET on
the same path with a page of the accepted messages, so the real `twilio`
client can be pointed at it:

    fake = FakeTwilio().start()          # or: with FakeTwilio() as fake:
    settings.TWILIO_API_BASE_URL = fake.base_url
    ...
    fake.wait_for(1)                     # accepted messages, across threads/processes
    assert fake.messages[0]["To"] == "+84912345678"
    fake.fail_next(status=429, code=20429, retry_after=2)    # the next call only
    fake.fail_for("+84900000000", status=400, code=21211)    # every call to that number
    fake.latency = 0.05                  # seconds before each answer
    fake.delay_next(2)                   # the next call only: accepted, answered 2 s later
    fake.send_at_once = False            # accepted messages stay queued (no date_sent)
    held = fake.hold_answer(250)         # the 250th accepted message: its answer waits...
    held.wait(30)                        # ...(set once it is accepted and waiting)...
    fake.release()                       # ...until this (or stop())
    fake.stop()

`messages` holds the accepted ones (one dict per message: the form fields as
sent, plus "sid", "account_sid", "auth", "path", "method", and "created_at" and
"sent_at": Unix times, sent_at None while queued); `requests` holds every call
to the API, failed ones and GETs too (with the query's fields). Both are
snapshots taken under a lock (the server answers each connection in its own
thread: concurrent senders are safe). A delay longer than the client's timeout
(settings.TWILIO_TIMEOUT) gives the ambiguous case: the message is accepted
but the sender sees a read timeout. `hold_answer` gives the same moment
without a timeout, for as long as the test needs: the provider has the message,
the sender does not know yet (the moment to kill a worker).

The list (client.messages.list) filters on To, From, and DateSent, DateSent>=
and DateSent<= (the client sends date_sent_after as `DateSent>=<ISO time>`),
newest first, paged by PageSize and Page with Twilio's page shape
({"messages": [...], "next_page_uri": ..., ...}). A message not sent yet has
no date_sent, so a DateSent filter leaves it out (the strict reading of
Twilio's documentation). Canned errors from fail_next and delays apply to list
calls too; fail_for does not (it is about sending to a number).

Run it on its own with `python -m tests.fake_twilio --port 8099`; GET
/_fake/messages then lists what it accepted.
"""

import argparse
import base64
import datetime as dt
import email.utils
import json
import re
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

# The longest a held answer waits for release().
HOLD_MAX_SECONDS = 120
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
    def __init__(self, *, port: int = 0, auth_token: str | None = None, latency: float = 0.0,
                 send_at_once: bool = True):
        """`port` 0 picks a free one. With `auth_token`, requests whose Basic auth
        password differs get Twilio's 401 (code 20003). `send_at_once` False:
        accepted messages stay queued, with no date_sent (as at Twilio while a
        message waits in its queue)."""
        self.auth_token = auth_token
        self.latency = latency
        self.send_at_once = send_at_once
        self._requested_port = port
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._messages: list[dict] = []
        self._requests: list[dict] = []
        self._next: list[Reply] = []
        self._delays: list[float] = []
        self._by_recipient: dict[str, Reply] = {}
        self._hold_at: int | None = None  # the number of the accepted message whose answer is held
        self._held_sid: str | None = None
        self._held = threading.Event()
        self._release = threading.Event()
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
        self._release.set()  # a held answer must not keep its thread waiting
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
        """Forget received messages, canned errors and a hold (releasing a held answer)."""
        with self._lock:
            self._messages.clear()
            self._requests.clear()
            self._next.clear()
            self._delays.clear()
            self._by_recipient.clear()
            self._hold_at = self._held_sid = None
            self._release.set()

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

    def delay_next(self, seconds: float, *, times: int = 1) -> None:
        """The next `times` calls are answered `seconds` later (on top of
        `latency`), after they were acted on: longer than the client's timeout,
        a message is accepted while its sender sees a read timeout."""
        with self._lock:
            self._delays.extend([seconds] * times)

    def hold_answer(self, nth: int) -> threading.Event:
        """The `nth` message this fake accepts (1-based, counting every message
        accepted since the start or `reset()`) is accepted and recorded as usual,
        but its answer waits until `release()` (or `stop()`, or HOLD_MAX_SECONDS):
        the provider has the message and its sender does not know yet. Returns
        an Event set once that message is accepted and its answer is waiting;
        `held_sid` is then its SID."""
        with self._lock:
            if len(self._messages) >= nth:
                raise ValueError(f"{len(self._messages)} messages were accepted already")
            self._hold_at, self._held_sid = nth, None
            self._held.clear()
            self._release.clear()
        return self._held

    def release(self) -> None:
        """Send the held answer (to whoever still listens)."""
        self._release.set()

    @property
    def held_sid(self) -> str | None:
        with self._lock:
            return self._held_sid

    # Called by the handler

    def _hold(self, resource: dict) -> None:
        """If `resource` is the message whose answer is held, wait for release()."""
        with self._lock:
            held = resource.get("sid") is not None and resource.get("sid") == self._held_sid
        if held:
            self._held.set()
            self._release.wait(HOLD_MAX_SECONDS)

    def _delay(self) -> float:
        """Seconds to wait before answering the call being handled."""
        with self._lock:
            return self.latency + (self._delays.pop(0) if self._delays else 0.0)

    def _answer(self, path: str, form: dict, auth: tuple[str, str] | None) -> tuple[Reply | None, dict]:
        """Record one POST and decide its answer: a Reply for errors, None and the
        message resource for success. (bench/reminders.py wraps it.)"""
        match = MESSAGES_PATH.match(path)
        record = {**form, "path": path, "method": "POST", "auth": auth, "account_sid": match["sid"] if match else None}
        with self._changed:
            self._requests.append(record)
            return self._accept(match, form, auth, record)

    def _accept(self, match, form: dict, auth, record: dict) -> tuple[Reply | None, dict]:
        # Under the lock.
        if not match:
            return Reply(404, 20404, "The requested resource was not found"), {}
        if not self._authorized(match, auth):
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
        now = time.time()
        sent_at = now if self.send_at_once else None
        message = {**record, "sid": "SM" + uuid.uuid4().hex, "created_at": now, "sent_at": sent_at}
        self._messages.append(message)
        if len(self._messages) == self._hold_at:
            self._held_sid = message["sid"]
        self._changed.notify_all()
        resource = _resource(message)
        # Twilio answers a create before it sends: no date_sent yet.
        status = "accepted" if form.get("MessagingServiceSid") else "queued"
        return None, {**resource, "status": status, "date_sent": None}

    def _authorized(self, match, auth) -> bool:
        return auth is not None and auth[0] == match["sid"] and not (self.auth_token and auth[1] != self.auth_token)

    def _list(self, path: str, query: dict, auth: tuple[str, str] | None) -> tuple[Reply | None, dict]:
        """Record one GET of the Messages list and answer it with a page."""
        match = MESSAGES_PATH.match(path)
        record = {**query, "path": path, "method": "GET", "auth": auth, "account_sid": match["sid"] if match else None}
        with self._lock:
            self._requests.append(record)
            if not match:
                return Reply(404, 20404, "The requested resource was not found"), {}
            if not self._authorized(match, auth):
                return Reply(401, 20003, "Authenticate"), {}
            if self._next:
                return self._next.pop(0), {}
            mine = [m for m in self._messages if m["account_sid"] == match["sid"]]
        try:
            wanted = _filter(mine, query)
            page_size = min(int(query.get("PageSize") or 50), 1000)
            page = int(query.get("Page") or 0)
        except ValueError as error:
            return Reply(400, 20001, f"Invalid parameter: {error}"), {}
        if page_size < 1 or page < 0:
            return Reply(400, 20001, "Invalid paging parameter"), {}
        wanted.sort(key=lambda m: m["created_at"], reverse=True)
        start = page * page_size
        chunk = wanted[start:start + page_size]
        filters = {key: value for key, value in query.items() if key not in ("Page", "PageSize", "PageToken")}

        def page_uri(number: int) -> str:
            params = {**filters, "PageSize": page_size, "Page": number}
            if number:
                params["PageToken"] = f"PA{number}"
            return f"{path}?{urlencode(params)}"

        return None, {
            "messages": [_resource(m) for m in chunk],
            "first_page_uri": page_uri(0),
            "next_page_uri": page_uri(page + 1) if start + page_size < len(wanted) else None,
            "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            "page": page,
            "page_size": page_size,
            "start": start,
            "end": start + len(chunk) - 1 if chunk else start,
            "uri": page_uri(page),
        }


def _rfc2822(timestamp: float | None) -> str | None:
    # Twilio's own format: "Wed, 18 Aug 2010 20:01:40 +0000".
    if timestamp is None:
        return None
    return email.utils.format_datetime(dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).replace(microsecond=0))


def _resource(message: dict) -> dict:
    """A Message resource as Twilio shows it."""
    sent = message["sent_at"] is not None
    service = message.get("MessagingServiceSid")
    return {
        "sid": message["sid"],
        "account_sid": message["account_sid"],
        "to": message["To"],
        "from": message.get("From"),
        "messaging_service_sid": service,
        "body": message["Body"],
        "status": "sent" if sent else ("accepted" if service else "queued"),
        "num_segments": "1",
        "num_media": "0",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "price": None,
        "price_unit": "USD",
        "error_code": None,
        "error_message": None,
        "date_created": _rfc2822(message["created_at"]),
        "date_updated": _rfc2822(message["sent_at"] or message["created_at"]),
        "date_sent": _rfc2822(message["sent_at"]),
        "uri": f"{message['path'][:-5]}/{message['sid']}.json",
        "subresource_uris": {"media": f"{message['path'][:-5]}/{message['sid']}/Media.json"},
    }


def _instant(value: str, *, end_of_day: bool = False) -> float:
    """A DateSent value: YYYY-MM-DD (GMT) or an ISO 8601 time, as a Unix time."""
    if len(value) == 10:
        day = dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.timezone.utc)
        return (day + dt.timedelta(days=1) if end_of_day else day).timestamp() - (1e-6 if end_of_day else 0)
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.timestamp()


def _filter(messages: list[dict], query: dict) -> list[dict]:
    """The messages that pass the list's filters. The client sends
    date_sent_after as `DateSent>=<time>`: the key "DateSent>", the "=" being
    the separator. Twilio's times have whole seconds."""
    wanted = list(messages)
    if query.get("To"):
        wanted = [m for m in wanted if m["To"] == query["To"]]
    if query.get("From"):
        wanted = [m for m in wanted if m.get("From") == query["From"]]
    if query.get("DateSent>"):
        after = _instant(query["DateSent>"])
        wanted = [m for m in wanted if m["sent_at"] is not None and int(m["sent_at"]) >= after]
    if query.get("DateSent<"):
        before = _instant(query["DateSent<"], end_of_day=True)
        wanted = [m for m in wanted if m["sent_at"] is not None and int(m["sent_at"]) <= before]
    if query.get("DateSent"):
        day = _instant(query["DateSent"][:10])
        wanted = [m for m in wanted if m["sent_at"] is not None and day <= m["sent_at"] < day + 86400]
    return wanted


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
            delay = fake._delay()
            reply, resource = fake._answer(self.path, form, _basic_auth(self.headers.get("Authorization", "")))
            fake._hold(resource)
            self._reply(reply, resource, delay, 201)

        def _reply(self, reply: Reply | None, resource: dict, delay: float, status: int):
            if delay:
                time.sleep(delay)
            if reply is not None and reply.disconnect:
                self.close_connection = True
                self.connection.close()
                return
            if reply is None:
                self._send(status, resource)
            else:
                body = {"code": reply.code, "message": reply.message, "status": reply.status,
                        "more_info": f"https://www.twilio.com/docs/errors/{reply.code}"}
                headers = {"Retry-After": str(reply.retry_after)} if reply.retry_after is not None else {}
                self._send(reply.status, body, headers)

        def do_GET(self):
            # For a fake running in another process (python -m tests.fake_twilio).
            if self.path == "/_fake/messages":
                self._send(200, {"messages": fake.messages})
                return
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
            delay = fake._delay()
            reply, page = fake._list(url.path, query, _basic_auth(self.headers.get("Authorization", "")))
            self._reply(reply, page, delay, 200)

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
