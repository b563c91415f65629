"""Settings of the reminders benchmark's workers when it is run with
--db-reuse-max N (N > 0): the site's own settings (config.settings, read from
the environment as in production) plus CELERY_DB_REUSE_MAX.

Celery's Django fix-up closes the database connection before and after every
task unless CELERY_DB_REUSE_MAX is set; it reads the value from the app's
configuration (the Django settings), not from the environment, hence this
module. BENCH_CELERY_DB_REUSE_MAX carries the number.
"""

import os

from config.settings import *  # noqa: F401,F403

CELERY_DB_REUSE_MAX = int(os.environ.get("BENCH_CELERY_DB_REUSE_MAX", "0")) or None
