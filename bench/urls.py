"""The site's URLs plus the baseline: a bare view that reads one row."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as site_urlpatterns
from venues.models import Venue

BASELINE_PATH = "/__bench__/one-row/"


def one_row(request):
    name = Venue.objects.values_list("name", flat=True).order_by("pk").first()
    return HttpResponse(name or "", content_type="text/plain; charset=utf-8")


urlpatterns = [path(BASELINE_PATH.strip("/") + "/", one_row), *site_urlpatterns]
