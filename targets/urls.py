"""Staff pages for targets: dashboards (targets.views) and the annual report (targets.urls_reports)."""

from django.urls import include, path

app_name = "targets"

urlpatterns = [
    path("reports/", include("targets.urls_reports")),
]
