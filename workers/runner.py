"""Running Dramatiq workers: in the API process (`serve --workers N`) or as processes of their own (`worker`)."""

from __future__ import annotations

import multiprocessing
import signal
import threading

from dramatiq import Worker
from dramatiq.broker import Broker

from workers.actors import declare_actors
from workers.broker import broker_for
from workers.config import WorkerConfig

# How long an idle consumer waits for a message per poll: the pickup delay of a queued import (100 ms: ten Redis
# calls a second per idle worker).
WORKER_TIMEOUT_MS = 100


def start_worker(config: WorkerConfig, threads: int, broker: Broker | None = None) -> Worker:
    """Start consuming in background threads of this process; call `.stop()` to finish in-flight messages."""
    broker = broker or broker_for(config)
    declare_actors(broker, config)
    worker = Worker(broker, worker_threads=threads, worker_timeout=WORKER_TIMEOUT_MS)
    worker.start()
    return worker


def _worker_process(config: WorkerConfig, threads: int) -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker = start_worker(config, threads)
    stop.wait()
    worker.stop()


def run_worker_processes(config: WorkerConfig, *, processes: int, threads: int) -> int:
    """Run `processes` worker processes until SIGTERM/SIGINT, then stop them gracefully; return an exit code."""
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=_worker_process, args=(config, threads), name=f"oneroster-sync-worker-{n}")
        for n in range(processes)
    ]
    for child in children:
        child.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set() and all(child.is_alive() for child in children):
        stop.wait(1.0)
    for child in children:
        if child.is_alive():
            child.terminate()  # SIGTERM: the child stops its worker gracefully
    for child in children:
        child.join()
    return 0 if stop.is_set() else 1
