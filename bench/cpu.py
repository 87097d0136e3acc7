"""CPU time of processes, read from /proc: the app server's and PostgreSQL's share of a benchmark run."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg

CLOCK_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def app_pids(master: int) -> list[int]:
    """gunicorn's master and its workers."""
    return [master, *(pid for pid, parent in process_parents().items() if parent == master)]


def postgres_pids(monitor: psycopg.Connection, database: str) -> list[int]:
    """This database's backends and the cluster's own processes (WAL writer, checkpointer…), not other databases'."""
    rows = monitor.execute(
        "SELECT pid FROM pg_stat_activity WHERE (datname = %s OR datname IS NULL) AND pid <> pg_backend_pid()",
        (database,),
    )
    return [pid for (pid,) in rows]


def process_parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = stat_fields(int(entry.name))
            if fields:
                parents[int(entry.name)] = int(fields[1])
    return parents


def stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (which may hold spaces): state, ppid, …; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def process_ticks(pids: list[int]) -> dict[int, int]:
    """utime + stime of each process still running, in clock ticks."""
    ticks = {}
    for pid in pids:
        fields = stat_fields(pid)
        if fields:
            ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def cpu_ms(before: dict[int, int], after: dict[int, int]) -> float:
    # A process that started during the run spent all its ticks in it; one that ended took its ticks along.
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) * CLOCK_TICK_MS


def machine_ticks() -> tuple[int, int]:
    """Busy and stolen clock ticks of the whole machine so far (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return user + nice + system + irq + softirq, steal
