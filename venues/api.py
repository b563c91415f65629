"""Public, read-only API for venues."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny

from venues.models import AdminUnit, Venue
from venues.selectors import venues_in_unit_q


class AdminUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = AdminUnit
        fields = ["code", "name", "level"]


class VenueSerializer(serializers.ModelSerializer):
    admin_unit = AdminUnitSerializer(read_only=True)
    province = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Venue
        fields = [
            "slug", "name", "kind", "tier", "ownership", "admin_unit", "province", "address", "phone", "email",
            "website", "latitude", "longitude", "opening_hours", "accessibility", "description", "url",
        ]

    @staticmethod
    def _absolute(request, path: str) -> str:
        return request.build_absolute_uri(path) if request else path

    @extend_schema_field(AdminUnitSerializer)
    def get_province(self, venue):
        return AdminUnitSerializer(venue.admin_unit.province).data

    def get_url(self, venue) -> str:
        return self._absolute(self.context.get("request"), venue.get_absolute_url())


@extend_schema_view(
    list=extend_schema(
        summary="Active venues",
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, enum=Venue.Kind.values, description="Kind of venue."),
            OpenApiParameter("tier", OpenApiTypes.STR, enum=Venue.Tier.values, description="Tier of venue."),
            OpenApiParameter(
                "unit", OpenApiTypes.STR,
                description="Code of an administrative unit; a province includes its communes.",
            ),
        ],
    ),
    retrieve=extend_schema(summary="One venue"),
)
class VenueViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = VenueSerializer
    permission_classes = [AllowAny]
    lookup_field = "slug"

    def get_queryset(self):
        venues = Venue.objects.filter(is_active=True).select_related("admin_unit__parent").order_by("name", "pk")
        if self.action != "list":
            return venues
        params = self.request.query_params
        for name, choices in (("kind", Venue.Kind.values), ("tier", Venue.Tier.values)):
            value = params.get(name)
            if value:
                if value not in choices:
                    raise ValidationError({name: [_("Unknown value: %(value)s.") % {"value": value}]})
                venues = venues.filter(**{name: value})
        code = params.get("unit")
        if code:
            unit = AdminUnit.objects.filter(code=code).first()
            if unit is None:
                raise ValidationError({"unit": [_("Unknown administrative unit: %(code)s.") % {"code": code}]})
            venues = venues.filter(venues_in_unit_q(unit)).distinct()
        return venues
