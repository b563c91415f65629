"""Words for indicator results, shared by the dashboards, the annual report and the API."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from targets.indicators import Status

STATUS_LABELS = {
    Status.MET: gettext_lazy("Met"),
    Status.NOT_MET: gettext_lazy("Not met"),
    Status.ON_TRACK: gettext_lazy("On track"),
    Status.AT_RISK: gettext_lazy("At risk"),
    Status.BEHIND: gettext_lazy("Behind"),
    Status.NO_DATA: gettext_lazy("No data"),
}


def status_label(status: str | None) -> str:
    return str(STATUS_LABELS.get(status, "")) if status else ""


def no_data_reason(result) -> str:
    """Why a result could not be measured (targets.indicators' detail["reason"]), in words;
    empty when it was measured."""
    detail = result.detail
    reason = detail.get("reason")
    if reason == "no_base_visits":
        return _("No visits recorded in %(year)s to compare with.") % {"year": detail["base_year"]}
    if reason == "no_previous_visits":
        return _("No visits recorded the year before to compare with.")
    if reason == "not_entered":
        return _("Not entered yet.")
    if reason == "no_venues":
        return _("No venue in this set.")
    if reason == "future":
        return _("The year has not begun.")
    return ""
