"""python -m bench [--scale N] [--requests 50] [--warmups 5] [--keep] [--skip-door | --door-only] [--national full|quick|skip]

Environment: BENCH_DATABASE_URL=postgres://... to run on PostgreSQL (the
database must be empty, or pass --reset to flush it first). Without it the run
uses a temporary SQLite file, removed afterwards unless --keep.

Then the door benchmark (bench.door, in its own process): check-in and a
registration burst over gunicorn + PostgreSQL (BENCH_DOOR_SERVER, default
postgres://postgres@127.0.0.1:5432) on a temporary database, appended to the
same results file. If PostgreSQL is unreachable it says so and is skipped.
`python -m bench.door --help` lists its own options.

Last, the national benchmark (bench.national, in its own process): the province
dashboard, the indicators and the annual report over 3,000 venues, 5 years and
~10 million check-ins in the PostgreSQL database `bench_national`, generated once
(~20–30 min, ~15 GB) and reused while its parameters match; written to
bench/results/national.md. `--national quick` runs it at 300 venues, 2 years;
`--national skip` leaves it out.
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"

LISTING_AIM_MS = 50
FEED_AIM_MS = 150


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the 200 venues (default 1)")
    parser.add_argument("--programmes", type=int, default=10, help="weekly programmes per venue (default 10)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per URL (default 50)")
    parser.add_argument("--warmups", type=int, default=5, help="untimed requests first (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary SQLite database")
    parser.add_argument("--reset", action="store_true", help="flush a non-empty BENCH_DATABASE_URL database first")
    door = parser.add_mutually_exclusive_group()
    door.add_argument("--skip-door", action="store_true", help="only the listing/feed measurements")
    door.add_argument("--door-only", action="store_true", help="only the door benchmark (bench.door)")
    parser.add_argument(
        "--reminders", type=int, default=50_000, help="reminders due in one minute for bench.reminders (default 50,000)"
    )
    parser.add_argument(
        "--national", choices=("full", "quick", "skip"), default="full",
        help="bench.national at full scale (default), quick (300 venues, 2 years) or skip",
    )
    return parser.parse_args(argv)


def configure(database_url: str, workdir: str) -> None:
    """Production-like settings (DEBUG off) on the bench database; this must run
    before Django reads its settings."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = database_url
    # An empty static root, so whitenoise has a directory to serve from.
    os.environ["STATIC_ROOT"] = os.path.join(workdir, "static")
    os.makedirs(os.environ["STATIC_ROOT"], exist_ok=True)
    os.environ["DEBUG"] = "0"
    os.environ["SECRET_KEY"] = "bench-only-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    os.environ["SECURE_COOKIES"] = "false"
    os.environ["TESTING"] = "1"  # plain static storage: no collectstatic manifest is needed
    # Local memory cache and eager Celery, whatever the shell exports.
    os.environ["REDIS_URL"] = ""
    os.environ["CELERY_BROKER_URL"] = ""
    os.environ.setdefault("LOG_LEVEL", "WARNING")


def main(argv=None) -> int:
    args = parse_args(argv)
    # The door benchmark configures Django its own way, in its own process, from
    # the environment as it was before the listing part changed it.
    environment = dict(os.environ)
    status = 0 if args.door_only else listing(args)
    if args.skip_door:
        return status
    print("\nDoor benchmark (python -m bench.door)", flush=True)
    process = subprocess.Popen([sys.executable, "-m", "bench.door"], cwd=ROOT, env=environment)
    try:
        door = process.wait()
    except KeyboardInterrupt:
        # The door benchmark got the Ctrl-C too: let it stop gunicorn and drop its database.
        process.wait(timeout=60)
        return 130
    if door == DOOR_SKIPPED:
        print("The door benchmark was skipped: PostgreSQL is unreachable (see above).")
    elif door != 0:
        print(f"The door benchmark failed (exit status {door}).", file=sys.stderr)
        status = status or door
    if args.door_only:
        return status
    # Reminders last: the door part rewrites its own section to the end of the file.
    print("\nReminders benchmark (python -m bench.reminders)", flush=True)
    reminders = subprocess.call(
        [sys.executable, "-m", "bench.reminders", "--count", str(args.reminders), "--time-limit", "240"],
        cwd=ROOT,
        env=environment,
    )
    if reminders == DOOR_SKIPPED:
        print("The reminders benchmark was skipped: PostgreSQL or Redis is unreachable (see above).")
    elif reminders != 0:
        print(f"The reminders benchmark did not finish cleanly (exit status {reminders}).", file=sys.stderr)
        status = status or reminders
    if args.national != "skip":
        print("\nNational benchmark (python -m bench.national)", flush=True)
        national = subprocess.call(
            [sys.executable, "-m", "bench.national", *(["--quick"] if args.national == "quick" else [])],
            cwd=ROOT,
            env=environment,
        )
        if national == DOOR_SKIPPED:
            print("The national benchmark was skipped: PostgreSQL is unreachable (see above).")
        elif national != 0:
            print(f"The national benchmark failed (exit status {national}).", file=sys.stderr)
            status = status or national
    return status


