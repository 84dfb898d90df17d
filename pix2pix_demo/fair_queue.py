"""Fair scheduling for many people drawing at once (the Draw tab's live path; issue 28 item 9).

Every page (one browser tab: a random id it sends with each request) has at most ONE request waiting:

- **stale dropped**: a page's newer request replaces its waiting older one (the older one's future fails
  with `Superseded` at once) and keeps its place in line: the page waited, its newest drawing inherits the wait.
  "Newer" is the page's own `order` (a number it counts up) where given: requests can overtake each other on
  the way, and an older one arriving after a newer one is the one superseded;
- **one in flight per page**: a page whose request is running has its next one held back until it finishes;
- **round-robin**: pages are served in the order their waiting request arrived; a page served goes to the back
  when it sends again, so ten pages each get every tenth turn, however fast one of them draws;
- **batching across pages**: a worker takes the first eligible page's request and up to `max_batch - 1` more
  eligible ones (in line order) with the same non-None `batch_key`, and runs them in one call of
  `run_batch`; a request with `batch_key=None` runs alone.

At most `max_pages` pages may wait at once; one more is refused with `Busy` (the server stays bounded whatever
the clients send). Nothing here knows about models, torch or Gradio: `run_batch(payloads) -> results` is given.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable


class Superseded(Exception):
    """A newer request of the same page replaced this one before it ran."""


class Busy(Exception):
    """Too many pages are waiting already."""


@dataclass
class Job:
    page: Hashable
    payload: Any
    batch_key: Hashable | None
    order: float | None = None  # the page's own count: a larger one is newer
    future: Future = field(default_factory=Future)
    submitted: float = field(default_factory=time.perf_counter)
    started: float | None = None  # when a worker took it
    batch_size: int = 0  # how many requests ran in its batch


class FairQueue:
    """See the module doc. `workers` threads (daemons) run batches; `workers=0` starts none (tests drive
    `take` / `finish` / `run_next` themselves)."""

    def __init__(self, run_batch: Callable[[list], list], max_batch: int = 4, max_pages: int = 64,
                 workers: int = 1, name: str = "fair-queue"):
        if max_batch < 1 or max_pages < 1 or workers < 0:
            raise ValueError("max_batch and max_pages must be at least 1, workers at least 0")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.max_pages = max_pages
        self._waiting: OrderedDict[Hashable, Job] = OrderedDict()  # line order = round-robin order
        self._running: set[Hashable] = set()  # pages with a request being run
        self._condition = threading.Condition()
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------------ clients

    def submit(self, page: Hashable, payload: Any, batch_key: Hashable | None = None,
               order: float | None = None) -> Future:
        """Queue `payload` for `page`; returns a Future of its result (or of Superseded / Busy / the error).
        `order`: the page's count for this request (None: newer than anything before)."""
        job = Job(page, payload, batch_key, order)
        replaced = None
        with self._condition:
            if page in self._waiting:
                waiting = self._waiting[page]
                if order is not None and waiting.order is not None and order < waiting.order:
                    replaced = job  # overtaken on the way: the waiting one is newer
                else:
                    replaced = waiting
                    self._waiting[page] = job  # an existing key keeps its position in the OrderedDict
            elif len(self._waiting) >= self.max_pages:
                job.future.set_exception(Busy(f"{len(self._waiting)} pages are waiting already"))
                return job.future
            else:
                self._waiting[page] = job
            self._condition.notify()
        if replaced is not None:  # outside the lock: its callbacks may run here
            _settle(replaced.future, error=Superseded())
        return job.future

    def waiting_pages(self) -> list:
        """The pages with a waiting request, in line order."""
        with self._condition:
            return list(self._waiting)

    def running_pages(self) -> set:
        with self._condition:
            return set(self._running)

    # ------------------------------------------------------------------ workers

    def _eligible(self) -> list[Job]:
        for page in [page for page, job in self._waiting.items() if job.future.cancelled()]:
            del self._waiting[page]  # its caller went away (a closed page): nothing to run
        return [job for page, job in self._waiting.items() if page not in self._running]

    def take(self, block: bool = True, timeout: float | None = None) -> list[Job]:
        """The next batch (removed from the line, its pages marked running); [] when none is eligible and
        `block` is false or `timeout` passed."""
        with self._condition:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                eligible = self._eligible()
                if eligible:
                    break
                if not block:
                    return []
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return []
                self._condition.wait(remaining)
            first = eligible[0]
            batch = [first]
            if first.batch_key is not None:
                batch += [job for job in eligible[1:] if job.batch_key == first.batch_key][:self.max_batch - 1]
            now = time.perf_counter()
            for job in batch:
                del self._waiting[job.page]
                self._running.add(job.page)
                job.started, job.batch_size = now, len(batch)
            return batch

    def finish(self, batch: list[Job]) -> None:
        """The batch has run: its pages may run again."""
        with self._condition:
            for job in batch:
                self._running.discard(job.page)
            self._condition.notify_all()

    def run(self, batch: list[Job]) -> None:
        """Run one batch taken with `take` and settle its futures (every job fails with the error of a failed
        batch, or of a result list of the wrong length)."""
        try:
            results = self.run_batch([job.payload for job in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"run_batch returned {len(results)} results for {len(batch)} requests")
        except BaseException as error:  # noqa: BLE001 - handed to every caller waiting on this batch
            self.finish(batch)
            for job in batch:
                _settle(job.future, error=error)
            return
        self.finish(batch)
        for job, result in zip(batch, results):
            _settle(job.future, result=result)

    def run_next(self, block: bool = False) -> list[Job]:
        """Take and run one batch (for tests and single-threaded use); the batch, [] when none was eligible."""
        batch = self.take(block=block)
        if batch:
            self.run(batch)
        return batch

    def _work(self) -> None:
        while True:
            self.run(self.take())


def _settle(future: Future, result=None, error: BaseException | None = None) -> None:
    """Set a future's outcome unless its caller cancelled it meanwhile."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass
