"""Back office for visit totals: read-only views of the kept totals (by day and
by month) and of attendance entered by hand (with its corrections).

Nothing here can be added, changed or deleted: totals change only through
attendance.services (and `manage.py rebuild_visit_counts`), so a total and its
cause always agree, and the history of hand entries stays on record.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from attendance.models import ManualAttendance, VisitCount, VisitMonth


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(VisitCount)
class VisitCountAdmin(ReadOnlyAdmin):
    list_display = ["day", "venue", "occurrence", "category", "audience", "checked_in", "walk_ins", "manual", "visits"]
    list_filter = [("venue", admin.RelatedOnlyFieldListFilter), "day", "category", "audience"]
    date_hierarchy = "day"
    list_select_related = ["venue", "occurrence__programme__event"]
    ordering = ["-day", "venue", "occurrence"]
    search_fields = ["venue__name"]

    @admin.display(description=_("visits"))
    def visits(self, row):
        return row.visits


class CurrentFilter(admin.SimpleListFilter):
    title = _("current entry")
    parameter_name = "current"

    def lookups(self, request, model_admin):
        return [("yes", _("Current")), ("no", _("Corrected (superseded)"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(superseded_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(superseded_at__isnull=False)
        return queryset


@admin.register(ManualAttendance)
class ManualAttendanceAdmin(ReadOnlyAdmin):
    list_display = ["occurrence", "venue", "count", "audience", "note", "entered_by", "entered_at", "superseded_at"]
    list_filter = [CurrentFilter, ("occurrence__venue", admin.RelatedOnlyFieldListFilter), "entered_at"]
    date_hierarchy = "entered_at"
    list_select_related = ["occurrence__venue", "occurrence__programme__event", "entered_by"]
    search_fields = ["occurrence__venue__name", "note"]

    @admin.display(description=_("venue"), ordering="occurrence__venue__name")
    def venue(self, entry):
        return entry.occurrence.venue


@admin.register(VisitMonth)
class VisitMonthAdmin(ReadOnlyAdmin):
    list_display = ["month", "venue", "category", "audience", "checked_in", "walk_ins", "manual", "visits"]
    list_filter = [("venue", admin.RelatedOnlyFieldListFilter), "month", "category", "audience"]
    list_select_related = ["venue"]
    ordering = ["-month", "venue"]
    search_fields = ["venue__name"]

    @admin.display(description=_("visits"))
    def visits(self, row):
        return row.visits
