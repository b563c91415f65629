"""Load Vietnam's provinces and communes/wards (the map since 1 July 2025) as AdminUnit rows.

    manage.py load_admin_units                      # all 34 provinces and 3,321 communes
    manage.py load_admin_units --province 33        # one province (33 or P33) and its communes
    manage.py load_admin_units --province 33 --group "Huyện Khoái Châu (cũ)" \
        --members W12205,W12220,W12238              # a reporting group of communes

The data comes from the `vietnam-provinces` package. Codes are the package's
numeric codes with a prefix, so province and commune codes never collide:
"P33" (Hưng Yên), "W11953" (Phường Phố Hiến). Reporting groups get "G..." codes.
Re-running changes nothing: rows are compared first and only what differs is written.
"""

import re
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.text import slugify
from vietnam_provinces import Province, Ward

from common.text import unaccent
from venues.models import AdminUnit

BATCH_SIZE = 500
FIELDS = ("name", "level", "division_type", "parent_id")


def province_code(number: int) -> str:
    return f"P{number:02d}"


def ward_code(number: int) -> str:
    return f"W{number:05d}"


def _clean(name: str) -> str:
    # The package has stray double spaces ("Xã  Bắc Đông Quan").
    return " ".join(name.split())


def _province_name(province: Province) -> str:
    # The package spells some provinces with their type ("Thành phố Huế") and
    # others without ("Hưng Yên"); people write "Tỉnh Hưng Yên".
    name = _clean(province.name)
    if name.lower().startswith(("tỉnh ", "thành phố ")):
        return name
    return f"{province.division_type.value.capitalize()} {name}"


def parse_province(value: str) -> int:
    """The package's number of a province from "33", "P33" or "p33"."""
    match = re.fullmatch(r"[Pp]?0*(\d{1,3})", (value or "").strip())
    if not match:
        raise CommandError(f"Unknown province code {value!r}: give the number (33) or P33.")
    number = int(match.group(1))
    if number not in {int(p.code) for p in Province.iter_all()}:
        raise CommandError(f"No province with code {value!r} in vietnam-provinces.")
    return number


def parse_ward(value: str) -> str:
    match = re.fullmatch(r"[Ww]?0*(\d{1,5})", (value or "").strip())
    if not match:
        raise CommandError(f"Unknown commune code {value!r}: give the number (12205) or W12205.")
    return ward_code(int(match.group(1)))


@dataclass
class LoadResult:
    provinces_created: int = 0
    provinces_updated: int = 0
    provinces_total: int = 0
    communes_created: int = 0
    communes_updated: int = 0
    communes_total: int = 0

    def __str__(self):
        return (
            f"Provinces: {self.provinces_total} ({self.provinces_created} created, {self.provinces_updated} updated); "
            f"communes/wards: {self.communes_total} ({self.communes_created} created, {self.communes_updated} updated)"
        )


def _sync(rows: list[AdminUnit]) -> tuple[int, int]:
    """Create missing rows and update changed ones, keyed on code. Returns (created, updated)."""
    existing = {u.code: u for u in AdminUnit.objects.filter(code__in=[r.code for r in rows])}
    to_create, to_update = [], []
    for row in rows:
        current = existing.get(row.code)
        if current is None:
            to_create.append(row)
        elif any(getattr(current, f) != getattr(row, f) for f in FIELDS):
            for f in FIELDS:
                setattr(current, f, getattr(row, f))
            to_update.append(current)
    AdminUnit.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
    AdminUnit.objects.bulk_update(to_update, ["name", "level", "division_type", "parent"], batch_size=BATCH_SIZE)
    return len(to_create), len(to_update)


