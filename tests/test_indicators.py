"""targets.indicators: each indicator on small hand-made data with known answers,
statuses by year and pace, and a bound on the queries a unit's dashboard costs."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from attendance.services import manual_attendance_enter, walkin_record
from attendance.totals import visits_add
from common.errors import DomainError
from common.timeutil import local_datetime
from events.models import CommemorativeDay, Programme
from targets import indicators
from targets.indicators import Status, evaluate, unit_results
from targets.models import Indicator, ManualValue, Target
from targets.services import manual_value_enter
from tests.factories import make_commune, make_programme, make_province, make_user, make_venue
from venues.models import Venue

LIB, MUS = Venue.Kind.LIBRARY, Venue.Kind.MUSEUM
T = Venue.Tier
AFTER_2025 = dt.date(2026, 3, 1)  # 2025 is a finished year
MID_2025 = dt.date(2025, 7, 2)  # 2025 is the current year, 182 of 365 days gone


def target(unit=None, *, venue=None, days=(), **fields) -> Target:
    fields.setdefault("year", 2025)
    fields.setdefault("value", 0)
    fields.setdefault("source_document", "Kế hoạch thử nghiệm")
    t = Target.objects.create(admin_unit=None if venue else unit, venue=venue, **fields)
    if days:
        t.commemorative_days.set(CommemorativeDay.objects.filter(slug__in=days))
    return t


def visits(venue, day, *, checked_in=0, walk_ins=0, manual=0):
    """Kept totals as the services write them: the day row and its month row."""
    visits_add(venue_id=venue.pk, day=day, checked_in=checked_in, walk_ins=walk_ins, manual=manual)


def held(venue, day, *, category="reading", cancelled=False, status=Programme.Status.PUBLISHED, **fields):
    programme = make_programme(venue=venue, day=day, category=category, status=status, **fields)
    if cancelled:
        programme.occurrences.update(cancelled=True)
    return programme


@pytest.fixture
def place(db):
    province = make_province(name="Tỉnh Hưng Yên")
    commune = make_commune(province=province, name="Phường Phố Hiến")
    other = make_commune(province=province, name="Xã Tân Hưng")
    return province, commune, other


# -- visits --------------------------------------------------------------------------------


def test_visits_sum_counts_the_three_columns_within_the_year_only(place):
    """Given two provincial museums with visits in 2024, 2025 and 2026,
    when a 2025 VISITS target over the set is evaluated after 2025,
    then only 2025's checked-in + walk-in + manual visits count, and the finished year is met or not met."""
    province, commune, other = place
    a = make_venue(admin_unit=commune, kind=MUS, tier=T.PROVINCIAL)
    b = make_venue(admin_unit=other, kind=MUS, tier=T.PROVINCIAL)
    library = make_venue(admin_unit=commune, kind=LIB, tier=T.PROVINCIAL)
    visits(a, dt.date(2025, 1, 1), checked_in=100, walk_ins=20, manual=5)
    visits(b, dt.date(2025, 12, 31), walk_ins=375)
    visits(a, dt.date(2024, 12, 31), walk_ins=999)
    visits(b, dt.date(2026, 1, 1), walk_ins=999)
    visits(library, dt.date(2025, 6, 1), walk_ins=999)
    met = target(province, indicator=Indicator.VISITS, venue_kind=MUS, venue_tier=T.PROVINCIAL, value=500)
    missed = target(province, indicator=Indicator.VISITS, venue_kind=MUS, venue_tier=T.PROVINCIAL, value=501)

    result = evaluate(met, today=AFTER_2025)

    assert result.value == 500
    assert result.status == Status.MET
    assert result.detail["by_venue"] == {a.pk: 125, b.pk: 375}
    assert evaluate(missed, today=AFTER_2025).status == Status.NOT_MET


