from django.http import HttpResponse


def ticket_detail(request, secret):
    return HttpResponse(status=501)
