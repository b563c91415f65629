from django.urls import path
from rest_framework.routers import DefaultRouter

from attendance import api as door
from events.api import PublicOccurrenceViewSet, StaffProgrammeViewSet
from targets import api as targets
from venues.api import VenueViewSet

router = DefaultRouter()
router.register("venues", VenueViewSet, basename="venue")
router.register("occurrences", PublicOccurrenceViewSet, basename="occurrence")
router.register("staff/programmes", StaffProgrammeViewSet, basename="staff-programme")

# The door's endpoints first: a scan is the most frequent request, and the
# router's patterns (each with a format-suffix twin) are tried in order.
urlpatterns = [
    path("door/scan", door.DoorScanView.as_view(), name="door-scan"),
    path("door/undo", door.DoorUndoView.as_view(), name="door-undo"),
    path("door/walkins", door.DoorWalkInView.as_view(), name="door-walkins"),
    path("door/walkins/undo", door.DoorWalkInUndoView.as_view(), name="door-walkins-undo"),
    path("door/sync", door.DoorSyncView.as_view(), name="door-sync"),
    path("door/today", door.DoorTodayView.as_view(), name="door-today"),
    path("targets/totals", targets.VisitTotalsView.as_view(), name="targets-totals"),
    path("targets/progress", targets.IndicatorProgressView.as_view(), name="targets-progress"),
    *router.urls,
]
