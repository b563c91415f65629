"""Settings of the door benchmark (bench.door): the site's own settings, read
from the environment as in production, with three changes a benchmark needs.

- The citizen throttles (per IP and per phone) are lifted: the burst comes from
  one address, and measuring it must not be measuring the throttle.
- The URLconf adds the bare baseline endpoint (bench.urls_door).
- Static files are served from plain storage, so no collectstatic manifest is
  needed for the register form's {% static %} tags.
"""

from config.settings import *  # noqa: F401,F403

ATTENDANCE_THROTTLES = {
    "register_ip": (1_000_000, 600),
    "register_phone": (1_000_000, 600),
    "lookup_ip": (1_000_000, 600),
    "lookup_phone": (1_000_000, 3600),
}

ROOT_URLCONF = "bench.urls_door"

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
