"""CPU seconds per process group during a phase: on two cores, this shows where the time goes."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil

# A group's pids are looked up at each snapshot: PostgreSQL starts a backend per new connection.
Groups = dict[str, Callable[[], list[int]]]


def _cpu(pid: int) -> float:
    try:
        t = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(t.user + t.system)


# The server's own processes; a backend's title names its database instead.
_POSTGRES_WORKERS = ("checkpointer", "background writer", "walwriter", "autovacuum launcher")


def postgres_pids(database: str | None = None) -> list[int]:
    """The backends of ``database`` and the server's shared workers (other databases' backends belong to
    other work on the machine); every server process when ``database`` is None."""
    pids = []
    for p in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(p.info["cmdline"] or ())
        if p.info["name"] in ("postgres", "postmaster") and (
                database is None or database in title.split() or any(w in title for w in _POSTGRES_WORKERS)):
            pids.append(p.pid)
    return pids


def _snapshot(groups: Groups) -> dict[str, dict[int, float]]:
    return {name: {pid: _cpu(pid) for pid in pids()} for name, pids in groups.items()}


@dataclass
class Usage:
    seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def measure(groups: Groups) -> Iterator[Usage]:
    """CPU seconds each group used inside the block. A process that exits inside it is not counted:
    keep connections open across the block."""
    usage = Usage()
    before = _snapshot(groups)
    yield usage
    for name, pids in _snapshot(groups).items():
        usage.seconds[name] = sum(max(0.0, t - before[name].get(pid, 0.0)) for pid, t in pids.items())