def test_per_venue_visits_give_the_share_of_venues_meeting_the_target(place):
    """Given two active provincial museums (16,000 and 9,000 visits) and a closed one,
    when a per-venue 15,000 target and a 20,000 sum target are evaluated,
    then per-venue gives 50 % with each venue listed and is not met, while the sum (25,000) is met."""
    province, commune, other = place
    big = make_venue(admin_unit=commune, kind=MUS, tier=T.PROVINCIAL, name="Bảo tàng A")
    small = make_venue(admin_unit=other, kind=MUS, tier=T.PROVINCIAL, name="Bảo tàng B")
    closed = make_venue(admin_unit=other, kind=MUS, tier=T.PROVINCIAL, name="Bảo tàng C", is_active=False)
    visits(big, dt.date(2025, 5, 18), walk_ins=16000)
    visits(small, dt.date(2025, 5, 18), walk_ins=9000)
    per = target(province, indicator=Indicator.VISITS, venue_kind=MUS, venue_tier=T.PROVINCIAL, per_venue=True,
                 value=15000, value_max=18000)
    total = target(province, indicator=Indicator.VISITS, venue_kind=MUS, venue_tier=T.PROVINCIAL, value=20000)

    result = evaluate(per, today=AFTER_2025)

    assert result.value == Decimal("50.00")
    assert result.is_percent
    assert result.status == Status.NOT_MET
    rows = {r["venue_id"]: (r["value"], r["status"]) for r in result.detail["venues"]}
    assert rows == {big.pk: (16000, Status.MET), small.pk: (9000, Status.NOT_MET)}
    assert closed.pk not in rows
    summed = evaluate(total, today=AFTER_2025)
    assert (summed.value, summed.status) == (25000, Status.MET)
    assert not summed.is_percent


def test_the_visits_target_of_many_venues_follows_the_precedence_rules(place, django_assert_num_queries):
    """Given visits targets at every level (a venue's own, old and new; per-venue targets of
    the province, of a reporting group and of a commune; one naming kind and tier beside one
    naming the kind only; a sum that is nobody's per-venue target), when the targets of all
    venues are chosen at once, then each venue gets the documented one, in three queries."""
    from venues.models import AdminUnit

    province, commune, _ = place
    other_commune = make_commune(province=province, name="Xã Khác")
    third_commune = make_commune(province=province, name="Xã Thứ Ba")
    group = AdminUnit.objects.create(code="G-OLD", name="Huyện cũ", level=AdminUnit.Level.GROUP, parent=province)
    group.members.add(other_commune)
    own = make_venue(admin_unit=commune, kind=MUS, tier=T.PROVINCIAL)
    in_commune = make_venue(admin_unit=commune, kind=LIB, tier=T.COMMUNE)
    in_group = make_venue(admin_unit=other_commune, kind=LIB, tier=T.COMMUNE)
    tiered = make_venue(admin_unit=third_commune, kind=LIB, tier=T.COMMUNE)
    untiered = make_venue(admin_unit=third_commune, kind=LIB, tier=T.DISTRICT)
    museum_elsewhere = make_venue(admin_unit=third_commune, kind=MUS, tier=T.DISTRICT)
    target(venue=own, indicator=Indicator.VISITS, value=1)
    newest_own = target(venue=own, indicator=Indicator.VISITS, value=2)
    by_kind = target(province, indicator=Indicator.VISITS, venue_kind=LIB, per_venue=True, value=10)
    by_kind_and_tier = target(
        province, indicator=Indicator.VISITS, venue_kind=LIB, venue_tier=T.COMMUNE, per_venue=True, value=20
    )
    of_group = target(group, indicator=Indicator.VISITS, per_venue=True, value=30)
    of_commune = target(commune, indicator=Indicator.VISITS, venue_kind=LIB, per_venue=True, value=40)
    target(province, indicator=Indicator.VISITS, value=99999)  # a sum over the province
    venues = list(Venue.objects.select_related("admin_unit"))

    with django_assert_num_queries(2):
        chosen = indicators.venue_visits_targets(venues, 2025)

    assert chosen == {
        own.pk: newest_own,
        in_commune.pk: of_commune,
        in_group.pk: of_group,
        tiered.pk: by_kind_and_tier,
        untiered.pk: by_kind,
    }
    assert museum_elsewhere.pk not in chosen
    assert indicators.venue_visits_target(in_group, 2025) == of_group
    assert indicators.venue_visits_targets(venues, 2024) == {}


