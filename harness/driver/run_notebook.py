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
Each executed cell carries its outputs, wall time and the raw figures of the load
meanwhile: the machine's CPU tick counters (/proc/stat) and the CPU seconds of this
driver and its kernel. The harness computes from them the cores other processes kept
busy during that very cell (harness/src/load.rs owns the formula), so that a timing
claim can tell a slow lesson from a burst of load.

The record's types mirror the harness's (`Record`, `Outcome`, `CellRecord` in
harness/src/runner/record.rs); field names are the JSON's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import resource
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import nbformat
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_hook
from nbformat import NotebookNode

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Starting:
    kind: Literal["starting"] = "starting"


@dataclass
class Running:
    cell: int
    kind: Literal["running"] = "running"


@dataclass
class Completed:
    kind: Literal["completed"] = "completed"


@dataclass
class KernelFailedToStart:
    message: str
    kind: Literal["kernel_failed_to_start"] = "kernel_failed_to_start"


@dataclass
class CellError:
    cell: int
    kind: Literal["cell_error"] = "cell_error"


@dataclass
class CellTimeout:
    cell: int
    timeout_seconds: int
    # The lock the cell waited for instead of running (see `dependency_cache_lock`).
    waiting_for: str | None
    kind: Literal["cell_timeout"] = "cell_timeout"


@dataclass
class DeadKernel:
    cell: int | None
    message: str
    kind: Literal["dead_kernel"] = "dead_kernel"


Outcome = Starting | Running | Completed | KernelFailedToStart | CellError | CellTimeout | DeadKernel


@dataclass
class CellRecord:
    index: int
    outputs: list[dict[str, Any]] = field(default_factory=list)
    seconds: float | None = None
    # /proc/stat's `cpu` counters (ticks) gained while the cell ran, all of them.
    machine_ticks: list[int] | None = None
    # CPU seconds this driver and its kernel (with all its processes) used meanwhile.
    run_cpu_seconds: float | None = None


@dataclass
class Record:
    outcome: Outcome = field(default_factory=Starting)
    cells: list[CellRecord] = field(default_factory=list)
    # The cell before which the kernel was restarted, if it was.
    restarted_before: int | None = None


def machine_ticks() -> list[int]:
    """/proc/stat's counters for all cores: user nice system idle iowait irq ..."""
    with open("/proc/stat") as stat:
        return [int(t) for t in stat.readline().split()[1:]]


def process_table() -> dict[int, tuple[int, float]]:
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


def run_cpu_seconds(kernel_pid: int | None) -> float:
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


def builds_dependencies(source: str) -> bool:
    """Whether a cell has a `:dep` line: evcxr builds the dependencies in that cell."""
    return any(line.lstrip().startswith(":dep") for line in source.splitlines())


class CacheLockTimeout(CellTimeoutError):
    """Another kernel's `:dep` cell held the cache's lock for the whole cell timeout."""

    def __init__(self, path: str) -> None:
        super().__init__(f"another kernel's `:dep` cell held {path} for the whole cell timeout")
        self.path = path


@contextlib.asynccontextmanager
async def dependency_cache_lock(kernel_spec: KernelSpec | None, timeout: float) -> AsyncIterator[None]:
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


class KernelStartError(Exception):
    """The kernel did not start or did not answer within the startup timeout."""


