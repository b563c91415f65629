"""Read-only API for a provincial portal: visit totals and indicator progress of
a unit and year.

Public, without a token: the figures are aggregates per venue (visits by
month, category and audience, and results against published targets), with no
personal data, the same kind of figures a Department publishes in its reports.
A throttle per client (IP address, or user when logged in or using a token)
keeps a scraper from loading the database: TARGETS_API_RATE (default
120 requests a minute). Errors have one shape, {code, message, field}, with the
message in the request's language (Accept-Language).
"""

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from attendance.models import WalkIn
from events.models import Audience, Category
from targets import indicators
from targets import serializers as s
from targets.report import unit_visit_totals
from targets.texts import status_label
from venues.models import AdminUnit, Venue
from venues.selectors import venues_in_unit_q


class PortalThrottle(SimpleRateThrottle):
    """Requests per client (user id when authenticated, else IP) per period."""

    scope = "targets_portal"

    def get_rate(self):
        return getattr(settings, "TARGETS_API_RATE", "120/min")

    def get_cache_key(self, request, view):
        user = getattr(request, "user", None)
        ident = f"user:{user.pk}" if user is not None and user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _error(code: str, message: str, field: str | None, status: int) -> Response:
    return Response({"code": code, "message": message, "field": field}, status=status)


ERRORS = {
    400: OpenApiResponse(s.TargetsErrorSerializer, description="Bad parameter: {code, message, field}."),
    404: OpenApiResponse(s.TargetsErrorSerializer, description="Unknown administrative unit."),
    429: OpenApiResponse(description="Too many requests; retry after the time in Retry-After."),
}


class UnitYearView(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [PortalThrottle]

    def get(self, request):
        params = s.UnitYearParamsSerializer(data=request.query_params)
        if not params.is_valid():
            if "unit" in params.errors:
                return _error("required", _("Give the code of an administrative unit (unit)."), "unit", 400)
            return _error("invalid", _("The year must be a number between 2000 and 2100."), "year", 400)
        code, year = params.validated_data["unit"], params.validated_data["year"]
        unit = AdminUnit.objects.filter(code=code).select_related("parent").first()
        if unit is None:
            return _error("unknown_unit", _("Unknown administrative unit: %(code)s.") % {"code": code}, "unit", 404)
        return Response(self.answer(unit, year))

    @staticmethod
    def unit_data(unit: AdminUnit) -> dict:
        return {"code": unit.code, "name": unit.name, "level": unit.level}


class VisitTotalsView(UnitYearView):
    @extend_schema(
        summary="Visits of a unit's venues in a year",
        description=(
            "Visits (tickets scanned, walk-ins and attendance entered by hand) of the venues of an administrative "
            "unit in a year: in all, by month, by venue and month, by activity category and by audience. Public."
        ),
        parameters=[s.UnitYearParamsSerializer],
        responses={200: s.VisitTotalsSerializer, **ERRORS},
        tags=["targets"],
    )
    def get(self, request):
        return super().get(request)

    def answer(self, unit: AdminUnit, year: int) -> dict:
        totals = unit_visit_totals(unit, year)
        by_venue_month = totals["by_venue_month"]
        # Active venues, and closed ones whose visits of the year still count.
        venues = (
            Venue.objects.filter(venues_in_unit_q(unit))
            .filter(Q(is_active=True) | Q(pk__in=list(by_venue_month)))
            .distinct()
            .order_by("name", "pk")
        )
        months_total = [0] * 12
        by_venue = []
        for venue in venues:
            months = [by_venue_month.get(venue.pk, {}).get(month, 0) for month in range(1, 13)]
            for index, value in enumerate(months):
                months_total[index] += value
            by_venue.append(
                {"slug": venue.slug, "name": venue.name, "kind": venue.kind, "tier": venue.tier,
                 "visits": sum(months), "months": months}
            )
        categories = dict(Category.choices)
        audiences = {**dict(Audience.Code.choices), **dict(WalkIn.Audience.choices)}
        return {
            "unit": self.unit_data(unit),
            "year": year,
            "visits": sum(months_total),
            "months": months_total,
            "by_venue": by_venue,
            "by_category": [
                {"category": code, "label": str(categories.get(code, _("Not tied to a dated activity"))),
                 "visits": int(visits)}
                for code, visits in sorted(totals["by_category"].items())
            ],
            "by_audience": [
                {"audience": code, "label": str(audiences.get(code, _("Not recorded"))), "visits": int(visits)}
                for code, visits in sorted(totals["by_audience"].items())
            ],
        }


class IndicatorProgressView(UnitYearView):
    @extend_schema(
        summary="Progress of a unit's targets in a year",
        description=(
            "Each target set for the unit and year (targets.indicators.unit_results): the indicator, its scope, "
            "the target or range, the measured result and its status. Public."
        ),
        parameters=[s.UnitYearParamsSerializer],
        responses={200: s.IndicatorProgressListSerializer, **ERRORS},
        tags=["targets"],
    )
    def get(self, request):
        return super().get(request)

    def answer(self, unit: AdminUnit, year: int) -> dict:
        results = []
        for result in indicators.unit_results(unit, year):
            target = result.target
            results.append(
                {
                    "indicator": target.indicator,
                    "indicator_label": str(target.get_indicator_display()),
                    "label": target.label,
                    "category": target.category,
                    "scope": target.scope_label,
                    "per_venue": target.per_venue,
                    "year": target.year,
                    "base_year": target.base_year,
                    "target": target.value,
                    "value_max": target.value_max,
                    "result": result.value,
                    "result_is_percent": result.is_percent,
                    "status": result.status,
                    "status_label": str(status_label(result.status)),
                    "source": target.source_document,
                }
            )
        data = {"unit": self.unit_data(unit), "year": year, "results": results}
        return s.IndicatorProgressListSerializer(data).data
