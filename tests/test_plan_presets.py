"""manage.py load_plan_targets: the plans' numeric targets loaded idempotently onto the right unit."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from targets.indicators import Status, evaluate, unit_results
from targets.models import Indicator, Target
from targets.presets import PRESETS
from tests.factories import make_commune, make_province
from venues.models import AdminUnit, Venue

BG_SOURCE = "Kế hoạch 74/KH-UBND ngày 11/04/2023 của UBND tỉnh Bắc Giang"
HY_SOURCE = "Kế hoạch 66/KH-UBND ngày 14/04/2023 của UBND tỉnh Hưng Yên"


def run(*args) -> str:
    out = StringIO()
    call_command("load_plan_targets", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def provinces(db):
    return make_province(name="Tỉnh Bắc Ninh", code="P24"), make_province(name="Tỉnh Hưng Yên", code="P33")


def test_loading_twice_changes_nothing(provinces):
    """Given both provinces loaded, when every plan is loaded twice,
    then the second run creates and updates nothing and the rows are the same."""
    first = run("--plan", "all")
    before = list(Target.objects.order_by("pk").values_list("pk", "preset", "value", "value_max", "admin_unit"))

    second = run("--plan", "all")

    assert Target.objects.count() == len(PRESETS)
    assert f"{sum(1 for p in PRESETS if p['plan'] == 'hung-yen')} created" in first
    assert second.count("0 created, 0 updated") == 2
    assert list(Target.objects.order_by("pk").values_list("pk", "preset", "value", "value_max", "admin_unit")) == before


def test_a_changed_target_is_put_back(provinces):
    """Given a loaded plan whose target was edited and whose days were removed,
    when it is loaded again, then the plan's value and days come back and the run says 1 updated."""
    run("--plan", "hung-yen")
    museum = Target.objects.get(preset="hung-yen-66-2023/2025/museum-experiential-education")
    Target.objects.filter(pk=museum.pk).update(value=1)
    museum.commemorative_days.clear()

    output = run("--plan", "hung-yen")

    museum.refresh_from_db()
    assert museum.value == 2
    assert sorted(museum.commemorative_days.values_list("slug", flat=True)) == [
        "ethnic-cultures-day", "heritage-day", "museum-day",
    ]
    assert "1 updated" in output


def test_known_values_of_the_hung_yen_plan(provinces):
    """Given Hưng Yên loaded, when its plan is loaded, then the growth targets (on average 6–8 % a
    year to 2025, 8–10 % a year to 2030, each over its period) and the museum's 2–3 experiential
    activities sit on P33 with their source."""
    _, hung_yen = provinces

    run("--plan", "hung-yen")

    growth = Target.objects.get(preset="hung-yen-66-2023/2025/library-visits-growth")
    assert (growth.indicator, growth.value, growth.value_max) == (Indicator.VISITS_GROWTH, 6, 8)
    assert (growth.venue_kind, growth.admin_unit) == (Venue.Kind.LIBRARY, hung_yen)
    assert growth.source_document.startswith(HY_SOURCE + ", mục II.2")
    later = Target.objects.get(preset="hung-yen-66-2023/2030/library-visits-growth")
    assert (later.value, later.value_max, later.year) == (8, 10, 2030)
    assert (growth.base_year, later.base_year) == (2022, 2025)
    museum = Target.objects.get(preset="hung-yen-66-2023/2025/museum-experiential-education")
    assert (museum.indicator, museum.category, museum.value, museum.value_max) == (
        Indicator.ACTIVITIES, "experiential", 2, 3,
    )
    assert (museum.venue_kind, museum.venue_tier) == (Venue.Kind.MUSEUM, Venue.Tier.PROVINCIAL)
    assert not Target.objects.filter(preset__startswith="bac-giang").exists()


def test_known_values_of_the_bac_giang_plan(provinces):
    """Given Bắc Ninh (which Bắc Giang joined on 1/7/2025) with no group for the former province,
    when the Bắc Giang plan is loaded, then its tier shares and museum visits sit on P24 with their source."""
    bac_ninh, _ = provinces

    output = run("--plan", "bac-giang")

    district = Target.objects.get(preset="bac-giang-74-2023/2025/lll-share/district-library")
    assert (district.indicator, district.value, district.venue_kind, district.venue_tier) == (
        Indicator.LIFELONG_LEARNING_SHARE, 70, Venue.Kind.LIBRARY, Venue.Tier.DISTRICT,
    )
    assert district.admin_unit == bac_ninh
    assert district.source_document == BG_SOURCE + ", mục II.2.1"
    commune_digital = Target.objects.get(preset="bac-giang-74-2023/2030/digital-share/commune-library")
    assert commune_digital.value == 30
    museum = Target.objects.get(preset="bac-giang-74-2023/2025/museum-visits")
    assert (museum.indicator, museum.per_venue, museum.value, museum.value_max) == (
        Indicator.VISITS, True, 15000, 18000,
    )
    assert Target.objects.get(preset="bac-giang-74-2023/2030/museum-visits").value == 20000
    digitised = Target.objects.get(preset="bac-giang-74-2023/2025/museum-artifacts-digitised")
    assert (digitised.indicator, digitised.value, digitised.value_max) == (Indicator.MANUAL, 50, 100)
    assert digitised.label
    assert "Tỉnh Bắc Ninh (P24)" in output


