"""Run a benchmark on SQLite and, when TEST_DATABASE_URL names a PostgreSQL server, in a throwaway schema there."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text


def on_each_database(run: Callable[[str, str], None]) -> None:
    """Call `run(name, database_url)` for SQLite, then PostgreSQL if it is configured (else say it was skipped)."""
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        print("\nPostgreSQL: skipped (TEST_DATABASE_URL is not set)")
        return
    server = server.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"wo_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in server else "?"
        run("PostgreSQL", f"{server}{separator}options={quote(f'-csearch_path={schema}')}")
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
