"""Indicator results for a scope and year, computed from kept totals.

Interface (used by dashboards, the annual report and the API):

- `venues_in_scope(target) -> QuerySet[Venue]`: the venues a target applies to.
- `targets_for_unit(unit, year) -> QuerySet[Target]`: targets whose scope is the unit
  (or, for a commune, its province's targets that select venues by kind/tier).
- `evaluate(target, *, today=None) -> Result`: the result of one target.
- `unit_results(unit, year, *, today=None) -> list[Result]`: every target of a unit and year.
- `venue_visits_target(venue, year) -> Target | None`: the visits target applying to
  a venue (its own, else a per-venue target of a set it belongs to).
- `venue_year_visits(venue_ids, year) -> dict[int, int]` and the other reads below.

Statuses: a finished year is `met` / `not_met`; the current year is `on_track` /
`at_risk` / `behind` by pace; `no_data` when nothing could be measured (a manual
indicator not yet entered).
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from targets.models import Indicator, Target


class Status:
    MET = "met"
    NOT_MET = "not_met"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BEHIND = "behind"
    NO_DATA = "no_data"


@dataclass
class Result:
    target: Target
    indicator: str
    value: Decimal | None  # the measured result (a percentage for share/growth indicators)
    status: str
    # numerator/denominator for shares, previous year's visits for growth, per-venue rows for per_venue targets …
    detail: dict = field(default_factory=dict)

    @property
    def is_percent(self) -> bool:
        return self.indicator in {Indicator.VISITS_GROWTH, Indicator.LIFELONG_LEARNING_SHARE, Indicator.DIGITAL_SHARE}


def year_fraction_elapsed(year: int, today: dt.date) -> float:
    """0.0 before the year, 1.0 after it, else the share of its days gone."""
    start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    if today <= start:
        return 0.0
    if today >= end:
        return 1.0
    return (today - start).days / (end - start).days
