"""Back office for administrative units, venues and who works where."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from venues.models import AdminUnit, StaffRole, Venue


@admin.register(AdminUnit)
class AdminUnitAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "level", "division_type", "parent", "venue_count"]
    list_filter = ["level", "division_type"]
    search_fields = ["name", "code"]
    # Autocomplete rather than a select box: there are 3,321 communes.
    autocomplete_fields = ["parent", "members"]
    list_select_related = ["parent"]
    fieldsets = [
        (None, {"fields": ["code", "name", "level", "division_type", "parent"]}),
        (_("Reporting group"), {"fields": ["members"], "description": _("Only for reporting groups.")}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_venue_count=Count("venues"))

    @admin.display(description=_("venues"), ordering="_venue_count")
    def venue_count(self, unit):
        return unit._venue_count


class StaffRoleInline(admin.TabularInline):
    """A user's roles, on the user's page."""

    model = StaffRole
    extra = 0
    fields = ["role", "venue", "admin_unit"]
    autocomplete_fields = ["venue", "admin_unit"]


class VenueStaffInline(admin.TabularInline):
    """Managers and door staff, on the venue's page."""

    model = StaffRole
    extra = 0
    fields = ["user", "role"]
    autocomplete_fields = ["user"]
    verbose_name = _("staff member")
    verbose_name_plural = _("staff")

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role":
            # Officers are scoped to an administrative unit, never to a venue.
            kwargs["choices"] = [
                (value, label) for value, label in StaffRole.Role.choices if value != StaffRole.Role.OFFICER
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "tier", "ownership", "admin_unit", "is_active"]
    list_filter = ["kind", "tier", "ownership", "is_active"]
    search_fields = ["name", "slug", "address", "admin_unit__name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["admin_unit"]
    list_select_related = ["admin_unit"]
    inlines = [VenueStaffInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "tier", "ownership", "admin_unit", "is_active"]}),
        (_("Contact"), {"fields": ["address", "phone", "email", "website", "latitude", "longitude"]}),
        (_("Visiting"), {"fields": ["opening_hours", "accessibility", "description"]}),
    ]


@admin.register(StaffRole)
class StaffRoleAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "venue", "admin_unit"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "venue__name", "admin_unit__name"]
    autocomplete_fields = ["user", "venue", "admin_unit"]
    list_select_related = ["user", "venue", "admin_unit"]


User = get_user_model()


class StaffUserAdmin(UserAdmin):
    """Django's user admin, with the user's staff roles on the same page."""

    inlines = [*UserAdmin.inlines, StaffRoleInline]


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)