def test_a_venue_target_and_the_visits_target_applying_to_a_venue(place):
    """Given a museum with its own target and another covered only by a per-venue provincial target,
    when venue_visits_target is asked, then each gets the right target; a library gets none."""
    province, commune, _ = place
    own = make_venue(admin_unit=commune, kind=MUS, tier=T.PROVINCIAL)
    covered = make_venue(admin_unit=commune, kind=MUS, tier=T.PROVINCIAL)
    library = make_venue(admin_unit=commune, kind=LIB, tier=T.PROVINCIAL)
    mine = target(venue=own, indicator=Indicator.VISITS, value=1000)
    per = target(province, indicator=Indicator.VISITS, venue_kind=MUS, per_venue=True, value=15000)
    target(province, indicator=Indicator.VISITS, venue_kind=MUS, value=99999)  # a sum: not a venue's target
    visits(own, dt.date(2025, 3, 3), walk_ins=1200)

    assert indicators.venue_visits_target(own, 2025) == mine
    assert indicators.venue_visits_target(covered, 2025) == per
    assert indicators.venue_visits_target(library, 2025) is None
    assert indicators.venue_visits_target(covered, 2024) is None
    assert evaluate(mine, today=AFTER_2025).status == Status.MET


# -- growth ----------------------------------------------------------------------------------


def test_growth_over_the_previous_year(place):
    """Given libraries with 1,000 visits in 2024 and 1,100 in 2025,
    when an 8 % growth target for 2025 is evaluated after 2025, then growth is 10 % and met;
    a 12 % target is not met; a year with no previous visits has no data."""
    province, commune, other = place
    a = make_venue(admin_unit=commune, kind=LIB, tier=T.DISTRICT)
    b = make_venue(admin_unit=other, kind=LIB, tier=T.COMMUNE)
    museum = make_venue(admin_unit=other, kind=MUS, tier=T.PROVINCIAL)
    visits(a, dt.date(2024, 3, 1), walk_ins=600)
    visits(b, dt.date(2024, 11, 1), walk_ins=400)
    visits(a, dt.date(2025, 3, 1), walk_ins=700)
    visits(b, dt.date(2025, 11, 1), checked_in=400)
    visits(museum, dt.date(2025, 1, 5), walk_ins=5000)
    growth = target(province, indicator=Indicator.VISITS_GROWTH, venue_kind=LIB, value=8)
    steep = target(province, indicator=Indicator.VISITS_GROWTH, venue_kind=LIB, value=12)
    first_year = target(province, indicator=Indicator.VISITS_GROWTH, venue_kind=LIB, value=8, year=2024)

    result = evaluate(growth, today=AFTER_2025)

    assert result.value == Decimal("10.00")
    assert result.detail["visits"] == 1100 and result.detail["previous_visits"] == 1000
    assert result.status == Status.MET
    assert evaluate(steep, today=AFTER_2025).status == Status.NOT_MET
    no_data = evaluate(first_year, today=AFTER_2025)
    assert (no_data.value, no_data.status) == (None, Status.NO_DATA)


def test_growth_in_the_current_year_compares_the_same_elapsed_period(place):
    """Given 500 library visits in January–June 2024 (and 9,000 in December 2024) and 540 in
    January–June 2025, when growth is evaluated on 2/7/2025, then it is 8 % (like with like), on track."""
    province, commune, _ = place
    library = make_venue(admin_unit=commune, kind=LIB, tier=T.PROVINCIAL)
    visits(library, dt.date(2024, 1, 10), walk_ins=300)
    visits(library, dt.date(2024, 7, 2), walk_ins=200)  # same day of the year as today: included
    visits(library, dt.date(2024, 7, 3), walk_ins=9000)
    visits(library, dt.date(2025, 2, 1), walk_ins=540)
    growth = target(province, indicator=Indicator.VISITS_GROWTH, venue_kind=LIB, value=8)

    result = evaluate(growth, today=MID_2025)

    assert result.detail["previous_visits"] == 500
    assert result.value == Decimal("8.00")
    assert result.status == Status.ON_TRACK
    assert result.detail["like_for_like"] is True