class RecordingClient(NotebookClient):
    """nbclient's client, measuring each code cell and keeping the record up to date."""

    def __init__(
        self,
        nb: NotebookNode,
        record: Record,
        record_path: str,
        restart_before: int | None = None,
        pauses: dict[int, float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(nb, **kwargs)
        self.record = record
        self.record_path = record_path
        self.restart_before = restart_before
        # {cell index: seconds to wait before running it}
        self.pauses = pauses or {}
        self.start_kwargs: dict[str, Any] = {}
        self.started_again = False

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        self.start_kwargs = kwargs
        try:
            await super().async_start_new_kernel(**kwargs)
        except Exception as error:
            raise KernelStartError(f"{type(error).__name__}: {error}") from error

    async def async_start_new_kernel_client(self) -> Any:
        """nbclient's, except that a kernel that exits before it answers is started once
        more. jupyter_client chooses free ports, closes them and lets the kernel bind
        them; a kernel started meanwhile by a parallel run can take one (CI saw evcxr
        exit with "Address already in use"). Nothing ran yet, and a new kernel manager
        chooses new ports."""
        assert self.km is not None
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
        except Exception as error:
            exited = not await ensure_async(self.km.is_alive())
            await self._async_cleanup_kernel()
            if exited and not self.started_again:
                self.started_again = True
                print("the kernel exited before it answered; starting it once more", flush=True)
                self.create_kernel_manager()
                await self.async_start_new_kernel(**self.start_kwargs)
                return await self.async_start_new_kernel_client()
            raise KernelStartError(f"{type(error).__name__}: {error}") from error
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    def kernel_pid(self) -> int | None:
        provisioner = getattr(self.km, "provisioner", None)
        pid = getattr(provisioner, "pid", None)
        return pid if isinstance(pid, int) else None

    async def restart_and_run_above(self, cell_index: int) -> None:
        """Restarts the kernel, then runs every cell above `cell_index` again."""
        # nbclient's kernel manager is asynchronous, and so is its client.
        assert self.km is not None and isinstance(self.kc, AsyncKernelClient)
        self.restart_before = None
        self.record.restarted_before = cell_index
        self.record.cells = [c for c in self.record.cells if c.index >= cell_index]
        await ensure_async(self.km.restart_kernel())
        await self.kc.wait_for_ready(timeout=self.startup_timeout)
        for index, above in enumerate(self.nb.cells[:cell_index]):
            await self.async_execute_cell(above, index)

    async def async_execute_cell(
        self,
        cell: NotebookNode,
        cell_index: int,
        execution_count: int | None = None,
        store_history: bool = True,
    ) -> NotebookNode:
        if self.restart_before == cell_index:
            await self.restart_and_run_above(cell_index)
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if cell_index in self.pauses:
            await asyncio.sleep(self.pauses[cell_index])
        entry = CellRecord(index=cell_index)
        self.record.cells.append(entry)
        self.record.outcome = Running(cell=cell_index)
        write_record(self.record, self.record_path)
        kernel_pid = self.kernel_pid()
        # Only `:dep` cells touch evcxr's cache; the wait for it is not the cell's time.
        kernel_spec = self.km.kernel_spec if self.km is not None else None
        turn = (
            dependency_cache_lock(kernel_spec, self.timeout or 0)
            if builds_dependencies(cell.source)
            else contextlib.nullcontext()
        )
        async with turn:
            return await self.measured_execute_cell(
                entry,
                kernel_pid,
                cell,
                cell_index=cell_index,
                execution_count=execution_count,
                store_history=store_history,
            )

    async def measured_execute_cell(
        self,
        entry: CellRecord,
        kernel_pid: int | None,
        cell: NotebookNode,
        *,
        cell_index: int,
        execution_count: int | None,
        store_history: bool,
    ) -> NotebookNode:
        """Runs the cell through nbclient, recording its outputs, time and load."""
        started = time.monotonic()
        machine_before = machine_ticks()
        ours_before = run_cpu_seconds(kernel_pid)
        try:
            return await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
        finally:
            entry.seconds = time.monotonic() - started
            entry.machine_ticks = [
                after - before for after, before in zip(machine_ticks(), machine_before)
            ]
            entry.run_cpu_seconds = run_cpu_seconds(kernel_pid) - ours_before
            entry.outputs = [dict(output) for output in cell.outputs]


def write_record(record: Record, path: str) -> None:
    partial = path + ".partial"
    with open(partial, "w") as f:
        json.dump(asdict(record), f)
    os.replace(partial, path)


def last_cell(record: Record) -> int | None:
    return record.cells[-1].index if record.cells else None


def run(client: RecordingClient, record: Record, cell_timeout: int) -> Outcome:
    """Executes the notebook; how it ended, from nbclient's own exceptions."""
    try:
        client.execute()
        return Completed()
    except KernelStartError as error:
        return KernelFailedToStart(message=str(error))
    except CellTimeoutError as error:
        return CellTimeout(
            cell=last_cell(record) or 0,
            timeout_seconds=cell_timeout,
            waiting_for=error.path if isinstance(error, CacheLockTimeout) else None,
        )
    except DeadKernelError as error:
        return DeadKernel(cell=last_cell(record), message=str(error))
    except CellExecutionError:
        # The error itself is the cell's error output, in the record.
        return CellError(cell=last_cell(record) or 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
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

    record = Record()
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
    record.outcome = run(client, record, args.cell_timeout)
    nbformat.write(nb, args.executed)
    write_record(record, args.record)


if __name__ == "__main__":
    main()
