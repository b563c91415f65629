from django.urls import path

from attendance import views_door

app_name = "door"
urlpatterns = [
    path("", views_door.venue_picker, name="venues"),
    # Served from /door/ so its scope covers every scanner page.
    path("sw.js", views_door.service_worker, name="sw"),
    path("<slug:slug>/", views_door.scanner, name="scanner"),
]