def test_average_yearly_growth_since_a_base_year(place):
    """Given libraries with 1,000 visits in 2022 and 1,331 in 2025 (and a dip in 2024),
    when "on average 8 % a year since 2022" is evaluated after 2025, then the average is 10 %
    a year (1.1³ = 1.331) and met, whatever 2024 was; 12 % a year is not met."""
    province, commune, other = place
    a = make_venue(admin_unit=commune, kind=LIB, tier=T.DISTRICT)
    b = make_venue(admin_unit=other, kind=LIB, tier=T.COMMUNE)
    visits(a, dt.date(2022, 5, 1), walk_ins=600)
    visits(b, dt.date(2022, 12, 31), walk_ins=400)
    visits(a, dt.date(2024, 5, 1), walk_ins=100)
    visits(a, dt.date(2025, 5, 1), walk_ins=1000)
    visits(b, dt.date(2025, 1, 1), checked_in=331)
    average = target(province, indicator=Indicator.VISITS_GROWTH, venue_kind=LIB, value=8, base_year=2022)
    steep = target(province, indicator=Indicator.VISITS_GROWTH, venue_kind=LIB, value=12, base_year=2022)

    result = evaluate(average, today=AFTER_2025)

    assert result.value == Decimal("10.00")
    assert (result.detail["base_visits"], result.detail["visits"], result.detail["years"]) == (1000, 1331, 3)
    assert result.status == Status.MET
    assert evaluate(steep, today=AFTER_2025).status == Status.NOT_MET
    assert average.indicator_label == "Tăng trưởng bình quân lượt khách mỗi năm kể từ 2022 (%)"


def test_average_growth_in_the_current_year_compares_the_same_period_of_the_base_year(place):
    """Given 400 visits in January–June 2023 (and 5,000 later in 2023) and 484 in January–June
    2025, when "on average 10 % a year since 2023" is evaluated on 2/7/2025, then it is 10 %, on
    track; with no visits in the base year there is no data."""
    province, commune, _ = place
    library = make_venue(admin_unit=commune, kind=LIB, tier=T.PROVINCIAL)
    visits(library, dt.date(2023, 3, 1), walk_ins=400)
    visits(library, dt.date(2023, 7, 3), walk_ins=5000)
    visits(library, dt.date(2025, 6, 30), walk_ins=484)
    average = target(province, indicator=Indicator.VISITS_GROWTH, venue_kind=LIB, value=10, base_year=2023)
    unknown_base = target(province, indicator=Indicator.VISITS_GROWTH, venue_kind=LIB, value=10, base_year=2021)

    result = evaluate(average, today=MID_2025)

    assert (result.value, result.status) == (Decimal("10.00"), Status.ON_TRACK)
    assert result.detail["base_visits"] == 400 and result.detail["like_for_like"] is True
    missing = evaluate(unknown_base, today=MID_2025)
    assert (missing.value, missing.status, missing.detail["reason"]) == (None, Status.NO_DATA, "no_base_visits")


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"indicator": Indicator.VISITS, "base_year": 2022}, "base_year"),
        ({"indicator": Indicator.VISITS_GROWTH, "base_year": 2025}, "base_year"),
    ],
)
def test_a_base_year_belongs_to_a_growth_target_and_comes_before_its_year(place, fields, field):
    from django.core.exceptions import ValidationError

    province, _, _ = place
    candidate = Target(admin_unit=province, year=2025, value=8, source_document="KH", **fields)
    with pytest.raises(ValidationError) as refused:
        candidate.full_clean()
    assert field in refused.value.message_dict


# -- shares ----------------------------------------------------------------------------------


def test_lifelong_learning_share_by_tier(place, settings):
    """Given three active district libraries (one with 2 held lifelong-learning dates, one whose second
    date was cancelled or a draft, one with only "other" activities), a closed one and a commune library,
    when the share of district libraries providing lifelong learning (≥ 2 dates) is evaluated,
    then it is 1 of 3 = 33.33 %, not met against 70 %, and the commune tier is measured apart."""
    settings.LIFELONG_LEARNING_MIN_OCCURRENCES = 2
    province, commune, other = place
    providing = make_venue(admin_unit=commune, kind=LIB, tier=T.DISTRICT)
    cancelled = make_venue(admin_unit=commune, kind=LIB, tier=T.DISTRICT)
    other_only = make_venue(admin_unit=other, kind=LIB, tier=T.DISTRICT)
    closed = make_venue(admin_unit=other, kind=LIB, tier=T.DISTRICT, is_active=False)
    commune_library = make_venue(admin_unit=other, kind=LIB, tier=T.COMMUNE)
    held(providing, dt.date(2025, 3, 1), category="reading")
    held(providing, dt.date(2025, 9, 1), category="digital")
    held(providing, dt.date(2024, 9, 1), category="reading")
    held(cancelled, dt.date(2025, 3, 1))
    held(cancelled, dt.date(2025, 4, 1), cancelled=True)
    held(cancelled, dt.date(2025, 5, 1), status=Programme.Status.DRAFT)
    held(other_only, dt.date(2025, 3, 1), category="other")
    held(other_only, dt.date(2025, 4, 1), category="other")
    held(closed, dt.date(2025, 3, 1))
    held(closed, dt.date(2025, 4, 1))
    held(commune_library, dt.date(2025, 3, 1), category="talk")
    held(commune_library, dt.date(2025, 4, 1), category="workshop")
    district = target(province, indicator=Indicator.LIFELONG_LEARNING_SHARE, venue_kind=LIB, venue_tier=T.DISTRICT,
                      value=70)
    communes = target(province, indicator=Indicator.LIFELONG_LEARNING_SHARE, venue_kind=LIB, venue_tier=T.COMMUNE,
                      value=40)

    result = evaluate(district, today=AFTER_2025)

    assert result.value == Decimal("33.33")
    assert (result.detail["numerator"], result.detail["denominator"]) == (1, 3)
    assert result.detail["venue_ids"] == [providing.pk]
    assert result.status == Status.NOT_MET
    assert (evaluate(communes, today=AFTER_2025).value, evaluate(communes, today=AFTER_2025).status) == (
        Decimal("100.00"), Status.MET,
    )


