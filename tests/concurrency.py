"""Run work in threads that start together, each on its own database connection."""

import threading

from django.db import connection


def at_once(work, inputs) -> list[Exception]:
    """Call `work(item)` for each of `inputs`, each in its own thread (so on its own
    database connection, closed after), all released at the same moment; wait for
    them all and return the errors they raised, in no particular order."""
    inputs = list(inputs)
    barrier, errors = threading.Barrier(len(inputs)), []

    def run(item):
        try:
            barrier.wait()
            work(item)
        except Exception as error:  # noqa: BLE001 - any error fails the caller's test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in inputs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
