"""Hands the messages a web process records to the workers, a batch at a time.

Publishing one Celery task costs a web process 0.5-0.6 ms of CPU on Redis, a
tenth of a registration (building the task message, a Redis client, a round
trip). In a burst (a popular class opening its registration) the same work is
shared: the first message recorded after a quiet moment wakes this process's
courier thread, which waits LINGER seconds for the messages recorded meanwhile
and hands them all over as one task (notifications.tasks.message_send_many_task,
which claims and sends each exactly as message_send_task would). A lone message
goes as its own message_send_task, LINGER later than it would have.

Nothing depends on the courier for delivery: a message is a row, committed
before it is given to the courier, and the outbox sweep hands over any pending
row that no worker took (a process killed between commit and hand-over, the
broker down). The courier only makes the common case cheap. It flushes what it
holds when the process exits normally (gunicorn's workers do, on a restart or a
stop), and a forked child starts empty: what the parent held is the parent's.

Celery workers and eager mode (tests, `make run`) do not use it; see
notifications.services._hand_over.
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Long enough for a burst's registrations (tens per second per process) to share
# a task, short enough not to matter to an SMS.
LINGER = 0.05


class Courier:
    """Collects message ids and calls `send(ids)` from its own thread, at most
    once per `linger` seconds, with every id collected since the last call, in
    the order they were added. Thread-safe; `flush()` sends what is held now."""

    def __init__(self, send: Callable[[list[int]], object], *, linger: float = LINGER):
        self._send = send
        self._linger = linger
        self._reset()
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self.flush)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._held: list[int] = []
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, message_id: int) -> None:
        with self._lock:
            self._held.append(message_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="notifications-courier", daemon=True)
                self._thread.start()
        self._wake.set()

    @property
    def held(self) -> int:
        """How many ids wait to be sent."""
        return len(self._held)

    def flush(self) -> int:
        """Send what is held now, in this thread; how many ids were sent."""
        with self._lock:
            ids, self._held = self._held, []
        if ids:
            try:
                self._send(ids)
            except Exception:  # noqa: BLE001 - the rows stay pending; the outbox sweep hands them over
                logger.exception("Could not hand over messages %s; the outbox sweep will", ids)
        return len(ids)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self._linger)
            # Cleared before the flush takes the ids: one added from here on wakes the next round.
            self._wake.clear()
            self.flush()