def test_lifelong_learning_in_the_current_year_counts_only_dates_already_started(place, settings):
    """Given a library with one date before and one after 2/7/2025, when the share is evaluated on
    2/7/2025 with a minimum of 2 dates, then the library does not provide it yet (0 %, behind)."""
    settings.LIFELONG_LEARNING_MIN_OCCURRENCES = 2
    province, commune, _ = place
    library = make_venue(admin_unit=commune, kind=LIB, tier=T.DISTRICT)
    held(library, dt.date(2025, 6, 1))
    held(library, dt.date(2025, 7, 3))
    share = target(province, indicator=Indicator.LIFELONG_LEARNING_SHARE, venue_kind=LIB, venue_tier=T.DISTRICT,
                   value=50)

    result = evaluate(share, today=MID_2025)

    assert (result.value, result.status) == (Decimal("0.00"), Status.BEHIND)
    assert evaluate(share, today=AFTER_2025).value == Decimal("100.00")


def test_digital_share_counts_registrations_taken_or_qr_check_ins(place):
    """Given three commune libraries — one took registrations in 2025, one admitted by QR, one only
    counted walk-ins (and its registrations were in 2024) — when the digital share is evaluated,
    then it is 2 of 3."""
    province, commune, other = place
    registering = make_venue(admin_unit=commune, kind=LIB, tier=T.COMMUNE)
    scanning = make_venue(admin_unit=other, kind=LIB, tier=T.COMMUNE)
    counting = make_venue(admin_unit=other, kind=LIB, tier=T.COMMUNE)
    held(registering, dt.date(2025, 4, 21), registration_required=True).occurrences.update(seats_taken=3)
    held(counting, dt.date(2024, 4, 21), registration_required=True).occurrences.update(seats_taken=3)
    held(counting, dt.date(2025, 4, 21), registration_required=False).occurrences.update(seats_taken=3)
    visits(scanning, dt.date(2025, 8, 1), checked_in=1)
    visits(counting, dt.date(2025, 8, 1), walk_ins=50)
    digital = target(province, indicator=Indicator.DIGITAL_SHARE, venue_kind=LIB, venue_tier=T.COMMUNE, value=60)

    result = evaluate(digital, today=AFTER_2025)

    assert result.value == Decimal("66.67")
    assert sorted(result.detail["venue_ids"]) == sorted([registering.pk, scanning.pk])
    assert result.status == Status.MET


def test_a_share_of_an_empty_set_has_no_data(place):
    """Given no armed-forces library, when its share target is evaluated, then there is no data."""
    province, _, _ = place
    share = target(province, indicator=Indicator.DIGITAL_SHARE, venue_kind=LIB, venue_tier=T.ARMED_FORCES, value=80)

    result = evaluate(share, today=AFTER_2025)

    assert (result.value, result.status) == (None, Status.NO_DATA)


# -- activities --------------------------------------------------------------------------------


