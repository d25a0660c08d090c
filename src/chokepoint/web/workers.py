"""Worker processes for the web app: a small pool of long-lived processes (started with
``spawn``), each talking to the server over a pipe.

The server's own process then only moves bytes and answers requests: CPU-heavy work
(checking uploads, simulating, drawing charts) runs elsewhere and cannot stall the event
loop. A worker that passes a time limit or dies is killed and replaced on next use.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any

from chokepoint.errors import ChokepointError


class WorkersBusy(ChokepointError):
    """No worker process is free (or one could not be started); try again later."""


WORKER_NICENESS = 10
"""Worker processes run simulations and checks at a lower CPU priority than the server, so
that on a busy machine the server keeps answering (``/api/health`` within a second) while
the workers share what is left."""


def _run_nicely(target: Callable[..., None], connection: Any, *args: Any) -> None:
    """The worker process's entry point: lower its priority, then run ``target``."""
    try:
        os.nice(WORKER_NICENESS)
    except OSError:  # pragma: no cover - not allowed here: run at normal priority
        pass
    target(connection, *args)


class ProcessWorker:
    """One process running ``target(connection, *args)`` at a lower priority; it sends
    ``("ready", None)`` when it is ready for work."""

    def __init__(
        self, target: Callable[..., None], args: tuple[Any, ...], startup_timeout: float, name: str
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(
            target=_run_nicely, args=(target, child, *args), name=name, daemon=True
        )
        self.process.start()
        child.close()
        try:
            ready = self.connection.poll(startup_timeout) and self.connection.recv()[0] == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            raise WorkersBusy(f"a {name} process did not start; try again")

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.connection.close()

    def stop(self) -> None:
        """Ask the process to end (it reads None), then make sure it has."""
        try:
            self.connection.send(None)
        except OSError:
            pass
        self.process.join(timeout=2)
        self.kill()


class WorkerPool:
    """Up to ``size`` :class:`ProcessWorker` processes, started when first needed."""

    def __init__(
        self,
        target: Callable[..., None],
        args: tuple[Any, ...] = (),
        *,
        size: int = 1,
        name: str = "chokepoint-worker",
        startup_timeout: float = 120.0,
    ) -> None:
        self.target = target
        self.args = args
        self.size = max(1, size)
        self.name = name
        self.startup_timeout = startup_timeout
        self._idle: queue.LifoQueue[ProcessWorker] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._alive = 0
        self._closed = False

    def acquire(self, wait: float | None) -> ProcessWorker:
        """A free worker (started if the pool is not full); WorkersBusy after ``wait``
        seconds without one (None: wait as long as it takes)."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._closed:
                raise WorkersBusy("the server is shutting down")
            start = self._alive < self.size
            if start:
                self._alive += 1
        if not start:
            try:
                return self._idle.get(timeout=wait)
            except queue.Empty:
                raise WorkersBusy("the server is busy; try again shortly") from None
        try:
            return ProcessWorker(self.target, self.args, self.startup_timeout, self.name)
        except BaseException:
            with self._lock:
                self._alive -= 1
            raise

    def release(self, worker: ProcessWorker, healthy: bool) -> None:
        """Give a worker back; an unhealthy one (timed out, died) is killed."""
        if healthy and not self._closed:
            self._idle.put(worker)
            return
        worker.kill()
        with self._lock:
            self._alive -= 1

    def warm(self, count: int = 1) -> None:
        """Start ``count`` workers now, on a thread, so that the first request is quick."""

        def start() -> None:
            try:
                workers = [self.acquire(None) for _ in range(min(count, self.size))]
            except ChokepointError:
                return
            for worker in workers:
                self.release(worker, healthy=True)

        threading.Thread(target=start, name=f"{self.name}-start", daemon=True).start()

    def close(self) -> None:
        """Stop the idle workers; busy ones are killed when they are given back."""
        with self._lock:
            self._closed = True
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            worker.stop()
            with self._lock:
                self._alive -= 1


class JobThreads:
    """The threads that follow jobs on a :class:`WorkerPool` (up to ``threads`` at once,
    started on first use) and the flag that tells them the server is stopping."""

    def __init__(self, pool: WorkerPool, threads: int, prefix: str) -> None:
        self.pool = pool
        self.threads = threads
        self.prefix = prefix
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def submit(self, follow: Callable[..., None], *args: Any) -> None:
        """Run ``follow(*args)`` on one of the threads."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix=self.prefix)
            executor = self._executor
        executor.submit(follow, *args)

    def shutdown(self) -> None:
        """Tell the jobs to stop, wait for their threads, then stop the worker processes."""
        self.stopping.set()
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        self.pool.close()


def serve_requests(connection: Connection, answer: Callable[[Any], tuple[Any, ...]]) -> None:
    """A worker process's loop: say it is ready, then send ``answer(request)`` for each
    request until told to stop (None) or the pipe closes."""
    connection.send(("ready", None))
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        send_reply(connection, answer(request))


def messages(worker: ProcessWorker, job: Any, stopping: threading.Event) -> Iterator[tuple]:
    """Send ``job`` to ``worker`` and yield its messages; ``("stopped",)`` when ``stopping``
    is set and ``("lost",)`` when the worker's pipe breaks, after which the worker is
    unsound."""
    worker.connection.send(job)
    while True:
        if stopping.is_set():
            yield ("stopped",)
            return
        try:
            if not worker.connection.poll(0.25):
                continue
            message = worker.connection.recv()
        except (EOFError, OSError):
            yield ("lost",)
            return
        yield message


def run_on_worker(
    pool: WorkerPool, follow: Callable[[ProcessWorker], bool], fail: Callable[[str], None]
) -> None:
    """Take a worker from ``pool`` and run ``follow(worker)`` (whether the worker is still
    sound); ``fail(message)`` when no worker can be had."""
    try:
        worker = pool.acquire(None)
    except ChokepointError as exc:
        fail(one_line(str(exc)))
        return
    healthy = False
    try:
        healthy = follow(worker)
    finally:
        pool.release(worker, healthy)


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def send_reply(connection: Connection, reply: tuple[Any, ...]) -> None:
    """Send a reply from a worker; one that cannot be sent is reported as a bug."""
    import traceback

    try:
        connection.send(reply)
    except Exception:
        connection.send(("bug", traceback.format_exc()))
