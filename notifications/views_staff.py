"""Staff pages for messages: the log of a venue and of a date, resend, the
monthly count, a venue's templates and SMS policy, and a message from staff to
the registrants of a date.

Who may do what (venues.selectors), as in attendance/views_staff.py: a venue,
date or message the user may not view is a 404; a change without the
capability is a 403.
- Everyone who may view the venue (officers too) reads the logs, the counts
  and the costs.
- Phone numbers are personal data: only the venue's own staff (DOOR: managers
  and door staff) see them; officers see them masked (Decree 13/2023/NĐ-CP).
  Message bodies are never listed: they carry ticket links.
- Managers (MANAGE) edit templates and the SMS policy, resend a failed message
  and write to registrants: each spends the venue's SMS budget.
Writes go through notifications.staff_services.
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import get_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from common.phone import phone_display
from events.models import Occurrence
from notifications import staff_services
from notifications.forms import MessageTemplateForm, SmsPolicyForm, StaffMessageForm
from notifications.models import Message, MessageTemplate
from notifications.sms import SmsText, sms_cost, sms_prepare
from notifications.staff_services import MessagingError
from notifications.templating import (
    PLACEHOLDERS,
    PLACEHOLDERS_BY_KIND,
    TEMPLATE_KINDS,
    TEMPLATE_LANGUAGES,
    builtin_template,
    fill,
    sample_values,
    when_text,
)
from venues.access import get_for_staff_or_404, safe_next, staff_required
from venues.models import Venue
from venues.selectors import DOOR, MANAGE, VIEW, user_can

MESSAGES_PER_PAGE = 50
# Phone numbers: the venue's own staff (managers and door staff), as for registrations.
PERSONAL_DATA = DOOR



# -- lookups ------------------------------------------------------------------------


def _venue(request, slug: str, capability: str = VIEW) -> Venue:
    return get_for_staff_or_404(request, Venue.objects.select_related("admin_unit"), "", capability, slug=slug)


def _occurrence(request, pk: int, capability: str = VIEW) -> Occurrence:
    return get_for_staff_or_404(
        request, Occurrence.objects.select_related("programme__event", "venue"), "venue", capability, pk=pk
    )


def _kind_and_language(kind: str, language: str) -> tuple[str, str]:
    if kind not in TEMPLATE_KINDS or language not in TEMPLATE_LANGUAGES:
        raise Http404
    return kind, language


def _venue_log_url(venue: Venue) -> str:
    return reverse("staff_messages:venue_log", args=[venue.slug])


def _occurrence_log_url(occurrence: Occurrence) -> str:
    return reverse("staff_messages:occurrence_log", args=[occurrence.pk])


def _template_url(venue: Venue, kind: str, language: str) -> str:
    return reverse("staff_messages:template_edit", args=[venue.slug, kind, language])


# -- the counter --------------------------------------------------------------------


def counter_format(segments: int) -> str:
    # The script fills the same format (static/staff/sms-counter.js).
    return ngettext(
        "%(characters)s characters · %(encoding)s · %(segments)s segment",
        "%(characters)s characters · %(encoding)s · %(segments)s segments",
        segments,
    )


def counter_text(sms: SmsText) -> str:
    """"160 characters · GSM-7 · 1 segment", as the live counter writes it."""
    return counter_format(sms.segments) % {
        "characters": sms.characters,
        "encoding": sms.encoding,
        "segments": sms.segments,
    }


def _money(amount) -> str:
    text = f"{amount:.4f}"
    return text.replace(".", get_format("DECIMAL_SEPARATOR"))


def _counter_context(*, venue, values: dict, text: str, recipients: int = 1, allowed=()) -> dict:
    """What the counter partial needs: the server's count of `text` (filled
    with `values`, cleaned as it will be sent) and what the script needs to
    count the same way as staff type."""
    policy = staff_services.sms_policy_for(venue)
    sms = sms_prepare(fill(text, values), without_diacritics=policy.without_diacritics)
    cost = sms_cost(sms.segments) * recipients
    return {
        "sms": sms,
        "counter_text": counter_text(sms),
        "cost_text": _money(cost),
        "preview": sms.text,
        "recipients": recipients,
        "without_diacritics": policy.without_diacritics,
        "sample_values": values,
        "allowed_placeholders": " ".join(allowed),
        "counter_one": counter_format(1),
        "counter_many": counter_format(2),
        "segment_price": settings.SMS_SEGMENT_PRICE,
        "currency": settings.SMS_PRICE_CURRENCY,
        "decimal_separator": get_format("DECIMAL_SEPARATOR"),
    }


def _placeholder_help(kind: str) -> list[tuple[str, str]]:
    return [("{%s}" % name, PLACEHOLDERS[name]) for name in PLACEHOLDERS_BY_KIND[kind]]


# -- log ----------------------------------------------------------------------------


def _mask(recipient: str) -> str:
    # Enough to tell two rows apart, not enough to identify anyone.
    return "••••••" + recipient[-2:] if recipient else ""


def _recipient_shown(message: Message, can_see_phones: bool) -> str:
    if not can_see_phones:
        return _mask(message.recipient)
    if message.channel == Message.Channel.SMS:
        try:
            return phone_display(message.recipient)
        except Exception:  # noqa: BLE001 - an unparsable number is shown as stored
            return message.recipient
    return message.recipient


def _log_context(request, messages_qs, *, venue, base_query: dict | None = None) -> dict:
    status = request.GET.get("status", "")
    if status not in Message.Status.values:
        status = ""
    kind = request.GET.get("kind", "")
    if kind not in Message.Kind.values:
        kind = ""
    channel = request.GET.get("channel", "")
    if channel not in Message.Channel.values:
        channel = ""
    if status:
        messages_qs = messages_qs.filter(status=status)
    if kind:
        messages_qs = messages_qs.filter(kind=kind)
    if channel:
        messages_qs = messages_qs.filter(channel=channel)
    totals = messages_qs.aggregate(count=Count("pk"), segments=Sum("segments"), cost=Sum("cost"))
    page = Paginator(messages_qs, MESSAGES_PER_PAGE).get_page(request.GET.get("page"))
    can_see_phones = user_can(request.user, PERSONAL_DATA, venue)
    can_manage = user_can(request.user, MANAGE, venue)
    rows = list(page.object_list)
    resent = staff_services.resend_counts([m.pk for m in rows if m.status in staff_services.RESENDABLE])
    for message in rows:
        message.recipient_shown = _recipient_shown(message, can_see_phones)
        message.resendable = can_manage and message.status in staff_services.RESENDABLE
        message.resent = resent.get(message.pk, 0)
        message.cost_text = _money(message.cost)
    filters = {key: value for key, value in (("status", status), ("kind", kind), ("channel", channel)) if value}
    return {
        "venue": venue,
        "page": page,
        "rows": rows,
        "status": status,
        "kind": kind,
        "statuses": Message.Status.choices,
        "kinds": Message.Kind.choices,
        "channel": channel,
        "channels": Message.Channel.choices,
        "pagination_query": urlencode(filters) + "&" if filters else "",
        "totals": {
            "count": totals["count"],
            "segments": totals["segments"] or 0,
            "cost_text": _money(totals["cost"] or 0),
        },
        "currency": settings.SMS_PRICE_CURRENCY,
        "can_see_phones": can_see_phones,
        "can_manage": can_manage,
    }


@staff_required
@never_cache
def venue_log(request, slug):
    venue = _venue(request, slug)
    queryset = Message.objects.filter(venue=venue).select_related("occurrence__programme__event")
    context = _log_context(request, queryset, venue=venue)
    months = staff_services.monthly_totals(venue=venue)
    for month in months:
        month.cost_text = _money(month.cost)
    context.update(
        {
            "months": months,
            "months_total": {
                "messages": sum(m.messages for m in months),
                "segments": sum(m.segments for m in months),
                "cost_text": _money(sum(m.cost for m in months)),
                "failed": sum(m.failed for m in months),
            },
            "policy": staff_services.sms_policy_for(venue),
            "segments_this_month": months[-1].segments if months else 0,
        }
    )
    return render(request, "staff/messages/venue_log.html", context)


@staff_required
@never_cache
def occurrence_log(request, pk):
    occurrence = _occurrence(request, pk)
    queryset = Message.objects.filter(occurrence=occurrence)
    context = _log_context(request, queryset, venue=occurrence.venue)
    context.update({"occurrence": occurrence, "programme": occurrence.programme})
    return render(request, "staff/messages/occurrence_log.html", context)


@staff_required
@require_POST
def message_resend(request, pk):
    message = get_for_staff_or_404(
        request, Message.objects.select_related("venue", "occurrence"), "venue", MANAGE, pk=pk
    )
    default = _occurrence_log_url(message.occurrence) if message.occurrence else _venue_log_url(message.venue)
    try:
        n = int(request.POST.get("n", ""))
    except ValueError:
        n = None
    if n is not None and not 0 <= n <= staff_services.resend_count(message):
        n = None
    try:
        copy = staff_services.message_resend(message=message, n=n)
    except MessagingError as error:
        messages.error(request, error.message)
    else:
        if copy is None:
            messages.info(request, _("This message was already sent again."))
        else:
            messages.success(request, _("The message will be sent again in a moment."))
    return redirect(safe_next(request, default))


# -- templates ----------------------------------------------------------------------


@staff_required
@never_cache
def template_list(request, slug):
    venue = _venue(request, slug, MANAGE)
    custom = {
        (t.kind, t.language): t
        for t in MessageTemplate.objects.filter(venue=venue).select_related("updated_by")
    }
    policy = staff_services.sms_policy_for(venue)
    values = sample_values(venue=venue)
    language_names = dict(settings.LANGUAGES)
    rows = []
    for kind in TEMPLATE_KINDS:
        cells = []
        for language in TEMPLATE_LANGUAGES:
            template = custom.get((kind, language))
            body = template.body if template else builtin_template(kind, language)
            sms = sms_prepare(fill(body, values), without_diacritics=policy.without_diacritics)
            cells.append(
                {
                    "language": language,
                    "language_name": language_names[language],
                    "template": template,
                    "counter_text": counter_text(sms),
                    "url": _template_url(venue, kind, language),
                }
            )
        rows.append({"kind": kind, "label": Message.Kind(kind).label, "cells": cells})
    return render(
        request,
        "staff/messages/template_list.html",
        {"venue": venue, "rows": rows, "policy": policy, "template_languages": language_names},
    )


@staff_required
@never_cache
def template_edit(request, slug, kind, language):
    """The editor: the text, its live counter and preview, save or preview
    (without JS the preview button shows the server's count), reset."""
    venue = _venue(request, slug, MANAGE)
    kind, language = _kind_and_language(kind, language)
    template = MessageTemplate.objects.filter(venue=venue, kind=kind, language=language).first()
    builtin = builtin_template(kind, language)
    current = template.body if template else builtin
    if request.method == "POST":
        form = MessageTemplateForm(request.POST, kind=kind)
        if form.is_valid() and request.POST.get("action") != "preview":
            body = form.cleaned_data["body"]
            if body == builtin:
                staff_services.template_reset(venue=venue, kind=kind, language=language)
                messages.success(request, _("This is the built-in text: the built-in text is used."))
                return redirect(_template_url(venue, kind, language))
            try:
                staff_services.template_save(
                    venue=venue, kind=kind, language=language, body=body, user=request.user
                )
            except MessagingError as error:
                form.add_error("body" if error.field == "body" else None, error.message)
            else:
                counter = _counter_context(venue=venue, values=sample_values(venue=venue), text=body)
                messages.success(
                    request,
                    _("Saved. With sample values: %(counter)s.") % {"counter": counter["counter_text"]},
                )
                return redirect(_template_url(venue, kind, language))
        text = form.cleaned_data["body"] if form.is_valid() else request.POST.get("body", "")
    else:
        form = MessageTemplateForm(initial={"body": current}, kind=kind)
        text = current
    context = {
        "venue": venue,
        "kind": kind,
        "kind_label": Message.Kind(kind).label,
        "language": language,
        "language_name": dict(settings.LANGUAGES)[language],
        "form": form,
        "template": template,
        "builtin": builtin,
        "placeholders": _placeholder_help(kind),
    }
    context.update(
        _counter_context(
            venue=venue,
            values=sample_values(venue=venue),
            text=staff_services.normalise_newlines(text),
            allowed=PLACEHOLDERS_BY_KIND[kind],
        )
    )
    return render(request, "staff/messages/template_edit.html", context)


@staff_required
@require_POST
def template_reset(request, slug, kind, language):
    venue = _venue(request, slug, MANAGE)
    kind, language = _kind_and_language(kind, language)
    if staff_services.template_reset(venue=venue, kind=kind, language=language):
        messages.success(request, _("Back to the built-in text."))
    else:
        messages.info(request, _("The built-in text was already used."))
    return redirect(_template_url(venue, kind, language))


# -- SMS policy ---------------------------------------------------------------------


@staff_required
@never_cache
def sms_policy_edit(request, slug):
    venue = _venue(request, slug, MANAGE)
    policy = staff_services.sms_policy_for(venue)
    if request.method == "POST":
        form = SmsPolicyForm(request.POST, instance=policy)
        if form.is_valid():
            staff_services.sms_policy_update(
                venue=venue,
                without_diacritics=form.cleaned_data["without_diacritics"],
                monthly_cap=form.cleaned_data["monthly_cap"],
            )
            messages.success(request, _("The SMS settings are saved."))
            return redirect(reverse("staff_messages:sms_policy", args=[venue.slug]))
    else:
        form = SmsPolicyForm(instance=policy)
    # The same confirmation both ways, so the effect is concrete.
    sample = fill(builtin_template(Message.Kind.CONFIRMATION, "vi"), sample_values(venue=venue))
    examples = []
    for without in (False, True):
        sms = sms_prepare(sample, without_diacritics=without)
        examples.append(
            {"text": sms.text, "counter_text": counter_text(sms), "cost_text": _money(sms_cost(sms.segments))}
        )
    return render(
        request,
        "staff/messages/sms_policy.html",
        {
            "venue": venue,
            "form": form,
            "examples": examples,
            "currency": settings.SMS_PRICE_CURRENCY,
            "segments_this_month": staff_services.month_segments_used(venue=venue),
            "policy": policy,
        },
    )


# -- a message from staff to the registrants of a date ------------------------------


@staff_required
@never_cache
def staff_message(request, pk):
    occurrence = _occurrence(request, pk, MANAGE)
    venue = occurrence.venue
    counts = staff_services.staff_message_recipient_counts(occurrence=occurrence)
    audience = staff_services.AUDIENCE_CONFIRMED
    text = ""
    if request.method == "POST":
        form = StaffMessageForm(request.POST, counts=counts)
        if form.is_valid():
            audience = form.cleaned_data["audience"]
            text = form.cleaned_data["body"]
            if request.POST.get("action") != "preview":
                try:
                    created = staff_services.staff_message_send(
                        occurrence=occurrence,
                        body=text,
                        audience=audience,
                        token=form.cleaned_data["token"],
                    )
                except MessagingError as error:
                    form.add_error("body" if error.field == "body" else None, error.message)
                else:
                    if created:
                        messages.success(
                            request,
                            ngettext(
                                "%(count)d message recorded: it is sent in a moment.",
                                "%(count)d messages recorded: they are sent in a moment.",
                                created,
                            )
                            % {"count": created},
                        )
                    elif counts.get(audience):
                        messages.info(request, _("This message was already sent: nothing more was recorded."))
                    else:
                        messages.warning(request, _("Nobody to send to: no registrant with a phone number."))
                    return redirect(_occurrence_log_url(occurrence))
        else:
            text = request.POST.get("body", "")
            if request.POST.get("audience") in counts:
                audience = request.POST["audience"]
    else:
        form = StaffMessageForm(counts=counts)
    sample = sample_values(venue=venue)
    sample.update(
        {
            "title": occurrence.programme.event.title,
            "when": when_text(occurrence.start),
            "venue": venue.name,
        }
    )
    context = {
        "venue": venue,
        "occurrence": occurrence,
        "programme": occurrence.programme,
        "form": form,
        "counts": counts,
        "placeholders": _placeholder_help(Message.Kind.STAFF),
        "segments_this_month": staff_services.month_segments_used(venue=venue),
        "policy": staff_services.sms_policy_for(venue),
    }
    context.update(
        _counter_context(
            venue=venue,
            values=sample,
            text=staff_services.normalise_newlines(text),
            recipients=counts.get(audience, 0),
            allowed=PLACEHOLDERS_BY_KIND[Message.Kind.STAFF],
        )
    )
    return render(request, "staff/messages/staff_message.html", context)
