"""Back office for programmes, their dates and the commemorative days.

Programmes are created and rescheduled on the staff pages, which build their
django-scheduler events and dates through events.services; here the schedule
is read-only and status changes are actions that call the same services.
"""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from events import services
from events.models import CommemorativeDay, Occurrence, Programme
from events.services import ProgrammeError


def _run(modeladmin, request, objects, action) -> int:
    """Apply a service to each object; report refusals one by one, return successes."""
    done = 0
    for obj in objects:
        try:
            action(obj)
        except ProgrammeError as error:
            modeladmin.message_user(request, f"{obj}: {error.message}", messages.ERROR)
        else:
            done += 1
    return done


def _report(modeladmin, request, message: str, done: int) -> None:
    if done:
        modeladmin.message_user(request, message % {"count": done}, messages.SUCCESS)


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["title", "venue", "category", "status", "recurrence", "first_start", "updated_at"]
    list_filter = ["status", "category", ("venue", admin.RelatedOnlyFieldListFilter), "recurrence", "commemorative_day"]
    search_fields = ["event__title", "venue__name"]
    list_select_related = ["event", "venue"]
    filter_horizontal = ["audiences"]
    readonly_fields = [
        "title", "venue", "status", "staff_page", "first_start", "recurrence", "weekdays", "nth",
        "repeat_until", "capacity", "materialised_until", "created_by", "created_at", "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["title", "venue", "status", "staff_page", "category", "audiences", "language",
                           "commemorative_day", "image"]}),
        (_("Schedule (change it on the staff page)"), {
            "fields": ["first_start", "recurrence", "weekdays", "nth", "repeat_until", "materialised_until"],
        }),
        (_("Registration"), {"fields": ["capacity", "registration_required", "registration_opens_days",
                                         "registration_closes_minutes", "max_party_size", "group_bookings",
                                         "group_approval_required"]}),
        (_("History"), {"fields": ["created_by", "created_at", "updated_at"]}),
    ]
    actions = ["publish", "unpublish", "cancel"]

    def has_add_permission(self, request):
        return False  # the staff pages build the event and its dates

    def has_delete_permission(self, request, obj=None):
        return False  # registrations point at its dates: cancel instead

    @admin.display(description=_("title"), ordering="event__title")
    def title(self, programme):
        return programme.event.title

    @admin.display(description=_("first start"), ordering="event__start")
    def first_start(self, programme):
        return programme.event.start

    @admin.display(description=_("staff page"))
    def staff_page(self, programme):
        url = reverse("staff:programme_detail", args=[programme.pk])
        return format_html('<a href="{}">{}</a>', url, _("Open on the staff pages"))

    @admin.action(description=_("Publish the selected programmes"))
    def publish(self, request, queryset):
        done = _run(self, request, queryset, lambda p: services.programme_publish(programme=p))
        _report(self, request, ngettext("%(count)d programme published.", "%(count)d programmes published.", done), done)

    @admin.action(description=_("Unpublish the selected programmes"))
    def unpublish(self, request, queryset):
        done = _run(self, request, queryset, lambda p: services.programme_unpublish(programme=p))
        _report(self, request, ngettext("%(count)d programme unpublished.", "%(count)d programmes unpublished.", done), done)

    @admin.action(description=_("Cancel the selected programmes and their future dates"))
    def cancel(self, request, queryset):
        done = _run(self, request, queryset, lambda p: services.programme_cancel(programme=p))
        _report(self, request, ngettext("%(count)d programme cancelled.", "%(count)d programmes cancelled.", done), done)


@admin.register(Occurrence)
class OccurrenceAdmin(admin.ModelAdmin):
    """Read-mostly: dates are materialised from the programme's rule; cancel and
    restore go through the services so django-scheduler records them too."""

    list_display = ["programme", "venue", "start", "end", "cancelled", "moved", "capacity", "seats_taken"]
    list_filter = ["cancelled", ("venue", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["programme__event__title", "venue__name"]
    date_hierarchy = "start"
    list_select_related = ["programme__event", "venue"]
    readonly_fields = [
        "programme", "venue", "start", "end", "original_start", "original_end", "cancelled", "capacity",
        "capacity_overridden", "seats_taken", "updated_at",
    ]
    fields = readonly_fields
    actions = ["cancel", "restore"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("moved"), boolean=True)
    def moved(self, occurrence):
        return occurrence.moved

    @admin.action(description=_("Cancel the selected dates"))
    def cancel(self, request, queryset):
        done = _run(self, request, queryset, lambda o: services.occurrence_cancel(occurrence=o))
        _report(self, request, ngettext("%(count)d date cancelled.", "%(count)d dates cancelled.", done), done)

    @admin.action(description=_("Restore the selected dates"))
    def restore(self, request, queryset):
        done = _run(self, request, queryset, lambda o: services.occurrence_restore(occurrence=o))
        _report(self, request, ngettext("%(count)d date restored.", "%(count)d dates restored.", done), done)


@admin.register(CommemorativeDay)
class CommemorativeDayAdmin(admin.ModelAdmin):
    list_display = ["slug", "name_vi", "name_en", "day", "month", "length_days"]
    search_fields = ["slug", "name_vi", "name_en"]
    ordering = ["month", "day"]
