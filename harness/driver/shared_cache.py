"""What evcxr's dependency cache does when several kernels share it.

Starts KERNELS kernels of the project's Rust kernel at once, all with one fresh cache
folder (XDG_CACHE_HOME), and has them run the same first `:dep` of the support crate
at the same moment; then again with the cache filled, ROUNDS times. Prints, per round,
how many kernels succeeded, their times, and the errors of those that failed.
It asserts nothing.

With `--take-turns`, each kernel's `:dep` waits for the lock the notebook driver
(run_notebook.py, beside this script) takes around `:dep` cells, as harness runs do.

    .local/venv/bin/python harness/driver/shared_cache.py [--kernels 4] [--rounds 5] [--take-turns]

Run it from the checkout, after `cargo setup`: the virtualenv's Jupyter finds the
project's `rust` kernelspec inside the virtualenv.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from run_notebook import dependency_cache_lock

# The first `:dep` of the topic notebooks, from notebooks/en/slides/.
FIRST_DEP = ':dep concurrency_helpers = { path = "../../../crate" }\nuse concurrency_helpers::*;'


@dataclass
class Result:
    status: str
    seconds: float
    errors: str


def kernelspec_with_cache(cache: str) -> str:
    """A Jupyter data folder with a copy of the `rust` kernelspec Jupyter finds now,
    whose evcxr cache is `cache`."""
    spec_root = tempfile.mkdtemp(prefix="shared-cache-spec-")
    source = KernelSpecManager().get_kernel_spec("rust").resource_dir
    target = os.path.join(spec_root, "kernels", "rust")
    shutil.copytree(source, target)
    with open(os.path.join(target, "kernel.json")) as f:
        spec = json.load(f)
    spec["env"]["XDG_CACHE_HOME"] = cache
    with open(os.path.join(target, "kernel.json"), "w") as f:
        json.dump(spec, f)
    return spec_root


def first_dep(notebooks: str, start: threading.Barrier, take_turns: bool) -> Result:
    manager = KernelManager(kernel_name="rust")
    manager.start_kernel(cwd=notebooks)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        start.wait()
        began = time.monotonic()
        printed: list[str] = []

        def keep_errors(msg: dict[str, Any]) -> None:
            content = msg["content"]
            if msg["msg_type"] == "error":
                printed.append(content.get("evalue", "") + " ".join(content.get("traceback", [])))
            elif msg["msg_type"] == "stream" and content.get("name") == "stderr":
                printed.append(content["text"])

        def run() -> dict[str, Any]:
            reply: dict[str, Any] = client.execute_interactive(
                FIRST_DEP, timeout=600, output_hook=keep_errors
            )
            return reply

        async def in_turn() -> dict[str, Any]:
            async with dependency_cache_lock(manager.kernel_spec, 600):
                return run()

        reply = asyncio.run(in_turn()) if take_turns else run()
        errors = [line for line in "".join(printed).splitlines() if "Compiling" not in line and line.strip()]
        return Result(reply["content"]["status"], time.monotonic() - began, " | ".join(errors[-6:]))
    except Exception as e:  # noqa: BLE001 (reported per kernel)
        return Result("exception", 0.0, str(e))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def round_of(kernels: int, notebooks: str, take_turns: bool) -> list[Result]:
    results: list[Result] = []
    start = threading.Barrier(kernels)

    def one() -> None:
        results.append(first_dep(notebooks, start, take_turns))

    threads = [threading.Thread(target=one) for _ in range(kernels)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--kernels", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--take-turns", action="store_true")
    parser.add_argument(
        "--notebooks", default="notebooks/en/slides", help="the folder kernels start in, as notebooks do"
    )
    args = parser.parse_args()
    cache = tempfile.mkdtemp(prefix="shared-evcxr-cache-")
    os.environ["JUPYTER_PATH"] = kernelspec_with_cache(cache)
    notebooks = os.path.abspath(args.notebooks)
    # The crate's build script makes an edited crate miss evcxr's cache; a fresh cache
    # folder makes the first round cold.
    for round_number in range(args.rounds + 1):
        kind = "cold" if round_number == 0 else "warm"
        results = round_of(args.kernels, notebooks, args.take_turns)
        ok = [r.seconds for r in results if r.status == "ok"]
        failed = [(r.status, r.errors[:300]) for r in results if r.status != "ok"]
        times = f"median {statistics.median(ok):.1f} s, max {max(ok):.1f} s" if ok else "-"
        print(
            f"round {round_number} ({kind}): {len(ok)}/{args.kernels} kernels ran the first "
            f":dep together ({times})",
            flush=True,
        )
        for status, error in failed:
            print(f"  failed ({status}): {error}", flush=True)
    entries = os.listdir(os.path.join(cache, "evcxr"))
    print(f"cache entries: {len(entries)}")
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
