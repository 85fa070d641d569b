"""What people see while a job runs: a rich spinner per step with its elapsed time, and one logged line after.

Library code calls ``step("...")``; the CLI decides whether a live display is shown (``live=True`` on a terminal).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator

from rich.console import Console

log = logging.getLogger("mixlake")
console = Console(stderr=True)  # progress, logs and errors
out = Console(width=None if Console().is_terminal else 200)  # results (tables, query rows): pipe-friendly stdout
_live = {"on": False}


def set_live(on: bool) -> None:
    _live["on"] = on and console.is_terminal


@contextlib.contextmanager
def step(description: str) -> Iterator[None]:
    t0 = time.perf_counter()
    if _live["on"]:
        with console.status(f"[bold]{description}[/]…", spinner="dots"):
            yield
    else:
        yield
    log.info("%s: done in %.1fs", description, time.perf_counter() - t0)


@contextlib.contextmanager
def progress(description: str, total: int) -> Iterator:
    """A rich progress bar (when live) over ``total`` units; yields ``advance(n=1)``."""
    t0 = time.perf_counter()
    if _live["on"]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n=1: bar.advance(task, n)
    else:
        yield lambda n=1: None
    log.info("%s: %d done in %.1fs", description, total, time.perf_counter() - t0)
