"""Back office for the plans' targets; results entered by hand are shown as read-only history
(they are entered through targets.services.manual_value_enter, which keeps every correction)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from targets.models import ManualValue, Target


class ManualValueInline(admin.TabularInline):
    """Every value entered for a MANUAL target, newest first, the superseded ones included."""

    model = ManualValue
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["value", "note", "entered_by", "entered_at", "superseded_at"]
    readonly_fields = fields
    ordering = ["-entered_at", "-pk"]
    verbose_name_plural = _("results entered by hand (history)")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["indicator", "year", "scope", "value", "value_max", "per_venue", "category", "source_document"]
    list_filter = ["year", "indicator", "venue_kind", "venue_tier", "per_venue", "admin_unit__level", "category"]
    search_fields = ["label", "source_document", "preset", "admin_unit__name", "admin_unit__code", "venue__name"]
    list_select_related = ["admin_unit", "venue"]
    autocomplete_fields = ["venue", "admin_unit"]
    filter_horizontal = ["commemorative_days"]
    readonly_fields = ["preset", "created_by", "created_at", "updated_at"]
    inlines = [ManualValueInline]
    fieldsets = [
        (_("Scope"), {"fields": ["venue", "admin_unit", "venue_kind", "venue_tier", "per_venue"]}),
        (None, {"fields": ["year", "indicator", "value", "value_max", "base_year", "category", "commemorative_days",
                           "label"]}),
        (_("Source"), {"fields": ["source_document", "preset", "created_by", "created_at", "updated_at"]}),
    ]

    @admin.display(description=_("scope"))
    def scope(self, target):
        return target.scope_label

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
