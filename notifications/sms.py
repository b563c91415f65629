"""SMS text: encoding, segments and cost.

GSM-7 carries 160 characters in one segment (153 per segment when split);
any character outside it forces UCS-2: 70 (67). Vietnamese with diacritics is
UCS-2, so it costs two to three times as much. Characters that force UCS-2 for
no reason (a non-breaking space, curly quotes, dashes) are replaced first; a
venue may also send without diacritics to stay in GSM-7.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from common.text import unaccent_keep_case

# GSM 03.38 basic character set, and the extension table (each costs two septets).
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")

# Look-alikes that would force UCS-2 needlessly.
NEEDLESS_UCS2 = {
    "\u00a0": " ",  # no-break space
    "\u2007": " ",
    "\u202f": " ",
    "\u200b": "",  # zero-width space
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
}

GSM7 = "GSM-7"
UCS2 = "UCS-2"


@dataclass(frozen=True)
class SmsText:
    text: str
    encoding: str
    segments: int
    characters: int  # in the encoding's units: septets for GSM-7, UTF-16 units for UCS-2


def sms_clean(text: str, *, without_diacritics: bool = False) -> str:
    text = "".join(NEEDLESS_UCS2.get(c, c) for c in text)
    if without_diacritics:
        text = unaccent_keep_case(text)
    return text


def sms_measure(text: str) -> SmsText:
    """Encoding and number of segments of `text` as it will be sent."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        septets = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        segments = 1 if septets <= 160 else -(-septets // 153)
        return SmsText(text, GSM7, segments, septets)
    units = len(text.encode("utf-16-le")) // 2
    segments = 1 if units <= 70 else -(-units // 67)
    return SmsText(text, UCS2, segments, units)


def sms_prepare(text: str, *, without_diacritics: bool = False) -> SmsText:
    return sms_measure(sms_clean(text, without_diacritics=without_diacritics))


def sms_cost(segments: int) -> Decimal:
    """Estimated price of a message (settings.SMS_SEGMENT_PRICE per segment)."""
    return Decimal(settings.SMS_SEGMENT_PRICE) * segments
