"""Changes to targets: results entered by hand.

`manual_value_enter(target_id, value, note, user, now)` records the result of a
MANUAL target (e.g. artifacts digitised this year). A correction is a new row;
the previous current one is kept with `superseded_at` set, so who entered what,
and when, stays on record.
"""

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from common.errors import DomainError
from targets.models import Indicator, ManualValue, Target

MANUAL_VALUE_MAX = Decimal("9999999999.99")


class TargetError(DomainError):
    pass


def manual_value_enter(
    target_id: int, value, note: str = "", user=None, now: dt.datetime | None = None
) -> ManualValue:
    """Record (or correct) the hand-entered result of a MANUAL target. Raises TargetError
    for an unknown target, a target measured by the system, or a value that is not a
    number ≥ 0."""
    now = now or timezone.now()
    try:
        amount = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        raise TargetError("bad_value", _("Enter a number."), field="value") from None
    if not amount.is_finite() or not Decimal(0) <= amount <= MANUAL_VALUE_MAX:
        raise TargetError("bad_value", _("Enter a number of 0 or more."), field="value")
    amount = amount.quantize(Decimal("0.01"))
    with transaction.atomic():
        target = Target.objects.select_for_update().filter(pk=target_id).first()
        if target is None:
            raise TargetError("not_found", _("This target does not exist."))
        if target.indicator != Indicator.MANUAL:
            raise TargetError(
                "not_manual",
                _("The result of this target is measured by the system from visits and activities; it cannot be entered by hand."),
                field="value",
            )
        ManualValue.objects.filter(target=target, superseded_at__isnull=True).update(superseded_at=now)
        return ManualValue.objects.create(
            target=target, value=amount, note=(note or "")[:300], entered_by=user, entered_at=now
        )
