from django.urls import path

from notifications import webhooks

app_name = "notifications"
urlpatterns = [
    path("status/", webhooks.status_callback, name="status_callback"),
    path("inbound/", webhooks.inbound, name="inbound"),
]