def test_the_bac_giang_plan_goes_to_the_former_provinces_reporting_group(provinces):
    """Given a reporting group "Tỉnh Bắc Giang (cũ)" in Bắc Ninh, when the plan is loaded,
    then its targets are attached to the group, and both the group's and Bắc Ninh's dashboards show them."""
    bac_ninh, _ = provinces
    commune = make_commune(province=bac_ninh, name="Phường Bắc Giang")
    group = AdminUnit.objects.create(code="G24-bac-giang", name="Tỉnh Bắc Giang (cũ)", level="group", parent=bac_ninh)
    group.members.add(commune)

    run("--plan", "bac-giang")

    assert set(Target.objects.values_list("admin_unit", flat=True)) == {group.pk}
    manual = Target.objects.get(preset="bac-giang-74-2023/2025/private-museums")
    assert evaluate(manual).status == Status.NO_DATA  # not entered yet
    count_2025 = sum(1 for p in PRESETS if p["plan"] == "bac-giang" and p["year"] == 2025)
    assert len(unit_results(group, 2025)) == count_2025
    assert len(unit_results(bac_ninh, 2025)) == count_2025


def test_an_explicit_unit_wins(provinces):
    """Given --unit P33, when the Bắc Giang plan is loaded, then it goes there."""
    _, hung_yen = provinces

    run("--plan", "bac-giang", "--unit", "P33")

    assert set(Target.objects.values_list("admin_unit", flat=True)) == {hung_yen.pk}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--plan", "ha-noi"), "Unknown plan 'ha-noi'"),
        (("--plan", "hung-yen", "--unit", "P99"), "No administrative unit with code 'P99'"),
        (("--plan", "all", "--unit", "P33"), "--unit goes with one plan"),
    ],
)
def test_bad_arguments_get_a_clear_message(provinces, args, message):
    """Given a wrong plan or unit, when the command runs, then it stops with a clear CommandError."""
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not Target.objects.exists()


def test_a_province_not_loaded_is_explained(db):
    """Given no provinces, when a plan is loaded, then the message says to load the units first."""
    with pytest.raises(CommandError, match="load_admin_units --province 33"):
        run("--plan", "hung-yen")


def test_a_commune_is_refused_as_a_plans_unit(provinces):
    """Given a commune code, when it is given as --unit, then the command refuses it."""
    commune = make_commune(province=provinces[1], code="W11953")

    with pytest.raises(CommandError, match="is a commune"):
        run("--plan", "hung-yen", "--unit", commune.code)


def test_every_preset_is_a_valid_target():
    """Given the presets, then keys are unique, fit the column, and shares are percentages."""
    keys = [p["preset"] for p in PRESETS]
    assert len(keys) == len(set(keys))
    assert max(map(len, keys)) <= Target._meta.get_field("preset").max_length
    for p in PRESETS:
        if p["indicator"] in {Indicator.LIFELONG_LEARNING_SHARE, Indicator.DIGITAL_SHARE}:
            assert 0 <= p["value"] <= 100
        if p["value_max"] is not None:
            assert Decimal(p["value_max"]) >= Decimal(p["value"])
        assert "mục II.2" in p["source_document"]


def test_the_admin_lists_targets_and_shows_manual_history_read_only(provinces, client):
    """Given a loaded plan and a manual value corrected once, when a superuser opens the targets admin,
    then the list filters by year and the target's page shows both values without an editable form row."""
    from django.contrib.auth import get_user_model

    from targets.services import manual_value_enter

    run("--plan", "bac-giang")
    manual = Target.objects.get(preset="bac-giang-74-2023/2025/museum-guides")
    manual_value_enter(manual.pk, 2)
    manual_value_enter(manual.pk, 3, "sau khi rà soát")
    client.force_login(get_user_model().objects.create_superuser("root", password="pw-for-tests-1"))

    listing = client.get("/admin/targets/target/?year=2025")
    page = client.get(f"/admin/targets/target/{manual.pk}/change/")

    assert listing.status_code == 200
    assert "Bắc Giang" in listing.content.decode()
    assert page.status_code == 200
    body = page.content.decode()
    assert "sau khi rà soát" in body
    assert 'name="manual_values-0-value"' not in body
