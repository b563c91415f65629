"""Load the numeric targets of the provincial plans (targets.presets) as Target rows.

    manage.py load_plan_targets --plan hung-yen            # Kế hoạch 66/KH-UBND (Hưng Yên)
    manage.py load_plan_targets --plan bac-giang           # Kế hoạch 74/KH-UBND (Bắc Giang)
    manage.py load_plan_targets --plan all
    manage.py load_plan_targets --plan bac-giang --unit G24-tinh-bac-giang-cu

Which unit a plan is attached to: `--unit CODE` when given (a province or a reporting group).
Otherwise the plan's area since 1/7/2025 decides: Bắc Giang is now part of Bắc Ninh (P24) and
Hưng Yên was merged with Thái Bình (P33), so a plan is attached to the reporting group of the
former province when the current province has one whose name contains the former province's name
(e.g. "Tỉnh Bắc Giang (cũ)", made with `load_admin_units --group`), else to the current
province itself (its targets then cover the whole merged province). Load the units first
(`load_admin_units`).

Idempotent: targets are keyed on their preset; a re-run writes only what differs.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from common.text import unaccent
from events.models import CommemorativeDay
from targets.models import Target
from targets.presets import PLANS, TARGET_FIELDS, presets_for
from venues.models import AdminUnit


def _norm(text: str) -> str:
    return " ".join(unaccent(text).lower().split())


def plan_unit(plan: str, code: str | None = None) -> AdminUnit:
    """The unit a plan's targets are attached to (see the module docstring)."""
    if code:
        unit = AdminUnit.objects.filter(code=code.strip()).first()
        if unit is None:
            raise CommandError(f"No administrative unit with code {code!r}: run load_admin_units first, or check the code.")
        if unit.level == AdminUnit.Level.COMMUNE:
            raise CommandError(f"{unit.name} ({unit.code}) is a commune: attach a provincial plan to a province or a reporting group.")
        return unit
    info = PLANS[plan]
    province = AdminUnit.objects.filter(code=info["province_code"], level=AdminUnit.Level.PROVINCE).first()
    if province is None:
        number = info["province_code"].lstrip("P")
        raise CommandError(
            f"Province {info['province_code']} is not loaded: run `manage.py load_admin_units --province {number}` "
            f"first, or pass --unit CODE."
        )
    former = _norm(info["former_name"])
    groups = [
        g for g in AdminUnit.objects.filter(parent=province, level=AdminUnit.Level.GROUP).order_by("code")
        if former in _norm(g.name)
    ]
    if len(groups) > 1:
        listed = ", ".join(f"{g.code} ({g.name})" for g in groups)
        raise CommandError(f"Several reporting groups could be former {info['former_name']}: {listed}. Pass --unit CODE.")
    return groups[0] if groups else province


@transaction.atomic
def plan_targets_load(plan: str, unit: AdminUnit) -> dict:
    """Create or update the plan's targets on `unit`. Returns counts: created, updated, unchanged."""
    presets = presets_for(plan)
    slugs = {s for p in presets for s in p["commemorative_days"]}
    days = {d.slug: d for d in CommemorativeDay.objects.filter(slug__in=slugs)}
    missing = sorted(slugs - set(days))
    if missing:
        raise CommandError(f"Commemorative days not in the database: {', '.join(missing)} (run migrate).")
    existing = {
        t.preset: t
        for t in Target.objects.filter(preset__in=[p["preset"] for p in presets]).prefetch_related("commemorative_days")
    }
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for preset in presets:
        wanted = {f: preset[f] for f in TARGET_FIELDS}
        target = existing.get(preset["preset"])
        if target is None:
            target = Target(preset=preset["preset"], admin_unit=unit, **wanted)
            target.full_clean(exclude=["preset"])
            target.save()
            target.commemorative_days.set([days[s] for s in preset["commemorative_days"]])
            counts["created"] += 1
            continue
        changed = target.admin_unit_id != unit.pk or target.venue_id is not None
        for name, value in wanted.items():
            current = getattr(target, name)
            if (current is None) != (value is None) or (value is not None and current != type(current)(value)):
                changed = True
            setattr(target, name, value)
        target.admin_unit, target.venue = unit, None
        same_days = {d.slug for d in target.commemorative_days.all()} == set(preset["commemorative_days"])
        if changed:
            target.full_clean(exclude=["preset"])
            target.save()
        if not same_days:
            target.commemorative_days.set([days[s] for s in preset["commemorative_days"]])
        counts["updated" if changed or not same_days else "unchanged"] += 1
    return counts


class Command(BaseCommand):
    help = "Load the numeric targets of a provincial plan (bac-giang, hung-yen or all) as targets."

    def add_arguments(self, parser):
        parser.add_argument("--plan", required=True, help=f"One of: {', '.join(PLANS)}, all.")
        parser.add_argument("--unit", help="Code of the province or reporting group to attach the plan to.")

    def handle(self, *args, plan, unit=None, **options):
        plan = (plan or "").strip().lower()
        if plan != "all" and plan not in PLANS:
            raise CommandError(f"Unknown plan {plan!r}: choose one of {', '.join(PLANS)} or all.")
        plans = list(PLANS) if plan == "all" else [plan]
        if unit and len(plans) > 1:
            raise CommandError("--unit goes with one plan: the plans belong to different provinces.")
        for name in plans:
            target_unit = plan_unit(name, unit)
            counts = plan_targets_load(name, target_unit)
            self.stdout.write(
                f"{PLANS[name]['title']} → {target_unit.name} ({target_unit.code}): "
                f"{counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged."
            )
