"""The site's URLs plus the door benchmark's baseline: a bare Django view that,
in one transaction, locks one row (SELECT … FOR UPDATE) and inserts one row.

It runs behind the same middleware as every other view (CSRF exempt, no
authentication), so the ratio of a real endpoint to it is the cost of that
endpoint's own work. The row it locks is an events Occurrence (?pk=…): the
same row for every request is the registration pattern (every registration
locks its date), a different row per request is the check-in pattern (every
scan locks its own ticket). The row inserted is a check-in record of a venue
kept for the baseline, so the door's counters are not affected.
"""

import uuid

from django.db import transaction
from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from attendance.models import CheckIn
from config.urls import urlpatterns as site_urlpatterns
from events.models import Occurrence

LOCK_INSERT_PATH = "/__bench__/lock-insert/"


@csrf_exempt
@require_POST
def lock_insert(request):
    try:
        pk = int(request.GET["pk"])
    except (KeyError, ValueError):
        return HttpResponseBadRequest("pk")
    with transaction.atomic():
        occurrence = Occurrence.objects.select_for_update().get(pk=pk)  # one locking SELECT
        row = CheckIn.objects.create(  # one INSERT
            scan_id=uuid.uuid4().hex,
            venue_id=occurrence.venue_id,
            result=CheckIn.Result.UNKNOWN,
            scanned_at=timezone.now(),
        )
    return JsonResponse({"id": row.pk})


urlpatterns = [path(LOCK_INSERT_PATH.strip("/") + "/", lock_insert), *site_urlpatterns]
