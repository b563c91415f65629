"""Read API for events: public upcoming occurrences, and the programmes of the
venues a staff user (or their token) may view."""

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated

from common.timeutil import local_datetime
from events.models import Category, Occurrence, Programme
from venues.models import Venue
from venues.selectors import VIEW, is_staff_member, venues_for_user


class IsStaffMember(BasePermission):
    """A user with a staff role somewhere (or a superuser)."""

    def has_permission(self, request, view):
        return is_staff_member(request.user)


class VenueRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Venue
        fields = ["slug", "name"]


class ProgrammeRefSerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="event.title")
    audiences = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Programme
        fields = ["id", "title", "category", "audiences", "language", "registration_required"]


class OccurrenceSerializer(serializers.ModelSerializer):
    programme = ProgrammeRefSerializer(read_only=True)
    venue = VenueRefSerializer(read_only=True)
    moved = serializers.BooleanField(read_only=True)
    seats_left = serializers.IntegerField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()
    ics_url = serializers.SerializerMethodField()

    class Meta:
        model = Occurrence
        fields = [
            "id", "programme", "venue", "start", "end", "cancelled", "moved", "capacity", "seats_left",
            "url", "ics_url",
        ]

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, occurrence) -> str:
        return self._absolute(occurrence.get_absolute_url())

    def get_ics_url(self, occurrence) -> str:
        return self._absolute(reverse("feeds:occurrence", args=[occurrence.pk]))


class OccurrenceFilterSerializer(serializers.Serializer):
    venue = serializers.SlugField(required=False, help_text="Slug of a venue.")
    category = serializers.ChoiceField(choices=Category.choices, required=False)
    date_from = serializers.DateField(required=False, help_text="First day (yyyy-mm-dd, local time).")
    date_to = serializers.DateField(required=False, help_text="Last day, included (yyyy-mm-dd, local time).")
    include_cancelled = serializers.BooleanField(required=False, default=False)

    def validate(self, data):
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise ValidationError({"date_to": [_("The last day is before the first day.")]})
        return data


@extend_schema_view(
    list=extend_schema(
        summary="Upcoming public occurrences",
        description="Dates of published programmes that have not ended, soonest first.",
        parameters=[OccurrenceFilterSerializer],
    ),
    retrieve=extend_schema(summary="One public occurrence"),
)
class PublicOccurrenceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = OccurrenceSerializer
    permission_classes = [AllowAny]

    def get_queryset(self):
        occurrences = (
            Occurrence.objects.public()
            .select_related("programme__event", "venue")
            .prefetch_related("programme__audiences")
            .order_by("start", "pk")
        )
        if self.action != "list":
            return occurrences
        params = OccurrenceFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        occurrences = occurrences.upcoming()
        if not filters["include_cancelled"]:
            occurrences = occurrences.filter(cancelled=False)
        if filters.get("venue"):
            occurrences = occurrences.filter(venue__slug=filters["venue"])
        if filters.get("category"):
            occurrences = occurrences.filter(programme__category=filters["category"])
        if filters.get("date_from"):
            occurrences = occurrences.filter(start__gte=local_datetime(filters["date_from"], dt.time.min))
        if filters.get("date_to"):
            day_after = filters["date_to"] + dt.timedelta(days=1)
            occurrences = occurrences.filter(start__lt=local_datetime(day_after, dt.time.min))
        return occurrences


class StaffProgrammeSerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="event.title")
    description = serializers.CharField(source="event.description")
    start = serializers.DateTimeField(source="event.start", help_text="Start of the first date.")
    end = serializers.DateTimeField(source="event.end", help_text="End of the first date.")
    venue = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    audiences = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    commemorative_day = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    weekdays = serializers.SerializerMethodField()

    class Meta:
        model = Programme
        fields = [
            "id", "title", "description", "venue", "status", "category", "audiences", "language",
            "start", "end", "recurrence", "weekdays", "nth", "repeat_until", "capacity",
            "registration_required", "registration_opens_days", "registration_closes_minutes",
            "max_party_size", "group_bookings", "group_approval_required", "image", "commemorative_day",
            "created_at", "updated_at",
        ]

    def get_weekdays(self, programme) -> list[str]:
        return [day for day in programme.weekdays.split(",") if day]


@extend_schema_view(
    list=extend_schema(
        summary="Programmes of the venues you may view",
        description="Every status (draft, published, cancelled); needs a staff login or token.",
        parameters=[
            OpenApiParameter("venue", str, description="Slug of a venue."),
            OpenApiParameter("status", str, enum=Programme.Status.values),
        ],
    ),
    retrieve=extend_schema(summary="One programme of a venue you may view"),
)
class StaffProgrammeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = StaffProgrammeSerializer
    permission_classes = [IsAuthenticated, IsStaffMember]

    def get_queryset(self):
        programmes = (
            Programme.objects.filter(venue__in=venues_for_user(self.request.user, VIEW))
            .select_related("event", "venue")
            .prefetch_related("audiences")
            .order_by("-created_at", "-pk")
        )
        if self.action != "list":
            return programmes
        params = self.request.query_params
        if params.get("venue"):
            programmes = programmes.filter(venue__slug=params["venue"])
        status = params.get("status")
        if status:
            if status not in Programme.Status.values:
                raise ValidationError({"status": [_("Unknown value: %(value)s.") % {"value": status}]})
            programmes = programmes.filter(status=status)
        return programmes
