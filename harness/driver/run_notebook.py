"""Executes one notebook with nbclient and records what happened, cell by cell, as JSON.

The Rust harness (harness/src/runner.rs) runs this in the project's virtualenv and reads
the record instead of a log: every failure is typed from nbclient's own exceptions, in
the spirit of nbmake's runner, never guessed from log text.

    python run_notebook.py --kernel rust --cell-timeout 300 --startup-timeout 180 \
        SOURCE.ipynb EXECUTED.ipynb RECORD.json

With `--restart-before CELL`, the kernel is restarted when the run reaches that cell,
and the cells above it run again in the new kernel before it, as an instructor recovers
from a restart mid-lecture (RISE and JupyterLab's "Run All Above"); the record then
holds that second run of them, and `restarted_before` names the cell.

With `--pause SECONDS --pause-before CELL,CELL,...`, the driver waits that long before
each of those cells, as an instructor typing them live would (`cargo rehearse`).

The record is rewritten before each cell with the outcome `running`, so that a run
killed from outside (the whole-notebook timeout) still says which cell it was in.
Each executed cell carries its status, outputs, wall time and `other_load`: the cores
that processes other than this driver and its kernel kept busy while it ran, so that a
timing claim can tell a slow lesson from a burst of load during that very cell.
"""

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import resource
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU seconds all cores have spent busy since boot, steal time included."""
    with open("/proc/stat") as stat:
        ticks = [int(t) for t in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return sum(ticks[i] for i in (0, 1, 2, 5, 6, 7) if i < len(ticks)) / CLOCK_TICKS


def process_table():
    """{pid: (parent, cpu seconds of it and its waited-for children)} from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name in parentheses may hold spaces; fields resume after ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        # state ppid ... utime(11) stime(12) cutime(13) cstime(14), counted from state
        cpu = sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS
        table[int(entry)] = (int(fields[1]), cpu)
    return table


def run_cpu_seconds(kernel_pid):
    """CPU seconds used by this driver and by the kernel with all its descendants."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    if kernel_pid is None:
        return total
    table = process_table()
    tree = [kernel_pid]
    for pid in tree:
        tree.extend(child for child, (parent, _) in table.items() if parent == pid)
    return total + sum(table[pid][1] for pid in tree if pid in table)


def builds_dependencies(source):
    """Whether a cell has a `:dep` line: evcxr builds the dependencies in that cell."""
    return any(line.lstrip().startswith(":dep") for line in source.splitlines())


class CacheLockTimeout(CellTimeoutError):
    """Another kernel's `:dep` cell held the cache's lock for the whole cell timeout."""

    def __init__(self, path):
        super().__init__(f"another kernel's `:dep` cell held {path} for the whole cell timeout")
        self.path = path


@contextlib.asynccontextmanager
async def dependency_cache_lock(kernel_spec, timeout):
    """Holds an exclusive lock on the kernel's evcxr cache, waiting at most `timeout` s.

    evcxr 0.22 reads and writes its compiled-dependency cache without locks: a kernel
    that copies an entry another kernel is rewriting, or reads its hit counter while
    it is rewritten, fails the build (`could not compile`). Harness runs in parallel
    take turns at their `:dep` cells, the only ones that touch the cache.
    """
    env = kernel_spec.env if kernel_spec else {}
    cache = os.path.expandvars(env.get("XDG_CACHE_HOME") or "~/.cache")
    path = os.path.join(os.path.expanduser(cache), "evcxr.lock")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise CacheLockTimeout(path) from None
                await asyncio.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class KernelFailedToStart(Exception):
    """The kernel did not start or did not answer within the startup timeout."""


class RecordingClient(NotebookClient):
    """nbclient's client, measuring each code cell and keeping the record up to date."""

    def __init__(self, nb, record, record_path, restart_before=None, pauses=None, **kwargs):
        super().__init__(nb, **kwargs)
        self.record = record
        self.record_path = record_path
        self.restart_before = restart_before
        # {cell index: seconds to wait before running it}
        self.pauses = pauses or {}

    async def async_start_new_kernel(self, **kwargs):
        try:
            return await super().async_start_new_kernel(**kwargs)
        except Exception as error:
            raise KernelFailedToStart(f"{type(error).__name__}: {error}") from error

    async def async_start_new_kernel_client(self):
        try:
            return await super().async_start_new_kernel_client()
        except Exception as error:
            raise KernelFailedToStart(f"{type(error).__name__}: {error}") from error

    def kernel_pid(self):
        provisioner = getattr(self.km, "provisioner", None)
        return getattr(provisioner, "pid", None)

    async def restart_and_run_above(self, cell_index):
        """Restarts the kernel, then runs every cell above `cell_index` again."""
        self.restart_before = None
        self.record["restarted_before"] = cell_index
        self.record["cells"] = [c for c in self.record["cells"] if c["index"] >= cell_index]
        await ensure_async(self.km.restart_kernel())
        await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
        for index, above in enumerate(self.nb.cells[:cell_index]):
            await self.async_execute_cell(above, index)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self.restart_before == cell_index:
            await self.restart_and_run_above(cell_index)
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if cell_index in self.pauses:
            await asyncio.sleep(self.pauses[cell_index])
        entry = {"index": cell_index, "status": "running", "outputs": []}
        self.record["cells"].append(entry)
        self.record["outcome"] = {"kind": "running", "cell": cell_index}
        write_record(self.record, self.record_path)
        kernel_pid = self.kernel_pid()
        # Only `:dep` cells touch evcxr's cache; the wait for it is not the cell's time.
        turn = (
            dependency_cache_lock(self.km.kernel_spec, self.timeout)
            if builds_dependencies(cell.source)
            else contextlib.nullcontext()
        )
        try:
            async with turn:
                return await self.measured_execute_cell(
                    entry, kernel_pid, cell, cell_index, execution_count, store_history
                )
        except CacheLockTimeout:
            entry["status"] = "timeout"
            raise

    async def measured_execute_cell(
        self, entry, kernel_pid, cell, cell_index, execution_count, store_history
    ):
        """Runs the cell through nbclient, recording its status, time and load."""
        started = time.monotonic()
        machine_before = machine_busy_seconds()
        ours_before = run_cpu_seconds(kernel_pid)
        try:
            result = await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
            errors = [o for o in cell.outputs if o.get("output_type") == "error"]
            entry["status"] = "error" if errors else "ok"
            return result
        except CellTimeoutError:
            entry["status"] = "timeout"
            raise
        except DeadKernelError:
            entry["status"] = "dead_kernel"
            raise
        except CellExecutionError:
            entry["status"] = "error"
            raise
        finally:
            wall = time.monotonic() - started
            others = (machine_busy_seconds() - machine_before) - (
                run_cpu_seconds(kernel_pid) - ours_before
            )
            entry["seconds"] = wall
            entry["other_load"] = max(others, 0.0) / wall if wall > 0 else 0.0
            entry["outputs"] = [dict(output) for output in cell.outputs]


