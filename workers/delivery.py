"""WebSub content distribution: one rq job delivers to a whole batch of subscribers, concurrently.

In pseudocode (batches in Redis are :mod:`wirefeed.feeds.websub.batches`)::

    run_batch(batch, attempt)                              # websub worker, one rq job
        ids = SMEMBERS wf:websub:batch:<batch>:<attempt>   #   what is left to try (a re-run after
                                                           #   a SIGKILL finds only that)
        DEL wf:websub:queued:<id> ...                      #   later changes queue a new delivery
        HGETALL every subscription (one round trip)        #   none: done; lease ended: removed
        the current document of each (topic, format), read once (rendered, in that format
            only, if missing or stale)
        check_callback once per callback host and port     #   every address allowed, else refused
        deliver: at most websub_concurrency in flight, websub_host_connections per host, over
            kept-alive connections pinned to the checked addresses (feeds.websub.pool); a
            delivery thread that ends one takes the next itself (_Turns);
            POST body, Content-Type, Link rel=hub/self, X-Hub-Signature with the sub's secret
        every WEBSUB_SETTLE_EVERY outcomes, one MULTI: record them, take them out of the set;
            2xx, 410 (unsubscribed), refused: done; else -> the set of the next attempt
        the next attempt's set not empty -> its job, after the next retry interval (rq scheduler)
        out of time (WEBSUB_BATCH_BUDGET) -> the rest of the set in a new job, now
        failures of the last attempt stay in the set: the job fails (rq's failed registry)

The delivery threads and the connection pool live as long as the worker process (the job only
hands them work): a worker's memory depends on the batch size, not on how many subscribers a
topic has.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass

from wirefeed.config import defaults
from wirefeed.config.settings import Settings
from wirefeed.errors import CallbackRefused, CallbackUnresolvable, DeliveryFailed
from wirefeed.feeds.render.formats import MEDIA_TYPES
from wirefeed.feeds.render.publish import publish
from wirefeed.feeds.websub.batches import Batches, Outcome
from wirefeed.feeds.websub.hub import policy, queue_batch
from wirefeed.feeds.websub.net import Target, check_callback, resolve
from wirefeed.feeds.websub.pool import Pool
from wirefeed.feeds.websub.store import Subscription, hub_url, signature
from wirefeed.workers.context import WorkerContext

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Task:
    """One delivery: to whom, where (checked), what."""

    sub: Subscription
    target: Target
    body: bytes
    headers: dict[str, str]

    @property
    def host(self) -> tuple[str, str, int]:
        return (self.target.scheme, self.target.host, self.target.port)


class Deliverer:
    """The delivery threads of a worker process and their keep-alive connections."""

    def __init__(self, threads: int, per_host: int) -> None:
        self.pool = Pool(per_host)
        self._work: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        for n in range(threads):
            threading.Thread(target=self._serve, name=f"websub-delivery-{n}", daemon=True).start()

    def submit(self, work: Callable[[], None]) -> None:
        self._work.put(work)

    def _serve(self) -> None:
        while True:
            self._work.get()()

    def attempt(self, task: Task, timeout: float) -> tuple[int | None, str]:
        """Sign and send one delivery: ``(status, "")``, or ``(None, why)`` if no answer came."""
        headers = task.headers
        if task.sub.secret:
            headers = {**headers, "X-Hub-Signature": signature(task.sub.secret, task.body)}
        try:
            answer = self.pool.send(task.target, "POST", timeout=timeout, headers=headers, body=task.body)
        except Exception as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return answer.status, ""


_deliverer: Deliverer | None = None
_lock = threading.Lock()


def deliverer(settings: Settings) -> Deliverer:
    """This process's :class:`Deliverer` (started on first use)."""
    global _deliverer
    with _lock:
        if _deliverer is None:
            _deliverer = Deliverer(settings.websub_concurrency, settings.websub_host_connections)
        return _deliverer


