"""manage.py load_admin_units: the map since 1 July 2025, and reporting groups."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from venues.models import AdminUnit


def run(*args) -> str:
    out = StringIO()
    call_command("load_admin_units", *args, stdout=out)
    return out.getvalue()


def test_it_loads_every_province_and_commune(db):
    # when
    output = run()

    # then
    assert AdminUnit.objects.filter(level=AdminUnit.Level.PROVINCE).count() == 34
    assert AdminUnit.objects.filter(level=AdminUnit.Level.COMMUNE).count() == 3321
    assert not AdminUnit.objects.filter(level=AdminUnit.Level.COMMUNE, parent__isnull=True).exists()
    assert not AdminUnit.objects.filter(level=AdminUnit.Level.PROVINCE, parent__isnull=False).exists()
    assert "Provinces: 34 (34 created" in output
    assert "communes/wards: 3321 (3321 created" in output

    hung_yen = AdminUnit.objects.get(code="P33")
    assert hung_yen.name == "Tỉnh Hưng Yên"
    assert hung_yen.division_type == "tỉnh"
    assert AdminUnit.objects.get(code="P01").name == "Thành phố Hà Nội"
    pho_hien = AdminUnit.objects.get(code="W11953")
    assert (pho_hien.name, pho_hien.division_type, pho_hien.parent) == ("Phường Phố Hiến", "phường", hung_yen)
    assert hung_yen.children.count() == 104
    # The package's stray double space is not carried over.
    assert AdminUnit.objects.get(code="W12745").name == "Xã Bắc Đông Quan"


def test_a_second_run_changes_nothing(db):
    # given
    run()
    before = list(AdminUnit.objects.order_by("pk").values_list("pk", "code", "name", "parent_id"))

    # when
    output = run()

    # then
    assert "(0 created, 0 updated)" in output
    assert output.count("0 created, 0 updated") == 2
    assert list(AdminUnit.objects.order_by("pk").values_list("pk", "code", "name", "parent_id")) == before


def test_a_changed_unit_is_put_back(db):
    # given
    run("--province", "33")
    AdminUnit.objects.filter(code="W11953").update(name="Phường cũ")

    # when
    output = run("--province", "33")

    # then
    assert "communes/wards: 104 (0 created, 1 updated)" in output
    assert AdminUnit.objects.get(code="W11953").name == "Phường Phố Hiến"


@pytest.mark.parametrize("code", ["33", "P33", "p33"])
def test_province_option_loads_one_province_and_its_communes(db, code):
    # when
    run("--province", code)

    # then
    assert list(AdminUnit.objects.filter(level=AdminUnit.Level.PROVINCE).values_list("code", flat=True)) == ["P33"]
    assert AdminUnit.objects.filter(level=AdminUnit.Level.COMMUNE, parent__code="P33").count() == 104
    assert AdminUnit.objects.count() == 105


def test_an_unknown_province_is_refused(db):
    with pytest.raises(CommandError, match="No province"):
        run("--province", "99")
    with pytest.raises(CommandError, match="Unknown province"):
        run("--province", "Hưng Yên")
    assert not AdminUnit.objects.exists()


def test_a_reporting_group_gathers_communes_of_its_province(db):
    # given
    run("--province", "33")
    members = "W12205,12220,W12238"

    # when
    output = run("--province", "P33", "--group", "Huyện Khoái Châu (cũ)", "--members", members)

    # then
    group = AdminUnit.objects.get(level=AdminUnit.Level.GROUP)
    assert group.name == "Huyện Khoái Châu (cũ)"
    assert group.parent.code == "P33"
    assert sorted(group.members.values_list("code", flat=True)) == ["W12205", "W12220", "W12238"]
    assert output.startswith(f"Created group {group.code}")


def test_a_reporting_group_is_updated_not_duplicated(db):
    # given
    run("--province", "33")
    run("--province", "33", "--group", "Huyện Khoái Châu (cũ)", "--members", "W12205,W12220")

    # when
    output = run("--province", "33", "--group", "Huyện Khoái Châu (cũ)", "--members", "W12205,W12238,W12247")

    # then
    group = AdminUnit.objects.get(level=AdminUnit.Level.GROUP)
    assert sorted(group.members.values_list("code", flat=True)) == ["W12205", "W12238", "W12247"]
    assert output.startswith("Updated group")


def test_a_group_takes_an_explicit_code(db):
    run("--province", "33")

    run("--province", "33", "--group", "Thành phố Thái Bình (cũ)", "--code", "G33-TPTB", "--members", "W13225,W12454")

    assert AdminUnit.objects.get(code="G33-TPTB").members.count() == 2


def test_a_group_refuses_communes_of_another_province(db):
    # given: Phường Hoàn Kiếm is in Hà Nội
    run()

    # when / then
    with pytest.raises(CommandError, match="W00070"):
        run("--province", "33", "--group", "Nhóm sai", "--members", "W12205,W00070")
    assert not AdminUnit.objects.filter(level=AdminUnit.Level.GROUP).exists()


def test_a_group_needs_its_province_and_members(db):
    with pytest.raises(CommandError, match="needs --province"):
        run("--group", "Huyện Khoái Châu (cũ)", "--members", "W12205")
    with pytest.raises(CommandError, match="not loaded"):
        run("--province", "33", "--group", "Huyện Khoái Châu (cũ)", "--members", "W12205")
    run("--province", "33")
    with pytest.raises(CommandError, match="needs --members"):
        run("--province", "33", "--group", "Huyện Khoái Châu (cũ)")