def test_activities_of_a_category_on_commemorative_days(place):
    """Given a provincial museum's experiential programmes in 2025 — on 18/5, on 1/6 but linked to
    Heritage Day, on 19/4 and again on 23/11 (one programme), on 10/3, one cancelled on 19/4 — and an
    exhibition on 18/5, when the 2–3 target on 19/4, 18/5, 23/11 is evaluated, then 3 programmes
    count (met); without the days the 10/3 one counts too."""
    province, commune, _ = place
    museum = make_venue(admin_unit=commune, kind=MUS, tier=T.PROVINCIAL)
    held(museum, dt.date(2025, 5, 18), category="experiential")
    held(museum, dt.date(2025, 6, 1), category="experiential", commemorative_day_id="heritage-day")
    twice = held(museum, dt.date(2025, 4, 19), category="experiential")
    start = local_datetime(dt.date(2025, 11, 23), dt.time(9))
    twice.occurrences.create(venue=museum, start=start, end=start + dt.timedelta(hours=2),
                             original_start=start, original_end=start + dt.timedelta(hours=2))
    held(museum, dt.date(2025, 3, 10), category="experiential")
    held(museum, dt.date(2025, 4, 19), category="experiential", cancelled=True)
    held(museum, dt.date(2025, 5, 18), category="exhibition")
    on_days = target(province, indicator=Indicator.ACTIVITIES, venue_kind=MUS, venue_tier=T.PROVINCIAL,
                     category="experiential", value=2, value_max=3,
                     days=("ethnic-cultures-day", "museum-day", "heritage-day"))
    any_day = target(province, indicator=Indicator.ACTIVITIES, venue_kind=MUS, category="experiential", value=5)

    result = evaluate(on_days, today=AFTER_2025)

    assert (result.value, result.status) == (3, Status.MET)
    assert (evaluate(any_day, today=AFTER_2025).value, evaluate(any_day, today=AFTER_2025).status) == (
        4, Status.NOT_MET,
    )


def test_activities_pace_on_commemorative_days_follows_the_days_already_begun(place):
    """Given one experiential programme on 19/4/2025, when the 2-on-3-days target is evaluated on 2/7/2025
    (2 of the 3 days begun: 1.33 expected so far), then it is behind (75 % of the pace), and
    on track once an 18/5 one is held."""
    province, commune, _ = place
    museum = make_venue(admin_unit=commune, kind=MUS, tier=T.PROVINCIAL)
    held(museum, dt.date(2025, 4, 19), category="experiential")
    t = target(province, indicator=Indicator.ACTIVITIES, venue_kind=MUS, category="experiential", value=2,
               days=("ethnic-cultures-day", "museum-day", "heritage-day"))

    assert evaluate(t, today=MID_2025).status == Status.BEHIND
    held(museum, dt.date(2025, 5, 18), category="experiential")
    assert evaluate(t, today=MID_2025).status == Status.ON_TRACK


# -- manual ------------------------------------------------------------------------------------


def test_manual_values_keep_their_history(place):
    """Given a MANUAL target (artifacts digitised, 50), when an officer enters 40 and then corrects it
    to 60, then the result is 60 (met), the 40 is kept superseded, and before any entry there is no data."""
    province, _, _ = place
    officer = make_user()
    t = target(province, indicator=Indicator.MANUAL, value=50, value_max=100, label="Hiện vật được số hóa")
    assert evaluate(t, today=AFTER_2025).status == Status.NO_DATA

    first = manual_value_enter(t.pk, 40, "đợt 1", officer, timezone.now() - dt.timedelta(days=1))
    assert evaluate(t, today=AFTER_2025).status == Status.NOT_MET
    second = manual_value_enter(target_id=t.pk, value="60", note="đã rà soát", user=officer)

    result = evaluate(t, today=AFTER_2025)
    assert (result.value, result.status) == (Decimal("60.00"), Status.MET)
    first.refresh_from_db()
    assert first.superseded_at == second.entered_at
    assert second.superseded_at is None
    assert list(ManualValue.objects.filter(target=t).values_list("value", flat=True)) == [60, 40]


def test_a_manual_value_is_refused_for_a_measured_target_or_a_bad_number(place):
    """Given a VISITS target, when a value is entered by hand, then a clear DomainError is raised;
    a negative or non-numeric value is refused too."""
    province, _, _ = place
    visits_target = target(province, indicator=Indicator.VISITS, value=100)
    manual = target(province, indicator=Indicator.MANUAL, value=1, label="Bảo tàng tư nhân")

    with translation.override("en"), pytest.raises(DomainError) as error:  # the site is Vietnamese by default
        manual_value_enter(visits_target.pk, 5)
    assert error.value.code == "not_manual"
    assert "measured by the system" in error.value.message
    for bad in ("-1", "abc", "nan"):
        with pytest.raises(DomainError):
            manual_value_enter(manual.pk, bad)
    with pytest.raises(DomainError):
        manual_value_enter(999999, 1)
    assert not ManualValue.objects.exists()


