"""URLs of the annual report pages (included by targets.urls under the `targets` namespace)."""

from django.urls import path

from targets import views_reports as views

urlpatterns = [
    path("", views.report_index, name="report_index"),
    path("runs/<int:pk>/progress/", views.report_progress, name="report_progress"),
    path("runs/<int:pk>/<str:fmt>/", views.report_download, name="report_download"),
    path("<str:code>/<int:year>/", views.report_unit, name="report_unit"),
    path("<str:code>/<int:year>/start/", views.report_start, name="report_start"),
    path("<str:code>/<int:year>/print/", views.report_print, name="report_print"),
]
