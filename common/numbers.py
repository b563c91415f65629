"""Numbers as people read them, in the active language: 15.000 and 85,5 in Vietnamese,
15,000 and 85.5 in English (the separators and grouping of config/formats)."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats


def number_text(value, decimals: int = 0, *, empty: str = "—", trim: bool = False) -> str:
    """`value` rounded half up to `decimals` places and grouped by thousands; `empty`
    for None. With `trim`, a whole number shows no decimals (85 rather than 85,0)."""
    if value is None:
        return empty
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if trim and number == number.to_integral_value():
        number, decimals = number.quantize(Decimal(1)), 0
    return formats.number_format(number, decimal_pos=decimals or None, force_grouping=True)
