"""Settings come from the environment and are safe by default."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Variables the test settings export into this process; a child must not inherit them.
SETTINGS_ENV = {
    "DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "SECURE_SSL_REDIRECT", "SECURE_COOKIES", "TESTING", "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def run_python(*args, **env):
    """Python in a child process with this environment minus the test settings, plus `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    clean.update(env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


def run_manage(*args, **env):
    return run_python("manage.py", *args, **env)


def test_secret_key_is_required_when_debug_is_off():
    result = run_manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="0", SECRET_KEY="a-long-random-production-secret-for-the-check-0123456789abcdef!",
        ALLOWED_HOSTS="events.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_development_runs_eager_without_a_broker():
    result = run_manage(
        "shell", "-c",
        "from django.conf import settings; print(settings.CELERY_TASK_ALWAYS_EAGER, settings.TIME_ZONE, settings.LANGUAGE_CODE, settings.USE_TZ)",
        DEBUG="1", CELERY_BROKER_URL="", REDIS_URL="",
    )
    assert result.stdout.split()[-4:] == ["True", "Asia/Ho_Chi_Minh", "vi", "True"], result.stderr


def test_a_broker_url_turns_eager_off():
    result = run_manage(
        "shell", "-c", "from django.conf import settings; print(settings.CELERY_TASK_ALWAYS_EAGER)",
        DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.stdout.split()[-1] == "False", result.stderr


def test_the_wsgi_application_loads_its_views_and_freezes_them_out_of_the_collectors_way():
    # Given a fresh server process, when it imports the WSGI application,
    # then every view module is already loaded and its objects are frozen
    # (gc.freeze), so full collections do not walk them while serving.
    probe = (
        "import gc, sys; before = gc.get_freeze_count(); import config.wsgi; "
        "print(before, gc.get_freeze_count(), 'attendance.api' in sys.modules, 'events.views_public' in sys.modules)"
    )
    result = run_python("-c", probe, DEBUG="1", CELERY_BROKER_URL="", REDIS_URL="")
    before, frozen, api_loaded, views_loaded = result.stdout.split()[-4:]
    assert (before, api_loaded, views_loaded) == ("0", "True", "True"), result.stderr
    assert int(frozen) > 50_000, result.stdout  # Django, the apps and their libraries
