"""Request and response shapes of the targets API (targets.api), documented in
the OpenAPI schema."""

from rest_framework import serializers

from targets.models import Indicator


class TargetsErrorSerializer(serializers.Serializer):
    """The one error shape of the targets API (as the door API's)."""

    code = serializers.CharField(help_text="Stable, machine-readable reason (required, invalid, unknown_unit …).")
    message = serializers.CharField(help_text="What went wrong, in the request's language (Accept-Language).")
    field = serializers.CharField(allow_null=True, help_text="The query parameter at fault, if any.")


class UnitYearParamsSerializer(serializers.Serializer):
    unit = serializers.CharField(
        max_length=20, help_text="Code of an administrative unit (a province includes its communes)."
    )
    year = serializers.IntegerField(min_value=2000, max_value=2100, help_text="Calendar year (local time).")


class UnitSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField()


class VenueVisitsSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    tier = serializers.CharField()
    visits = serializers.IntegerField(help_text="Visits in the year.")
    months = serializers.ListField(
        child=serializers.IntegerField(), min_length=12, max_length=12, help_text="Visits of January … December."
    )


class CategoryVisitsSerializer(serializers.Serializer):
    category = serializers.CharField(help_text='Activity category; "" for visits not tied to a dated activity.')
    label = serializers.CharField()
    visits = serializers.IntegerField()


class AudienceVisitsSerializer(serializers.Serializer):
    audience = serializers.CharField(help_text='Audience recorded at the door; "" when not recorded.')
    label = serializers.CharField()
    visits = serializers.IntegerField()


class VisitTotalsSerializer(serializers.Serializer):
    unit = UnitSerializer()
    year = serializers.IntegerField()
    visits = serializers.IntegerField(help_text="Visits at the unit's venues in the year.")
    months = serializers.ListField(child=serializers.IntegerField(), min_length=12, max_length=12)
    by_venue = VenueVisitsSerializer(many=True)
    by_category = CategoryVisitsSerializer(many=True)
    by_audience = AudienceVisitsSerializer(many=True)


def _number(help_text: str = "", **kwargs):
    return serializers.DecimalField(
        max_digits=14, decimal_places=2, coerce_to_string=False, help_text=help_text, **kwargs
    )


class IndicatorProgressSerializer(serializers.Serializer):
    indicator = serializers.ChoiceField(choices=Indicator.choices)
    indicator_label = serializers.CharField()
    label = serializers.CharField(help_text="What is counted, for indicators entered by hand.", allow_blank=True)
    category = serializers.CharField(allow_blank=True, help_text="Category of activities counted (ACTIVITIES).")
    scope = serializers.CharField(help_text="The venue or the set of venues the target applies to.")
    per_venue = serializers.BooleanField(help_text="The target is for each venue of the set.")
    year = serializers.IntegerField()
    base_year = serializers.IntegerField(
        allow_null=True, help_text="For growth: the average yearly growth since this year; null: over the previous year."
    )
    target = _number("The target (the lower end of a range).")
    value_max = _number("The upper end of a range, or null.", allow_null=True)
    result = _number(
        "The measured result, or null when nothing could be measured. A percentage for shares and growth, "
        "and for per-venue targets (the share of venues meeting it).",
        allow_null=True,
    )
    result_is_percent = serializers.BooleanField()
    status = serializers.ChoiceField(
        choices=["met", "not_met", "on_track", "at_risk", "behind", "no_data"],
        help_text="A finished year: met / not_met; the current year: on_track / at_risk / behind by pace.",
    )
    status_label = serializers.CharField()
    source = serializers.CharField(help_text="The document that set the target.")


class IndicatorProgressListSerializer(serializers.Serializer):
    unit = UnitSerializer()
    year = serializers.IntegerField()
    results = IndicatorProgressSerializer(many=True)