DOOR_SKIPPED = 75  # bench.door.SKIPPED


def listing(args) -> int:
    sys.path.insert(0, str(ROOT))
    database_url = os.getenv("BENCH_DATABASE_URL", "")
    workdir = tempfile.mkdtemp(prefix="bench-")
    on_sqlite = not database_url
    if on_sqlite:
        database_url = f"sqlite:///{workdir}/bench.sqlite3"
    configure(database_url, workdir)

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from bench.generate import generate
    from bench.measure import markdown_table, measure
    from bench.urls import BASELINE_PATH
    from events.models import Occurrence, Programme
    from venues.models import AdminUnit, Venue

    try:
        vendor = connection.vendor
        print(f"Bench database: {vendor} ({'temporary file in ' + workdir if on_sqlite else 'BENCH_DATABASE_URL'})")
        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        print(f"  migrate: {time.perf_counter() - started:.1f} s")
        if Venue.objects.exists() or AdminUnit.objects.exists():
            if not args.reset:
                print("The bench database is not empty; pass --reset to flush it.", file=sys.stderr)
                return 2
            call_command("flush", verbosity=0, interactive=False)
            call_command("migrate", verbosity=0, interactive=False)  # reference rows seeded by migrations

        print(f"Generating: {args.scale:g} × 200 venues × {args.programmes} weekly programmes over a year")
        generated = generate(scale=args.scale, programmes_per_venue=args.programmes)

        busiest = (
            Venue.objects.filter(programmes__isnull=False).order_by("pk").values_list("slug", flat=True).first()
        )
        province = (
            AdminUnit.objects.filter(level=AdminUnit.Level.PROVINCE, children__venues__isnull=False)
            .order_by("code").values_list("code", flat=True).first()
        )
        targets = [
            ("listing", "/", {}, LISTING_AIM_MS),
            ("listing, filtered", f"/?province={province}&category=club", {}, LISTING_AIM_MS),
            ("listing, free text", "/?q=doc+sach", {}, LISTING_AIM_MS),
            ("listing, page 5", "/?page=5", {}, LISTING_AIM_MS),
            ("venue feed", f"/calendar/venue/{busiest}.ics", {}, FEED_AIM_MS),
        ]
        print(f"Measuring: {args.requests} requests after {args.warmups} warm-ups each")
        results = []
        with override_settings(ROOT_URLCONF="bench.urls"):
            baseline = measure("baseline: one row", BASELINE_PATH, requests=args.requests, warmups=args.warmups)
            results.append(baseline)
            for name, url, headers, aim in targets:
                result = measure(name, url, requests=args.requests, warmups=args.warmups, headers=headers, aim_ms=aim)
                results.append(result)
                print(f"  {name}: {'%.1f ms' % result.p50_ms if result.ok else result.error or result.status}")
                if name == "venue feed" and result.ok:
                    # A subscribed calendar polls with the ETag it has: the 304 path.
                    etag = Client().get(url).headers.get("ETag")
                    if etag:
                        results.append(measure(
                            "venue feed, If-None-Match", url, requests=args.requests, warmups=args.warmups,
                            headers={"if-none-match": etag}, aim_ms=aim,
                        ))

        table = markdown_table(results, baseline)
        header = [
            "# Benchmark",
            "",
            f"- when: {time.strftime('%Y-%m-%d %H:%M %Z')}",
            f"- database: {vendor}; Python {platform.python_version()}, Django {django.get_version()}; "
            "DEBUG off, in-process test client",
            f"- data: {Venue.objects.count()} venues, {Programme.objects.count()} weekly programmes, "
            f"{Occurrence.objects.count()} occurrences ({generated.cancelled} cancelled, {generated.moved} moved), "
            f"{AdminUnit.objects.count()} administrative units; generated in {generated.seconds:.1f} s",
            f"- method: {args.warmups} warm-ups, then {args.requests} timed requests per URL; "
            "queries counted on separate requests",
            "",
        ]
        report = "\n".join(header) + "\n" + table + "\n"
        print()
        print(table)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "latest.md").write_text(report, encoding="utf-8")
        print(f"\nWritten to {(RESULTS / 'latest.md').relative_to(ROOT)}")
        return 0
    finally:
        connection.close()
        if args.keep and on_sqlite:
            print(f"Kept {workdir}/bench.sqlite3")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
