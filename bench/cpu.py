"""Where a benchmark's time goes, whatever else the machine is doing: CPU seconds used by
the processes under test and by PostgreSQL between start() and stop(), read from /proc.

Wall-clock rates swing with the machine's load; CPU used per request (or per message)
does much less, so "the web process spent 410 us of CPU a request, PostgreSQL 180 us"
says what a goal asks of each part, and which part is the ceiling."""

from __future__ import annotations

import os
import subprocess

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def postgres_pids() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm", encoding="ascii") as comm:
                    if comm.read().strip() == "postgres":
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _other_clients(database: str | None) -> set[int]:
    """PostgreSQL backends serving other databases (another benchmark's or test's on a
    shared machine): not this benchmark's cost."""
    if not database:
        return set()
    try:
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc",
             "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
             f"AND datname IS DISTINCT FROM '{database}'"],
            capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return set()
    return {int(line) for line in out.split() if line.isdigit()}


class CpuMeter:
    """CPU used by ``pids`` and by PostgreSQL (its server processes and the backends of
    ``database``, or every backend when it is not named) between start() and stop()."""

    def __init__(self, pids: list[int], database: str | None = None) -> None:
        self.pids = pids
        self.database = database

    def start(self) -> None:
        self.before = {pid: cpu_seconds(pid) for pid in self.pids + postgres_pids()}
        self.machine_before = machine_busy()
        self.foreign = _other_clients(self.database)

    def stop(self) -> dict[str, float]:
        mine = sum(cpu_seconds(pid) - self.before.get(pid, 0.0) for pid in self.pids)
        foreign = self.foreign | _other_clients(self.database)
        postgres = sum(cpu_seconds(pid) - self.before.get(pid, 0.0)
                       for pid in postgres_pids() if pid not in foreign)
        busy, total = (a - b for a, b in zip(machine_busy(), self.machine_before,
                                             strict=True))
        return {"process_s": mine, "postgres_s": postgres,
                "machine_busy": busy / total if total else 0.0}


def database_of(url: str) -> str:
    """The database name of a postgres:// URL."""
    return url.rsplit("/", 1)[-1].split("?", 1)[0]