def write_record(record, path):
    partial = path + ".partial"
    with open(partial, "w") as f:
        json.dump(record, f)
    os.replace(partial, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", required=True)
    parser.add_argument("--cell-timeout", type=int, required=True)
    parser.add_argument("--startup-timeout", type=int, required=True)
    parser.add_argument("--restart-before", type=int, metavar="CELL")
    parser.add_argument("--pause", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--pause-before", default="", metavar="CELL,CELL,...")
    parser.add_argument("source")
    parser.add_argument("executed")
    parser.add_argument("record")
    args = parser.parse_args()

    record = {"outcome": {"kind": "starting"}, "cells": []}
    write_record(record, args.record)
    nb = nbformat.read(args.source, as_version=4)
    client = RecordingClient(
        nb,
        record,
        args.record,
        restart_before=args.restart_before,
        pauses={int(c): args.pause for c in args.pause_before.split(",") if c},
        kernel_name=args.kernel,
        timeout=args.cell_timeout,
        startup_timeout=args.startup_timeout,
        # Stop at the first unexpected error; cells tagged `raises-exception` may fail.
        allow_errors=False,
        record_timing=True,
        # One stdout and one stderr text per cell, as JupyterLab shows them (and as
        # nbconvert --execute saves them).
        coalesce_streams=True,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(args.source))}},
    )
    try:
        client.execute()
        outcome = {"kind": "completed"}
    except KernelFailedToStart as error:
        outcome = {"kind": "kernel_failed_to_start", "message": str(error)}
    except CellTimeoutError as error:
        outcome = {
            "kind": "cell_timeout",
            "cell": record["cells"][-1]["index"],
            "timeout_seconds": args.cell_timeout,
            "message": str(error).strip().splitlines()[0] if str(error).strip() else "",
            "waiting_for": getattr(error, "path", None),
        }
    except DeadKernelError as error:
        outcome = {
            "kind": "dead_kernel",
            "cell": record["cells"][-1]["index"] if record["cells"] else None,
            "message": str(error),
        }
    except CellExecutionError:
        # The error itself is the cell's error output, in the record.
        outcome = {"kind": "cell_error", "cell": record["cells"][-1]["index"]}
    record["outcome"] = outcome
    nbformat.write(nb, args.executed)
    write_record(record, args.record)


if __name__ == "__main__":
    sys.exit(main())
