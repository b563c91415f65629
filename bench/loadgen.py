"""A light HTTP load generator: N threads, each with its own http.client
connection (kept alive when the server allows it), taking work items from one
shared queue, so faster clients take more. Latency is measured around each
request by the client, queueing at the server included.

Deliberately small: the server and the generator share two cores, and a
thread per client blocked in a socket read costs nearly nothing.
"""

import gc
import http.client
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable


@dataclass
class Sample:
    item: Any
    start: float
    end: float
    status: int
    error: str | None  # None when the answer was the one expected

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000


@dataclass
class RunResult:
    name: str
    concurrency: int
    samples: list[Sample] = field(default_factory=list)
    setup_errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return len(self.samples)

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if s.error]

    @property
    def duration(self) -> float:
        if not self.samples:
            return 0.0
        return max(s.end for s in self.samples) - min(s.start for s in self.samples)

    @property
    def throughput(self) -> float:
        return self.requests / self.duration if self.duration else 0.0

    def percentile(self, share: float) -> float:
        return percentile([s.ms for s in self.samples], share)

    def error_summary(self, limit: int = 3) -> str:
        kinds: dict[str, int] = {}
        for sample in self.errors:
            kinds[sample.error] = kinds.get(sample.error, 0) + 1
        return "; ".join(f"{n}× {kind}" for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:limit])


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


class Client:
    """What one simulated scanner or citizen does. Subclass and override."""

    def prepare(self, conn: http.client.HTTPConnection) -> None:
        """Untimed set-up on this client's connection (e.g. fetch a CSRF cookie)."""

    def request(self, item) -> tuple[str, str, bytes | None, dict]:
        """(method, path, body, headers) for one work item."""
        raise NotImplementedError

    def verdict(self, item, status: int, headers: http.client.HTTPMessage, body: bytes) -> str | None:
        """None when the answer is the expected one, else a short error label."""
        return None if 200 <= status < 400 else f"HTTP {status}"


def run(
    name: str,
    *,
    host: str,
    port: int,
    concurrency: int,
    items: Iterable,
    client_factory: Callable[[], Client],
    time_cap: float | None = None,
    interval: float | None = None,
    timeout: float = 30.0,
) -> RunResult:
    """Run `items` through `concurrency` clients; stop taking new items after
    `time_cap` seconds. Without `interval` each client sends its next request as
    soon as it has the answer (closed loop: the server's capacity is measured);
    with it, each client sends one request every `interval` seconds, the
    clients evenly staggered (a paced door: latency without self-made queues).
    Returns every request's timing and verdict."""
    result = RunResult(name=name, concurrency=concurrency)
    queue = iter(items)
    queue_lock = threading.Lock()
    results_lock = threading.Lock()
    started_at: list[float] = []
    ready = threading.Barrier(concurrency + 1, action=lambda: started_at.append(time.perf_counter()))
    indexes = iter(range(concurrency))

    def take():
        with queue_lock:
            if time_cap is not None and started_at and time.perf_counter() - started_at[0] > time_cap:
                return None
            return next(queue, None)

    def worker():
        with queue_lock:
            index = next(indexes)
        client = client_factory()
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
        try:
            client.prepare(conn)
        except Exception as error:  # reported, and this client sits the run out
            with results_lock:
                result.setup_errors.append(f"{type(error).__name__}: {error}")
            ready.wait()
            return
        ready.wait()
        mine = []
        next_at = started_at[0] + (index * interval / concurrency if interval else 0.0)
        while True:
            if interval:
                pause = next_at - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                next_at += interval
            if (item := take()) is None:
                break
            method, path, body, headers = client.request(item)
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                end = time.perf_counter()
                error = client.verdict(item, response.status, response.headers, payload)
                status = response.status
            except Exception as exc:  # a reset or a timeout is an error of this request
                end = time.perf_counter()
                conn.close()
                status, error = 0, f"{type(exc).__name__}"
            mine.append(Sample(item, start, end, status, error))
        conn.close()
        with results_lock:
            result.samples.extend(mine)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    # The generator's own garbage collector stays off while it measures: a full
    # collection here stops every client thread at once (up to 222 ms were seen
    # on the shared two cores), and the pause would be counted as the server's.
    gc.collect()
    gc.disable()
    try:
        for thread in threads:
            thread.start()
        ready.wait()
        for thread in threads:
            thread.join()
    finally:
        gc.enable()
    result.samples.sort(key=lambda s: s.start)
    return result
