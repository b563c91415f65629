# Placeholder views; the iCalendar feeds are being built.
from django.http import HttpResponse


def site_feed(request):
    return HttpResponse(status=501)


def venue_feed(request, slug):
    return HttpResponse(status=501)


def unit_feed(request, code):
    return HttpResponse(status=501)


def category_feed(request, category):
    return HttpResponse(status=501)


def occurrence_ics(request, pk):
    return HttpResponse(status=501)
