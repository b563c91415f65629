from rest_framework.routers import DefaultRouter

from events.api import PublicOccurrenceViewSet, StaffProgrammeViewSet
from venues.api import VenueViewSet

router = DefaultRouter()
router.register("venues", VenueViewSet, basename="venue")
router.register("occurrences", PublicOccurrenceViewSet, basename="occurrence")
router.register("staff/programmes", StaffProgrammeViewSet, basename="staff-programme")

urlpatterns = router.urls