@transaction.atomic
def admin_units_load(*, province: int | None = None) -> LoadResult:
    """Load provinces and their communes from vietnam-provinces; `province` (the
    package's number, e.g. 33) limits it to one. Idempotent: only missing or
    changed rows are written. Units that left the map are kept (venues point at them)."""
    result = LoadResult()
    provinces = [p for p in Province.iter_all() if province is None or int(p.code) == province]
    rows = [
        AdminUnit(
            code=province_code(int(p.code)),
            name=_province_name(p),
            level=AdminUnit.Level.PROVINCE,
            division_type=p.division_type.value,
            parent_id=None,
        )
        for p in provinces
    ]
    result.provinces_created, result.provinces_updated = _sync(rows)
    result.provinces_total = len(rows)

    parent_ids = dict(
        AdminUnit.objects.filter(code__in=[r.code for r in rows]).values_list("code", "pk")
    )
    wanted = {int(p.code) for p in provinces}
    rows = [
        AdminUnit(
            code=ward_code(int(w.code)),
            name=_clean(w.name),
            level=AdminUnit.Level.COMMUNE,
            division_type=w.division_type.value,
            parent_id=parent_ids[province_code(int(w.province_code))],
        )
        for w in Ward.iter_all()
        if int(w.province_code) in wanted
    ]
    result.communes_created, result.communes_updated = _sync(rows)
    result.communes_total = len(rows)
    return result


def _group_code(number: int, name: str) -> str:
    return f"G{number:02d}-{slugify(unaccent(name))}"[:20].rstrip("-")


@transaction.atomic
def admin_group_upsert(*, name: str, province: int, members: list[str], code: str | None = None) -> tuple[AdminUnit, bool]:
    """Create or update a reporting group (e.g. a former district) of a province's
    communes; its members are replaced by `members` (commune codes). Returns (group, created).
    Raises CommandError when the province is not loaded or a member is not one of its communes."""
    name = _clean(name)
    if not name:
        raise CommandError("A group needs a name.")
    parent = AdminUnit.objects.filter(code=province_code(province), level=AdminUnit.Level.PROVINCE).first()
    if parent is None:
        raise CommandError(f"Province {province_code(province)} is not loaded: run load_admin_units --province {province} first.")
    codes = sorted({parse_ward(m) for m in members})
    if not codes:
        raise CommandError("A group needs --members (commune codes, comma-separated).")
    communes = list(AdminUnit.objects.filter(code__in=codes, level=AdminUnit.Level.COMMUNE, parent=parent))
    missing = sorted(set(codes) - {c.code for c in communes})
    if missing:
        raise CommandError(f"Not communes of {parent.name}: {', '.join(missing)}")
    explicit = bool(code)
    code = code or _group_code(province, name)
    group = AdminUnit.objects.filter(code=code).first()
    if group is not None and group.level != AdminUnit.Level.GROUP:
        raise CommandError(f"Code {code} belongs to {group.name}, which is not a reporting group.")
    if group is not None and group.name != name and not explicit:
        raise CommandError(f"Code {code} is taken by {group.name!r}: pass --code.")
    created = group is None
    if created:
        group = AdminUnit.objects.create(
            code=code, name=name, level=AdminUnit.Level.GROUP, division_type="nhóm báo cáo", parent=parent
        )
    elif (group.name, group.parent_id) != (name, parent.pk):
        group.name, group.parent = name, parent
        group.save(update_fields=["name", "parent"])
    group.members.set(communes)
    return group, created


class Command(BaseCommand):
    help = "Load the 34 provinces and 3,321 communes/wards (or one province), or add a reporting group."

    def add_arguments(self, parser):
        parser.add_argument("--province", help="Only this province: its number (33) or code (P33).")
        parser.add_argument("--group", metavar="NAME", help='Add or update a reporting group, e.g. "Huyện Khoái Châu (cũ)".')
        parser.add_argument("--members", default="", help="With --group: commune codes, comma-separated (W12205,W12220).")
        parser.add_argument("--code", help="With --group: the group's code (default: derived from the province and name).")

    def handle(self, *args, province=None, group=None, members="", code=None, **options):
        number = parse_province(province) if province else None
        if group is not None:
            if number is None:
                raise CommandError("--group needs --province.")
            unit, created = admin_group_upsert(
                name=group, province=number, members=[m for m in members.split(",") if m.strip()], code=code
            )
            verb = "Created" if created else "Updated"
            self.stdout.write(f"{verb} group {unit.code} {unit.name!r} with {unit.members.count()} communes.")
            return
        if members or code:
            raise CommandError("--members and --code go with --group.")
        result = admin_units_load(province=number)
        self.stdout.write(str(result))
