"""Staff pages for targets: dashboards (targets.views) and the annual report (targets.urls_reports)."""

from django.urls import include, path

from targets import views, views_manual

app_name = "targets"

urlpatterns = [
    path("", views.home, name="home"),
    path("venue/<slug:slug>/", views.venue_dashboard, name="venue_dashboard"),
    path("unit/<str:code>/", views.unit_dashboard, name="unit_dashboard"),
    path("unit/<str:code>/manual/", views_manual.manual_values, name="manual_values"),
    path("reports/", include("targets.urls_reports")),
]