# -- statuses ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("so_far", "status"), [(500, Status.ON_TRACK), (450, Status.AT_RISK), (300, Status.BEHIND)]
)
def test_current_year_pace(place, so_far, status):
    """Given a 1,000-visit target for 2025 and `so_far` visits by 2/7/2025 (about half the year gone,
    expected 498.6), when evaluated, then the status follows the pace: ≥ 100 % on track, ≥ 85 % at risk."""
    province, commune, _ = place
    library = make_venue(admin_unit=commune, kind=LIB)
    visits(library, dt.date(2025, 3, 1), walk_ins=so_far)
    visits(library, dt.date(2025, 7, 3), walk_ins=1000)  # tomorrow: not yet
    t = target(province, indicator=Indicator.VISITS, venue_kind=LIB, value=1000)

    result = evaluate(t, today=MID_2025)

    assert result.value == so_far
    assert result.status == status
    assert result.detail["expected_so_far"] == Decimal("498.63")


def test_a_future_year_has_no_data(place):
    """Given a 2030 target, when evaluated in 2025, then it has no value and no data."""
    province, commune, _ = place
    visits(make_venue(admin_unit=commune), dt.date(2025, 3, 1), walk_ins=10)
    t = target(province, indicator=Indicator.VISITS, value=10, year=2030)

    result = evaluate(t, today=MID_2025)

    assert (result.value, result.status) == (None, Status.NO_DATA)


# -- counts kept by the attendance services, and the reads for dashboards -------------------------


def test_visits_recorded_through_attendance_services(place):
    """Given walk-ins and attendance entered by hand through the attendance services in 2025,
    when the reads are asked, then the year's visits, the month totals and the target agree."""
    province, commune, _ = place
    library = make_venue(admin_unit=commune, kind=LIB)
    elsewhere = make_venue(admin_unit=make_province(name="Tỉnh Bắc Ninh"), kind=LIB)
    walkin_record(venue=library, client_id="w1", count=7, recorded_at=local_datetime(dt.date(2025, 2, 3), dt.time(9)))
    walkin_record(venue=library, client_id="w2", count=3, recorded_at=local_datetime(dt.date(2025, 2, 28), dt.time(16)))
    walkin_record(venue=elsewhere, client_id="w3", count=100,
                  recorded_at=local_datetime(dt.date(2025, 2, 3), dt.time(9)))
    occurrence = held(library, dt.date(2025, 4, 21)).occurrences.get()
    manual_attendance_enter(occurrence_id=occurrence.pk, count=30)
    manual_attendance_enter(occurrence_id=occurrence.pk, count=25)  # a correction replaces it
    t = target(province, indicator=Indicator.VISITS, venue_kind=LIB, value=35)

    assert indicators.venue_year_visits([library.pk, elsewhere.pk], 2025) == {library.pk: 35, elsewhere.pk: 100}
    assert indicators.venue_year_visits([library.pk], 2024) == {}
    months = indicators.unit_visits_by_month(province, 2025)
    assert months == [0, 10, 0, 25, 0, 0, 0, 0, 0, 0, 0, 0]
    assert indicators.unit_visits_by_month([elsewhere.pk], 2025)[1] == 100
    assert indicators.unit_year_visits(province, 2025) == 35
    assert indicators.unit_year_visits(province, 2025, until=dt.date(2025, 3, 1)) == 10
    assert indicators.visits_by_category(province, 2025) == {"": 10, "reading": 25}
    assert evaluate(t, today=AFTER_2025).status == Status.MET


# -- a unit's results --------------------------------------------------------------------------


def _unit_with_targets(province, communes, *, venues_per_commune):
    for i, commune in enumerate(communes):
        for j in range(venues_per_commune):
            kind, tier = [(LIB, T.DISTRICT), (LIB, T.COMMUNE), (MUS, T.PROVINCIAL)][j % 3]
            venue = make_venue(admin_unit=commune, kind=kind, tier=tier)
            visits(venue, dt.date(2024, 5, 1), walk_ins=100 + i)
            visits(venue, dt.date(2025, 5, 1), walk_ins=110 + j, checked_in=1 if tier == T.COMMUNE else 0)
            held(venue, dt.date(2025, 5, 18), category="exhibition" if kind == MUS else "reading",
                 registration_required=True)


