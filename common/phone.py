"""One phone format inside the system: E.164 (+84912345678)."""

import phonenumbers
from django.utils.translation import gettext as _

from common.errors import DomainError

DEFAULT_REGION = "VN"


def phone_normalise(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """Parse what a person typed ("0912 345 678", "+84 912-345-678") into E.164.

    Raises DomainError("invalid_phone") when it is not a valid number.
    """
    raw = (raw or "").strip()
    if not raw:
        raise DomainError("invalid_phone", _("Enter a phone number."), field="phone")
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise DomainError(
            "invalid_phone",
            _("This is not a valid phone number. Example: 0912 345 678."),
            field="phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """How a Vietnamese reader writes it: 0912 345 678 (international for foreign numbers)."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    if number.country_code == 84:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
