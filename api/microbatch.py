"""Micro-batching of online inference: concurrent /v1/classify calls are analysed in one pipeline call.

The analyzers are vectorised and have a fixed cost per call (vectorisers, evidence tables), so under
load one call over the items of several requests is much cheaper than one call per request. Consumer
threads take whatever is queued (up to ``max_items``) as soon as their previous call finishes, so an idle
service adds no waiting time. Inference runs on these threads, never on the event loop; results are handed
back to the caller's loop thread-safely. The queue is bounded in items (``max_pending``): beyond it
:meth:`MicroBatcher.submit` raises :class:`QueueFull` at once instead of letting memory grow.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voc.schema import Feedback, Findings

Analyze = Callable[[Sequence[Feedback]], tuple[list[Feedback], list[Findings]]]


class QueueFull(RuntimeError):
    """More items are waiting for inference than the bound allows; the caller should retry later."""


@dataclass
class _Pending:
    records: list[Feedback]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


def _resolve(p: _Pending, result: object = None, error: BaseException | None = None) -> None:
    def apply() -> None:
        if p.future.done():
            return
        if error is not None:
            p.future.set_exception(error)
        else:
            p.future.set_result(result)

    try:
        p.loop.call_soon_threadsafe(apply)
    except RuntimeError:  # the caller's loop is closed: nobody is waiting any more
        pass


class MicroBatcher:
    """``consumers`` threads running ``analyze(records)`` over the records of all requests waiting."""

    def __init__(self, analyze: Analyze, consumers: int = 1, max_items: int = 256, max_pending: int | None = None):
        self.analyze = analyze
        self.max_items = max_items
        self.consumers = consumers
        self.max_pending = max_pending
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._pending_items = 0
        self._lock = threading.Lock()

    @property
    def pending_items(self) -> int:
        """Items submitted and not yet taken by a consumer."""
        return self._pending_items

    def _taken(self, p: _Pending) -> _Pending:
        with self._lock:
            self._pending_items -= len(p.records)
        return p

    def start(self) -> None:
        self._threads = [threading.Thread(target=self._consume, name=f"voc-infer-{i}", daemon=True)
                         for i in range(self.consumers)]
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 10.0) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout)

    async def submit(self, records: list[Feedback]) -> tuple[list[Feedback], list[Findings]]:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        with self._lock:
            if self.max_pending is not None and self._pending_items + len(records) > self.max_pending:
                raise QueueFull(f"{self._pending_items} items are waiting; the bound is {self.max_pending}")
            self._pending_items += len(records)
        self._queue.put(_Pending(records, fut, loop))
        return await fut

    def _consume(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            self._taken(first)
            group, size = [first], len(first.records)
            while size < self.max_items:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:  # stop after this group
                    self._queue.put(None)
                    break
                self._taken(nxt)
                if size + len(nxt.records) > self.max_items:
                    self._run_group(group)
                    group, size = [], 0
                group.append(nxt)
                size += len(nxt.records)
            if group:
                self._run_group(group)

    def _run_group(self, group: list[_Pending]) -> None:
        records = [r for p in group for r in p.records]
        try:
            redacted, findings = self.analyze(records)
        except Exception as exc:  # noqa: BLE001 - isolate: retry each request alone
            if len(group) == 1:
                _resolve(group[0], error=exc)
            else:
                for p in group:
                    self._run_group([p])
            return
        i = 0
        for p in group:
            n = len(p.records)
            _resolve(p, (redacted[i : i + n], findings[i : i + n]))
            i += n
