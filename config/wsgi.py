"""The WSGI application (gunicorn in production: README, "Production").

Once the application and every module its URLs reach are loaded, those objects
live as long as the process, so they are moved out of the garbage collector's
sight (gc.freeze, after one collection, so that no garbage is kept for good):
otherwise each full collection walks all of them again, and one such walk
stalled a request for 96-228 ms on two shared cores (bench.door).
"""

import gc
import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
import_module(settings.ROOT_URLCONF)  # its include()s import every view module now, not on the first request
gc.collect()
gc.freeze()