class _Run:
    """Outcomes of one job, recorded in Redis every ``WEBSUB_SETTLE_EVERY``."""

    def __init__(self, batches: Batches, batch_id: str, attempt: int, retry_in: float | None) -> None:
        self.batches, self.batch_id, self.attempt, self.retry_in = batches, batch_id, attempt, retry_in
        self.buffer: list[Outcome] = []
        self.counts: Counter[str] = Counter()

    def add(self, outcome: Outcome) -> None:
        self.buffer.append(outcome)
        self.counts[outcome.result] += 1
        if len(self.buffer) >= defaults.WEBSUB_SETTLE_EVERY:
            self.flush()

    def flush(self) -> None:
        self.batches.settle(self.batch_id, self.attempt, self.buffer, self.retry_in)
        self.buffer = []


def run_batch(ctx: WorkerContext, batch_id: str, attempt: int) -> dict[str, int]:
    """One attempt at delivering to the subscribers left in a batch; counts of the outcomes."""
    settings = ctx.settings
    batches = Batches(ctx.redis)
    intervals = settings.websub_retry_intervals
    retry_in = float(intervals[attempt - 1]) if attempt <= len(intervals) else None
    ids = batches.pending(batch_id, attempt)
    batches.unmark_queued(ids)
    run = _Run(batches, batch_id, attempt, retry_in)
    left = dispatch(deliverer(settings), prepare(ctx, ids, run), settings, run.add)
    run.flush()
    if left:
        queue_batch(ctx.redis, settings, batch_id, attempt, rest=True)
    if retry_in is not None and batches.waiting(batch_id, attempt + 1):
        queue_batch(ctx.redis, settings, batch_id, attempt + 1, delay=retry_in)
    counts = dict(run.counts)
    log.info("websub batch %s attempt %d: %s", batch_id, attempt, counts)
    if retry_in is None and run.counts["failed"] and not left:
        batches.keep_failed(batch_id, attempt)
        raise DeliveryFailed(
            f"websub batch {batch_id}: {run.counts['failed']} deliveries failed their last attempt"
        )
    return counts


def prepare(ctx: WorkerContext, ids: list[str], run: _Run) -> list[Task]:
    """The deliveries to make for ``ids``; what needs no request is recorded in ``run`` now."""
    settings = ctx.settings
    now = time.time()
    live: list[Subscription] = []
    for sub_id, sub in zip(ids, run.batches.subscriptions(ids), strict=True):
        if sub is None:
            run.add(Outcome(sub_id, "missing"))
        elif sub.expired(now):
            run.add(Outcome(sub_id, "expired", slug=sub.slug, callback=sub.callback))
        else:
            live.append(sub)
    bodies = {key: _current_body(ctx, *key) for key in {(s.slug, s.fmt) for s in live}}
    resolver = _memo(resolve)
    checked: dict[tuple[str, int], tuple[str, ...]] = {}
    hub = hub_url(settings.base_url)
    tasks = []
    for sub in live:
        body = bodies[(sub.slug, sub.fmt)]
        try:
            if body is None:
                raise DeliveryFailed(f"no feed document for {sub.slug}.{sub.fmt}")
            target = check_callback(sub.callback, policy(settings), resolver, checked)
        except CallbackRefused as exc:  # resolves somewhere it may not go: skip, no retry
            log.warning("websub delivery to %s refused: %s", sub.callback, exc)
            run.add(Outcome(sub.id, "refused", f"refused: {exc}"))
            continue
        except (CallbackUnresolvable, DeliveryFailed) as exc:
            run.add(Outcome(sub.id, "failed", str(exc)))
            continue
        headers = {
            "Content-Type": MEDIA_TYPES[sub.fmt],
            "Link": f'<{hub}>; rel="hub", <{sub.topic}>; rel="self"',
        }
        tasks.append(Task(sub, target, body, headers))
    return tasks


Result = tuple[Task, int | None, str]
"""A delivery made: the task, the status (``None``: no answer) and why there was none."""


