"""What the classroom client prints: one JSON document per mode, and the cells it is
given. The Rust side reads these with the serde structs of the same names in
course/src/class/report.rs; a field added here must be added there."""

from __future__ import annotations

import re
from typing import TypedDict, Union

from learner import CellResult

CORES_BUSY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(?: of [0-9]+)? cores busy")


class CodeCell(TypedDict):
    """A code cell to run, as the Rust side wrote it from the notebook (--cells)."""

    source: str
    expects_error: bool


class CellReport(TypedDict):
    # The cell's position among the notebook's code cells.
    index: int
    seconds: float
    # The kernel's execute_reply status: ok, error or aborted.
    status: str
    ename: str
    panicked: bool
    expected_error: bool
    # The most cores a timing in the cell's output reports busy ("1.93 cores busy",
    # "1.93 of 2 cores busy"), if it prints one.
    cores_busy: float | None


class LearnerReport(TypedDict):
    server_start: float
    kernel_start: float
    cells: list[CellReport]


class ClassReport(TypedDict, total=False):
    """`class`: one class for the benchmark (the Rust side measures the machine
    meanwhile), or the error that stopped it."""

    error: str
    learners: dict[str, LearnerReport]


class CacheReport(TypedDict):
    entries: int
    owner_is_learner: bool
    home_mode: str
    cache_mode: str


# What an isolation check observed: an HTTP status, a text, or listening addresses.
Observation = Union[int, str, list[str]]


class CheckReport(TypedDict, total=False):
    """`check`: the small class's cells, the isolation checks and the learners' caches."""

    error: str
    cells: dict[str, list[CellReport]]
    checks: dict[str, Observation]
    caches: dict[str, CacheReport]


class IdleReport(TypedDict, total=False):
    """`idle`: seconds from each server being ready until the idle culler stopped it."""

    error: str
    culled_after: dict[str, float]


def cell_reports(results: list[CellResult], cells: list[CodeCell]) -> list[CellReport]:
    """The report of each result of `cells`."""
    return [
        {
            "index": r.index,
            "seconds": r.seconds,
            "status": r.status,
            "ename": r.ename,
            "panicked": r.panicked(),
            "expected_error": cells[r.index]["expects_error"],
            "cores_busy": max(map(float, CORES_BUSY.findall(r.text)), default=None),
        }
        for r in results
    ]
