"""Benchmark: generate a realistic amount of data, then time the public listing
and a venue iCal feed against a bare Django view that reads one row.

    python -m bench [--scale N]      # make bench

It runs on its own database (a temporary SQLite file, or PostgreSQL when
BENCH_DATABASE_URL is set) and never touches the development database.
"""
