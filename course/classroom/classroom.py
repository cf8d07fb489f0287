"""Simulated learners in a class served by `cargo hub` (the client; the hub itself is
started and stopped by course/src/class/mod.rs, which passes everything the Rust side
owns: the password, the cell timeout, the course's repository, branch and folder, and
the notebook's code cells).

Each learner goes through the hub's proxy as a browser does (learner.py): logs in on
the hub's page (the first login sets the password), starts a server, pulls the course
with nbgitpuller, opens a notebook (a Jupyter session, which starts its kernel) and runs
its code cells over the kernel websocket. Learners follow an instructor: everyone
starts the same cell within a few seconds of the others, and the next cell only once
all have finished.

Three modes, each printing one JSON document (report.py):

- `class`: the classroom benchmark's measurements for one class (`cargo bench-class`):
  per learner the server's and the kernel's start and each cell's seconds and status
  (the Rust side measures memory and CPU time meanwhile).
- `check`: the small class `cargo test` runs (course/tests/hub): every learner runs a
  short notebook, then the isolation checks between the first two learners
  (isolation.py).
- `idle`: every learner starts a server and leaves it alone; the seconds until the
  hub's idle culler stopped it.
- `faults`: the first learner runs one runaway cell after another while the second
  runs a short notebook (faults.py).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from faults import FaultsReport, read_faults, run_faults
from isolation import cache_of, isolation_checks
from learner import CellResult, Failure, Learner
from report import CheckReport, ClassReport, CodeCell, IdleReport, cell_reports


@dataclass
class Course:
    """Where learners pull the course from, and the folder it lands in."""

    repo: str
    branch: str
    folder: str


@dataclass
class Class:
    """The learners of one class, each with their cells' results and start times."""

    learners: list[Learner]
    results: dict[str, list[CellResult]] = field(default_factory=dict)
    server_starts: dict[str, float] = field(default_factory=dict)
    kernel_starts: dict[str, float] = field(default_factory=dict)


def learners_of(args: argparse.Namespace) -> list[Learner]:
    return [Learner(args.hub, name, args.password, args.cell_timeout) for name in args.learners]


def course_of(args: argparse.Namespace) -> Course:
    return Course(repo=args.course_repo, branch=args.branch, folder=args.course_dir)


def read_cells(path: str) -> list[CodeCell]:
    with open(path) as f:
        cells: list[CodeCell] = json.load(f)
    return cells


