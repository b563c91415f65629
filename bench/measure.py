"""Timing pages in-process with Django's test client.

Latency is measured without query capture (capturing adds its own cost); the
query count comes from separate captured requests.
"""

import statistics
import time
from dataclasses import dataclass

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


@dataclass
class Measurement:
    name: str
    url: str
    status: int | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    queries: int | None = None
    queries_vary: bool = False
    size: int = 0
    error: str = ""
    aim_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.status in (200, 304) and not self.error


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _get(client: Client, url: str, headers: dict):
    response = client.get(url, headers=headers)
    return response, _body(response)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def measure(name: str, url: str, *, requests: int, warmups: int, headers: dict | None = None,
            aim_ms: float | None = None) -> Measurement:
    """Time `requests` GETs of `url` after `warmups`. A page that answers with
    an error status or raises is reported as such, not timed."""
    headers = headers or {}
    result = Measurement(name=name, url=url, aim_ms=aim_ms)
    client = Client()
    try:
        for _ in range(warmups):
            response, body = _get(client, url, headers)
        result.status, result.size = response.status_code, len(body)
        if not result.ok:
            return result
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            response, body = _get(client, url, headers)
            timings.append((time.perf_counter() - started) * 1000)
        counts = []
        for _ in range(3):
            with CaptureQueriesContext(connection) as captured:
                _get(client, url, headers)
            counts.append(len(captured))
    except Exception as error:  # a view being written may still break: report it, keep going
        result.error = f"{type(error).__name__}: {error}".splitlines()[0][:120]
        return result
    result.p50_ms = statistics.median(timings)
    result.p95_ms = percentile(timings, 0.95)
    result.queries = max(counts)
    result.queries_vary = len(set(counts)) > 1
    return result


def markdown_table(measurements: list[Measurement], baseline: Measurement) -> str:
    lines = [
        "| endpoint | status | p50 ms | p95 ms | SQL queries | p50 ÷ baseline p50 | aim (p50) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for m in measurements:
        aim = f"≤ {m.aim_ms:.0f} ms" if m.aim_ms else ""
        if not m.ok:
            reason = m.error or {404: "not found (view not there yet?)", 501: "not implemented yet"}.get(
                m.status, "unexpected status"
            )
            status = f"{m.status} – {reason}" if m.status else reason
            lines.append(f"| {m.name} `{m.url}` | {status} | – | – | – | – | {aim} |")
            continue
        ratio = f"{m.p50_ms / baseline.p50_ms:.1f}×" if baseline.ok and baseline.p50_ms else "–"
        if m.aim_ms:
            aim += " ✅" if m.p50_ms <= m.aim_ms else " ❌"
        queries = f"{m.queries}{' (varies)' if m.queries_vary else ''}"
        lines.append(
            f"| {m.name} `{m.url}` | {m.status} | {m.p50_ms:.1f} | {m.p95_ms:.1f} | {queries} | {ratio} | {aim} |"
        )
    return "\n".join(lines)