def _fifteen_targets(province):
    for tier, value in [(T.DISTRICT, 70), (T.COMMUNE, 40), (T.SCHOOL, 70)]:
        target(province, indicator=Indicator.LIFELONG_LEARNING_SHARE, venue_kind=LIB, venue_tier=tier, value=value)
        target(province, indicator=Indicator.DIGITAL_SHARE, venue_kind=LIB, venue_tier=tier, value=value)
    target(province, indicator=Indicator.VISITS_GROWTH, venue_kind=LIB, value=8)
    target(province, indicator=Indicator.LIFELONG_LEARNING_SHARE, venue_kind=MUS, venue_tier=T.PROVINCIAL, value=100)
    target(province, indicator=Indicator.VISITS, venue_kind=MUS, per_venue=True, value=15000)
    target(province, indicator=Indicator.VISITS, venue_kind=MUS, value=100)
    target(province, indicator=Indicator.ACTIVITIES, venue_kind=MUS, category="exhibition", value=2, value_max=4)
    target(province, indicator=Indicator.ACTIVITIES, venue_kind=MUS, category="experiential", value=2,
           days=("museum-day", "heritage-day"))
    for label in ("Hiện vật số hóa", "Hiện vật sưu tầm", "Thuyết minh viên"):
        t = target(province, indicator=Indicator.MANUAL, value=2, label=label)
        manual_value_enter(t.pk, 3)
    target(province, indicator=Indicator.VISITS, value=1, year=2024)  # another year: not shown


@pytest.mark.parametrize("venues_per_commune", [3, 9])
def test_unit_results_cost_a_bounded_number_of_queries(place, django_assert_max_num_queries, venues_per_commune):
    """Given 15 targets of every indicator for a province with several venues, when its 2025 results are
    computed, then they all come back in at most 15 queries, whatever the number of venues."""
    province, commune, other = place
    _unit_with_targets(province, [commune, other], venues_per_commune=venues_per_commune)
    _fifteen_targets(province)

    with django_assert_max_num_queries(15):
        results = unit_results(province, 2025, today=AFTER_2025)

    assert len(results) == 15
    by = {(r.indicator, r.target.venue_tier, r.target.category, r.target.per_venue): r for r in results}
    assert by[(Indicator.DIGITAL_SHARE, T.COMMUNE, "", False)].value == Decimal("100.00")  # QR check-ins
    assert by[(Indicator.DIGITAL_SHARE, T.DISTRICT, "", False)].value == Decimal("0.00")
    assert by[(Indicator.ACTIVITIES, "", "exhibition", False)].value == 2 * venues_per_commune // 3
    assert by[(Indicator.MANUAL, "", "", False)].status == Status.MET
    assert by[(Indicator.VISITS_GROWTH, "", "", False)].value is not None


def test_a_commune_sees_its_provinces_set_targets_measured_over_its_own_venues(place):
    """Given a province-wide digital share target for commune libraries and a province visits sum,
    when a commune's results are computed, then only the share appears, measured over the commune's venues."""
    province, commune, other = place
    here = make_venue(admin_unit=commune, kind=LIB, tier=T.COMMUNE)
    there = make_venue(admin_unit=other, kind=LIB, tier=T.COMMUNE)
    visits(here, dt.date(2025, 3, 1), checked_in=5)
    visits(there, dt.date(2025, 3, 1), walk_ins=5)
    share = target(province, indicator=Indicator.DIGITAL_SHARE, venue_kind=LIB, venue_tier=T.COMMUNE, value=50)
    target(province, indicator=Indicator.VISITS, value=10)

    results = unit_results(commune, 2025, today=AFTER_2025)

    assert [r.target for r in results] == [share]
    assert results[0].value == Decimal("100.00")
    assert evaluate(share, today=AFTER_2025).value == Decimal("50.00")
    assert len(unit_results(province, 2025, today=AFTER_2025)) == 2
    assert list(indicators.venues_in_scope(share)) == sorted([here, there], key=lambda v: v.name)
