"""Back office for messages: the outbox is read-only (a message row is the
record of what was sent and what it cost); templates, SMS policies and
opt-outs can be edited."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from notifications.models import Message, MessageTemplate, SmsOptOut, SmsPolicy
from notifications.staff_services import normalise_newlines
from notifications.templating import TEMPLATE_KINDS, TEMPLATE_LANGUAGES, template_errors


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "channel", "recipient", "status", "encoding", "segments", "cost", "venue"]
    list_filter = ["status", "kind", "channel", "encoding", "venue", "created_at"]
    search_fields = ["recipient", "provider_id", "dedupe_key"]
    list_select_related = ["venue"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["channel", "kind", "recipient", "language", "subject", "body"]}),
        (_("Delivery"), {"fields": ["status", "status_changed_at", "send_after", "attempts", "last_error",
                                    "provider_id", "sent_at", "created_at"]}),
        (_("Cost"), {"fields": ["encoding", "segments", "cost"]}),
        (_("Links"), {"fields": ["venue", "occurrence", "registration", "dedupe_key"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MessageTemplateAdminForm(forms.ModelForm):
    kind = forms.ChoiceField(
        label=_("kind"), choices=[(k, Message.Kind(k).label) for k in TEMPLATE_KINDS]
    )
    language = forms.ChoiceField(label=_("language"), choices=[(code, code) for code in TEMPLATE_LANGUAGES])

    class Meta:
        model = MessageTemplate
        fields = ["venue", "kind", "language", "body"]

    def clean(self):
        cleaned = super().clean()
        body = normalise_newlines(cleaned.get("body") or "").strip()
        kind = cleaned.get("kind")
        if body and kind:
            for error in template_errors(body, kind):
                self.add_error("body", error)
        cleaned["body"] = body
        return cleaned


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateAdminForm
    list_display = ["venue", "kind", "language", "updated_at", "updated_by"]
    list_filter = ["kind", "language"]
    search_fields = ["venue__name", "body"]
    autocomplete_fields = ["venue"]
    list_select_related = ["venue", "updated_by"]

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SmsPolicy)
class SmsPolicyAdmin(admin.ModelAdmin):
    list_display = ["venue", "without_diacritics", "monthly_cap"]
    list_filter = ["without_diacritics"]
    search_fields = ["venue__name"]
    autocomplete_fields = ["venue"]
    list_select_related = ["venue"]


@admin.register(SmsOptOut)
class SmsOptOutAdmin(admin.ModelAdmin):
    list_display = ["phone", "source", "created_at"]
    list_filter = ["source", "created_at"]
    search_fields = ["phone"]
    readonly_fields = ["created_at"]