class _Turns:
    """The tasks of one job and whose turn it is, taken by the delivery threads themselves: a
    thread that ends a delivery takes the next one (no hand-off through the job's thread per
    delivery); outcomes go to the job's thread ``WEBSUB_SETTLE_EVERY`` at a time."""

    def __init__(self, tasks: list[Task], host_cap: int, cap: int) -> None:
        self.per_host: dict[tuple[str, str, int], deque[Task]] = {}
        for task in tasks:
            self.per_host.setdefault(task.host, deque()).append(task)
        self.ready = deque(self.per_host)  # hosts with tasks waiting and a free connection
        self.busy: Counter[tuple[str, str, int]] = Counter()
        self.host_cap = host_cap
        self.runners = min(cap, len(tasks))
        self.deadline = time.monotonic() + defaults.WEBSUB_BATCH_BUDGET
        self.stopped = False
        """The job's thread gave up (an error): no task starts any more."""
        self.made: list[Result] = []
        self.done: queue.SimpleQueue[list[Result] | None] = queue.SimpleQueue()
        self.lock = threading.Lock()

    def run(self, deliverer: Deliverer, timeout: float) -> None:
        """One of the job's ``runners``: deliveries, one after the other, while there are."""
        task = self.next(None)
        while task is not None:
            task = self.next((task, *deliverer.attempt(task, timeout)))

    def next(self, result: Result | None) -> Task | None:
        """Record ``result`` (its host has a connection free again); the next task, or ``None``
        when none may start now (the last runner to stop tells the job's thread)."""
        with self.lock:
            if result is not None:
                host = result[0].host
                self.busy[host] -= 1
                if self.per_host[host] and self.busy[host] == self.host_cap - 1:  # its turn again
                    self.ready.append(host)
                self.made.append(result)
                if len(self.made) >= defaults.WEBSUB_SETTLE_EVERY:
                    self.done.put(self.made)
                    self.made = []
            if self.ready and not self.stopped and time.monotonic() < self.deadline:
                host = self.ready.popleft()
                self.busy[host] += 1
                if len(self.per_host[host]) > 1 and self.busy[host] < self.host_cap:
                    self.ready.append(host)
                return self.per_host[host].popleft()
            self.runners -= 1
            if not self.runners:
                self.done.put(self.made)
                self.done.put(None)
            return None


def dispatch(
    deliverer: Deliverer, tasks: list[Task], settings: Settings, record: Callable[[Outcome], None]
) -> list[Task]:
    """Run ``tasks`` on the delivery threads, at most ``websub_concurrency`` at once and
    ``websub_host_connections`` per host (hosts take turns), recording the outcomes
    ``WEBSUB_SETTLE_EVERY`` at a time as they come; return those not started within
    ``WEBSUB_BATCH_BUDGET`` seconds."""
    turns = _Turns(tasks, settings.websub_host_connections, settings.websub_concurrency)
    if not turns.runners:
        return []
    for _ in range(turns.runners):
        deliverer.submit(lambda: turns.run(deliverer, settings.websub_timeout))
    try:
        while (made := turns.done.get()) is not None:
            for task, status, error in made:
                record(_outcome(task, status, error))
    finally:
        turns.stopped = True  # after an error: the job's rerun makes what is left
    return [t for waiting in turns.per_host.values() for t in waiting]


def _outcome(task: Task, status: int | None, error: str) -> Outcome:
    sub = task.sub
    if status is None:
        return Outcome(sub.id, "failed", error)
    if 200 <= status < 300:
        return Outcome(sub.id, "delivered", str(status))
    if status == 410:  # Gone: the subscriber does not want it any more
        return Outcome(sub.id, "gone", "410", slug=sub.slug, callback=sub.callback)
    return Outcome(sub.id, "failed", str(status))


def _memo(resolver: Callable[[str, int], list[str]]) -> Callable[[str, int], list[str]]:
    """``resolver`` asked once per (host, port) for this job (its answer, or its error, kept)."""
    seen: dict[tuple[str, int], list[str] | CallbackUnresolvable] = {}

    def lookup(host: str, port: int) -> list[str]:
        if (host, port) not in seen:
            try:
                seen[(host, port)] = resolver(host, port)
            except CallbackUnresolvable as exc:
                seen[(host, port)] = exc
        got = seen[(host, port)]
        if isinstance(got, CallbackUnresolvable):
            raise got
        return got

    return lookup


def _current_body(ctx: WorkerContext, slug: str, fmt: str) -> bytes | None:
    doc = ctx.store.get_feed_doc(slug, fmt)
    if doc is None or doc.changed < ctx.store.changed(slug):
        # never rendered, or older than its topic (an express ingest, or two publishes raced):
        # render it now, as the feed URL would, in this format only
        publish(ctx.store, ctx.taxonomy, ctx.settings, [slug], formats=(fmt,))
        doc = ctx.store.get_feed_doc(slug, fmt)
    return None if doc is None else doc.body