def run_class(
    learners: list[Learner],
    course: Course,
    notebook: str,
    cells: list[CodeCell],
    *,
    jitter: float,
    log: IO[str],
    arrivals: float = 0.0,
) -> Class:
    """Every learner arrives within `arrivals` seconds, logs in, starts a server, pulls
    the course and opens `notebook`; then all run its `cells` in step."""
    ran = Class(learners, results={learner.name: [] for learner in learners})
    errors: list[str] = []
    barrier = threading.Barrier(len(learners))
    cell_timeout = learners[0].cell_timeout

    def learner_main(learner: Learner) -> None:
        time.sleep(random.uniform(0, arrivals))
        try:
            if learner.login() != 302:
                raise Failure(f"{learner.name}: login refused")
            ran.server_starts[learner.name] = learner.start_server()
            learner.open_lab()
            learner.pull_course(course.repo, course.branch, course.folder)
            ran.kernel_starts[learner.name] = learner.open_notebook(f"{course.folder}/{notebook}")
        except Exception as e:  # noqa: BLE001 (reported with the learner's name)
            errors.append(f"{learner.name}: {e}")
            barrier.abort()
            return
        for index, cell in enumerate(cells):
            try:
                barrier.wait(timeout=cell_timeout * 2)
            except threading.BrokenBarrierError:
                return
            time.sleep(random.uniform(0, jitter))
            try:
                result = learner.execute(index, cell["source"])
            except Exception as e:  # noqa: BLE001 (reported with the learner's name)
                errors.append(f"{learner.name}: cell {index}: {e}")
                barrier.abort()
                return
            ran.results[learner.name].append(result)
            print(
                f"  {learner.name} cell {index}: {result.seconds:.2f} s {result.status}",
                file=log,
                flush=True,
            )

    threads = [threading.Thread(target=learner_main, args=(learner,)) for learner in learners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise Failure("; ".join(errors))
    return ran


def measure_class(args: argparse.Namespace) -> ClassReport:
    """`class`: the benchmark's class. The Rust side measures the machine meanwhile: it
    is told when the last cells have run and when the kernels have idled, and answers
    on stdin once it has measured them, before they are closed."""
    cells = read_cells(args.cells)
    with open(os.path.join(args.out, "cells.log"), "w") as log:
        ran = run_class(
            learners_of(args),
            course_of(args),
            args.notebook,
            cells,
            jitter=args.jitter,
            log=log,
            arrivals=args.arrivals,
        )
    print(args.cells_done, file=sys.stderr, flush=True)
    # Steady: the kernels idle after the last cell.
    time.sleep(3)
    print(args.kernels_idle, file=sys.stderr, flush=True)
    sys.stdin.readline()
    for learner in ran.learners:
        learner.close()
    return {
        "learners": {
            n: {
                "server_start": ran.server_starts[n],
                "kernel_start": ran.kernel_starts[n],
                "cells": cell_reports(ran.results[n], cells),
            }
            for n in args.learners
        },
    }


def check(args: argparse.Namespace) -> CheckReport:
    """`check`: the small class and its isolation checks."""
    report: CheckReport = {"checks": {}, "cells": {}}
    try:
        cells = read_cells(args.cells)
        ran = run_class(
            learners_of(args), course_of(args), args.notebook, cells, jitter=1.0, log=sys.stderr
        )
        report["cells"] = {name: cell_reports(ran.results[name], cells) for name in args.learners}
        report["checks"] = isolation_checks(ran.learners[0], ran.learners[1], args.course_dir)
        report["caches"] = {name: cache_of(name) for name in args.learners}
        # The kernels stay running: stopping the hub must stop them too.
    except Failure as e:
        report["error"] = str(e)
    return report


def idle(args: argparse.Namespace) -> IdleReport:
    """`idle`: each learner logs in, starts a server and leaves it alone; reports the
    seconds from the server being ready until the hub's idle culler stopped it."""
    report: IdleReport = {"culled_after": {}}
    try:
        for learner in learners_of(args):
            if learner.login() != 302:
                raise Failure(f"{learner.name}: login refused")
            learner.start_server()
            report["culled_after"][learner.name] = learner.wait_until_stopped(args.limit)
    except Failure as e:
        report["error"] = str(e)
    return report


def faults(args: argparse.Namespace) -> FaultsReport:
    """`faults`: both learners open their notebooks, then faults.py takes over."""
    report: FaultsReport = {}
    try:
        cells = read_cells(args.cells)
        ran = run_class(learners_of(args), course_of(args), args.notebook, [], jitter=0, log=sys.stderr)
        a, b = ran.learners
        report = run_faults(a, b, args.course_dir, cells, read_faults(args.faults))
        for learner in ran.learners:
            learner.close()
    except Failure as e:
        report["error"] = str(e)
    return report


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    modes = {mode: sub.add_parser(mode) for mode in ("class", "check", "idle", "faults")}
    for mode in modes.values():
        mode.add_argument("--hub", required=True, help="the hub's URL, e.g. http://127.0.0.1:8000")
        mode.add_argument(
            "--learners",
            required=True,
            type=lambda s: s.split(","),
            help="the accounts the hub serves, comma-separated",
        )
        mode.add_argument("--password", required=True, help="the password learners choose")
        mode.add_argument("--cell-timeout", required=True, type=float, help="seconds a cell may take")
    for mode in (modes["class"], modes["check"], modes["faults"]):
        mode.add_argument("--course-repo", required=True, help="the repository learners pull")
        mode.add_argument("--branch", required=True, help="its branch")
        mode.add_argument("--course-dir", required=True, help="the folder it lands in")
        mode.add_argument("--notebook", required=True, help="the notebook to open, below the course")
        mode.add_argument("--cells", required=True, help="a JSON file of its code cells")
    modes["class"].add_argument("--out", required=True, help="folder for the cells' log")
    modes["class"].add_argument("--cells-done", required=True, help="printed once the last cells ran")
    modes["class"].add_argument("--kernels-idle", required=True, help="printed once the kernels idled")
    modes["class"].add_argument(
        "--jitter",
        type=float,
        default=3.0,
        help="learners start each cell within this many seconds of each other",
    )
    modes["class"].add_argument(
        "--arrivals",
        type=float,
        default=0.0,
        help="learners arrive (log in and open the notebook) within this many seconds",
    )
    modes["faults"].add_argument("--faults", required=True, help="a JSON file of the faults to run")
    modes["idle"].add_argument("--limit", type=float, default=300, help="seconds to wait for the culler")
    return parser


def main() -> None:
    args = parser().parse_args()
    report: ClassReport | CheckReport | IdleReport | FaultsReport
    try:
        if args.mode == "class":
            report = measure_class(args)
        elif args.mode == "check":
            report = check(args)
        elif args.mode == "faults":
            report = faults(args)
        else:
            report = idle(args)
    except Failure as e:
        report = {"error": str(e)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
