"""Recount visit totals (by day and by month) from raw rows (check-ins, walk-ins, attendance entered
by hand) and report every difference from the kept totals.

    manage.py rebuild_visit_counts            # report and repair
    manage.py rebuild_visit_counts --check    # only report; exit status 1 if any differ

Kept totals change in the same transaction as what they count, so a difference
means rows were changed outside the services (a database restore, a manual
UPDATE); the report says where.
"""

from django.core.management.base import BaseCommand

from attendance import totals


class Command(BaseCommand):
    help = "Recount visit totals from check-ins, walk-ins and hand-entered attendance; report differences."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Report differences only; change nothing.")
        parser.add_argument("--limit", type=int, default=50, help="Differences to list (default 50).")

    def handle(self, *args, check=False, limit=50, **options):
        found = totals.differences() if check else totals.rebuild()
        for difference in found[:limit]:
            if difference.level == "day":
                venue_id, day, occurrence_id, audience = difference.key
                where = f"venue {venue_id} {day:%d/%m/%Y} date {occurrence_id or '-'} audience {audience or '-'}"
            else:
                venue_id, month, category, audience = difference.key
                where = f"venue {venue_id} month {month:%m/%Y} category {category or '-'} audience {audience or '-'}"
            self.stdout.write(
                f"{where}: kept (checked in, walk-ins, manual) {difference.kept} → recounted {difference.recounted}"
            )
        if len(found) > limit:
            self.stdout.write(f"… and {len(found) - limit} more.")
        if not found:
            self.stdout.write(self.style.SUCCESS("Visit totals match the raw rows."))
        elif check:
            self.stdout.write(self.style.WARNING(f"{len(found)} totals differ (nothing changed)."))
            raise SystemExit(1)
        else:
            self.stdout.write(self.style.SUCCESS(f"{len(found)} totals differed and were rebuilt."))
