"""Shared fixtures: a province with two communes, two venues, and a user for
every role, so each staff view is tested for who may and may not see it:
the owner (manager of the venue), a teammate (door staff of the same venue),
an outsider (manager of another venue) and the province's officer."""

import os
import socket
from urllib.parse import urlparse

import pytest

from tests.factories import make_commune, make_province, make_user, make_venue
from venues.models import StaffRole


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config, items):
    database_url = os.getenv("DATABASE_URL", "")
    redis_url = os.getenv("REDIS_URL", "")
    on_postgres = database_url.startswith(("postgres://", "postgresql://"))
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://..."))
        if "redis" in item.keywords and not redis_url:
            item.add_marker(pytest.mark.skip(reason="needs Redis: set REDIS_URL=redis://..."))


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the site's default language (vi), whatever language an
    earlier test's request left active in this thread."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


def pytest_sessionstart(session):
    # Set but unreachable is a failure, never a skip.
    redis_url = os.getenv("REDIS_URL", "")
    if redis_url and not _reachable(redis_url, 6379):
        raise pytest.UsageError(f"REDIS_URL is set but {redis_url} is unreachable")
    database_url = os.getenv("DATABASE_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")) and not _reachable(database_url, 5432):
        raise pytest.UsageError(f"DATABASE_URL is set but {database_url} is unreachable")


@pytest.fixture
def province(db):
    return make_province(name="Tỉnh Hưng Yên")


@pytest.fixture
def commune(province):
    return make_commune(province=province, name="Phường Phố Hiến")


@pytest.fixture
def other_province(db):
    return make_province(name="Tỉnh Bắc Ninh")


@pytest.fixture
def venue(commune):
    return make_venue(admin_unit=commune, name="Thư viện tỉnh Hưng Yên", slug="thu-vien-hung-yen")


@pytest.fixture
def other_venue(other_province):
    return make_venue(
        admin_unit=other_province, name="Bảo tàng tỉnh Bắc Ninh", slug="bao-tang-bac-ninh", kind="museum"
    )


@pytest.fixture
def owner(venue):
    return make_user(username="owner", role=StaffRole.Role.MANAGER, venue=venue)


@pytest.fixture
def teammate(venue):
    return make_user(username="teammate", role=StaffRole.Role.DOOR, venue=venue)


@pytest.fixture
def outsider(other_venue):
    return make_user(username="outsider", role=StaffRole.Role.MANAGER, venue=other_venue)


@pytest.fixture
def officer(province):
    return make_user(username="officer", role=StaffRole.Role.OFFICER, admin_unit=province)


@pytest.fixture
def citizen(db):
    """A logged-in user with no staff role at all."""
    return make_user(username="citizen")


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real Celery worker process on Redis, reading the test database.

    Yields the name of a queue private to this test; send tasks with
    `task.apply_async(..., queue=queue)`.
    """
    import subprocess
    import sys
    import time
    import uuid
    from pathlib import Path

    from django.db import connection

    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    root = Path(__file__).resolve().parent.parent
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool=solo",
         "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO", "-n", f"{queue}@%h"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    from config.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        replies = app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=1)
        if replies:
            break
        if worker.poll() is not None:
            raise RuntimeError("Celery worker exited:\n" + worker.stdout.read())
    else:
        worker.kill()
        raise RuntimeError("Celery worker did not start in 60 s")
    yield queue
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
