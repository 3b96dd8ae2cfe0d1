"""``iamgate serve --workers N``: one sidecar per core, all answering on one port.

CPython runs one thread of Python at a time, so one process uses at most one core. Here a parent
process forks N workers, each a whole single-process sidecar (``server.serve``: its own bundle
source and pollers, engine, decision cache, health and metrics), and the kernel spreads incoming
connections over them: every worker listens on the same address with SO_REUSEPORT, as in grpc's
multiprocessing example. Nothing of gRPC is created before the fork (grpcio's core does not
survive one); the parent creates no gRPC object at all. It only

* reserves the port (a bound, never listening SO_REUSEPORT socket, so ``:0`` picks one port that
  every worker then shares and no one else can take while the sidecar runs);
* serves ``/metrics`` at ``--metrics-address`` by scraping each worker's own endpoint (loopback,
  ephemeral port) and summing counters and histograms; gauges and info, which describe one
  process (its bundle revision, its cache), are given per worker with a ``worker`` label. Sums
  never go down: a worker that misses a scrape counts with its last values, and a replaced
  worker's last values stay in every later sum (see ``WorkerMetricsCollector``);
* restarts a worker that dies, and on SIGTERM or SIGINT stops every worker gracefully (SIGTERM,
  then SIGKILL after the grace period).

Bundle activation converges without coordination: every worker watches the same source with the
same poll interval, so all of them activate a new revision within one interval of each other;
each answer names the revision that decided it, and GetStatus names the worker and its revision.
A Unix socket cannot be shared this way, so it gets one process (``--workers`` > 1 is refused).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iamgate.service.config import ServiceConfig, split_host_port
from iamgate.service.errors import ConfigError
from iamgate.service.snapshots import SnapshotSource

if TYPE_CHECKING:  # multiprocessing loads with the pool: one process (--workers 1) never needs it
    from multiprocessing.connection import Connection

_log = logging.getLogger(__name__)

SourceFactory = Callable[[], SnapshotSource]

_SUMMED_GAUGES = frozenset({"iamgate_decision_cache_entries"})
"""Gauges that add up over workers (each worker's cache holds its own entries)."""

_RESTART_DELAY = 1.0
_SCRAPE_TIMEOUT = 2.0


def parse_workers(text: str) -> int:
    """``--workers`` value: a positive count, or ``auto`` for the cores this process may use."""
    if text.strip().lower() == "auto":
        return available_cores()
    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError("workers", f"{text!r}: must be a number of processes (1 or more) or 'auto'")
    return int(text)


def available_cores() -> int:
    """The CPUs this process may run on, lowered to the container's CPU limit where one is set."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    limit = _cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, max(1, math.ceil(limit)))
    return max(1, cores)


def _cgroup_cpu_limit() -> float | None:
    """CPUs allowed by cgroup v2 ``cpu.max`` or v1 ``cfs_quota_us/cfs_period_us``; None if unlimited."""
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    with contextlib.suppress(OSError, ValueError):
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else quota_us / period_us
    return None


def check_workers(config: ServiceConfig, workers: int) -> None:
    """Refuse what several processes cannot do: share a Unix socket."""
    if workers > 1 and config.address.startswith("unix:"):
        raise ConfigError(
            "workers",
            f"{workers} worker processes cannot share the Unix socket {config.address}; a Unix socket "
            "is served by one process (use --workers 1, or a TCP address for several workers)",
        )


def worker_log_path(path: str | None, index: int, count: int) -> str | None:
    """Each worker writes (and rotates) a decision log file of its own: ``decisions.worker1.jsonl``."""
    if path is None or path == "-" or count == 1:
        return path
    target = Path(path)
    return str(target.with_name(f"{target.stem}.worker{index}{target.suffix}"))


# --- the worker process -------------------------------------------------------------------------


def _worker_main(
    config: ServiceConfig, make_source: SourceFactory, index: int, conn: Connection, parent: int
) -> None:
    """Body of one forked worker: a whole single-process sidecar, reporting to its parent."""
    from iamgate.service.bundles import BundleSetupError
    from iamgate.service.server import serve

    for sig in (signal.SIGINT, signal.SIGTERM):  # not the parent's handlers; serve() installs its own
        signal.signal(sig, signal.SIG_DFL)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)s [worker {index}] %(name)s: %(message)s")
        )
    threading.Thread(target=_exit_with_parent, args=(parent,), name="iamgate-parent", daemon=True).start()

    def started(sidecar: Any) -> None:
        conn.send(("ready", index, os.getpid(), sidecar.metrics_port))

    try:
        serve(config, make_source(), on_start=started)
    except (ConfigError, BundleSetupError) as error:
        conn.send(("failed", index, os.getpid(), str(error)))
        os._exit(2)
    except BaseException as error:  # a worker must tell its parent why, never hang it
        _log.exception("worker %d failed", index)
        with contextlib.suppress(Exception):
            conn.send(("failed", index, os.getpid(), f"{type(error).__name__}: {error}"))
        os._exit(1)
    conn.close()


def _exit_with_parent(parent: int) -> None:
    """A worker whose parent died (SIGKILL, OOM) stops too instead of serving unsupervised."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


# --- the parent ---------------------------------------------------------------------------------


@dataclass
class _Worker:
    index: int
    process: Any
    conn: Connection
    pid: int = 0
    metrics_port: int | None = None
    ready: bool = False


class WorkerPool:
    """N forked sidecars sharing one port; the parent's side of ``serve_workers``."""

    def __init__(self, config: ServiceConfig, make_source: SourceFactory, count: int) -> None:
        check_workers(config, count)
        self.count = count
        self._make_source = make_source
        import multiprocessing

        self._context = multiprocessing.get_context("fork")
        self._reservation, self.port = _reserve_port(config.address)
        host = config.address.rpartition(":")[0]
        self.address = f"{host}:{self.port}"
        self._base = replace(
            config,
            address=self.address,
            reuse_port=True,
            worker_count=count,
            metrics_address="127.0.0.1:0" if config.metrics_address is not None else None,
        )
        self._config = config
        self._workers: list[_Worker] = []
        self._lock = threading.Lock()
        self.restarts = 0
        """Workers started again after one died (``iamgate_worker_restarts_total``)."""

    def _spawn(self, index: int) -> _Worker:
        config = replace(
            self._base,
            worker_index=index,
            decision_log=worker_log_path(self._config.decision_log, index, self.count),
        )
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_worker_main,
            args=(config, self._make_source, index, send, os.getpid()),
            name=f"iamgate-worker-{index}",
            daemon=False,
        )
        process.start()
        send.close()
        return _Worker(index=index, process=process, conn=receive, pid=process.pid or 0)

    def start(self) -> None:
        """Fork every worker and wait until each listens (or one fails: then stop all, raise)."""
        from multiprocessing.connection import wait

        self._workers = [self._spawn(index) for index in range(self.count)]
        pending = {w.index: w for w in self._workers}
        while pending:
            waitables: list[Any] = [w.conn for w in pending.values()]
            waitables += [w.process.sentinel for w in pending.values()]
            wait(waitables, timeout=1.0)
            for worker in list(pending.values()):
                message = _receive(worker.conn)
                if message is not None and message[0] == "ready":
                    worker.pid, worker.metrics_port, worker.ready = message[2], message[3], True
                    del pending[worker.index]
                elif message is not None or not worker.process.is_alive():
                    reason = message[3] if message is not None else f"exit code {worker.process.exitcode}"
                    self.stop()
                    raise ConfigError("workers", f"worker {worker.index} failed to start: {reason}")

    def supervise_once(self, stopping: threading.Event) -> None:
        """Restart workers that died; collect late ready messages. Called by the parent's loop."""
        for position, worker in enumerate(list(self._workers)):
            message = _receive(worker.conn)
            if message is not None and message[0] == "ready":
                worker.pid, worker.metrics_port, worker.ready = message[2], message[3], True
            if worker.process.is_alive() or stopping.is_set():
                continue
            _log.error(
                "worker %d (pid %d) exited with code %s; starting a new one",
                worker.index,
                worker.pid,
                worker.process.exitcode,
            )
            worker.conn.close()
            if stopping.wait(_RESTART_DELAY):
                return
            with self._lock:
                self._workers[position] = self._spawn(worker.index)
                self.restarts += 1

    def metrics_ports(self) -> list[tuple[int, int, int]]:
        """``(index, pid, metrics port)`` of every worker that reported ready."""
        with self._lock:
            return [(w.index, w.pid, w.metrics_port) for w in self._workers if w.ready and w.metrics_port]

    def pids(self) -> set[int]:
        """The workers of now, ready or not (a dead one counts until it is replaced)."""
        with self._lock:
            return {w.pid for w in self._workers}

    def stop(self, grace: float | None = None) -> None:
        """SIGTERM every worker (each drains like a single sidecar), SIGKILL what outlives the grace."""
        grace = self._config.shutdown_grace_seconds if grace is None else grace
        for worker in self._workers:
            if worker.process.is_alive():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace + 5.0
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                _log.warning("worker %d did not stop in time; killing it", worker.index)
                worker.process.kill()
                worker.process.join(5.0)
            worker.conn.close()
        self._reservation.close()


def _receive(conn: Connection) -> tuple[Any, ...] | None:
    try:
        if conn.poll():
            return conn.recv()
    except (EOFError, OSError):
        return None
    return None


def _reserve_port(address: str) -> tuple[socket.socket, int]:
    """A bound (not listening) SO_REUSEPORT socket holding the workers' port for the sidecar's life."""
    host, port = split_host_port(address, setting="address")
    try:
        family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        reservation = socket.socket(family, kind, proto)
    except OSError as error:
        raise ConfigError("address", f"cannot listen on {address}: {error}") from None
    try:
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        reservation.bind(where)
    except OSError as error:
        reservation.close()
        raise ConfigError("address", f"cannot listen on {address}: {error.strerror}") from None
    return reservation, reservation.getsockname()[1]


# --- metrics summed over workers ------------------------------------------------------------------


Families = list[Any]
Sums = dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]


class WorkerMetricsCollector:
    """Scrapes every worker's ``/metrics`` and merges them into the parent's one endpoint.

    Summed counters must never go down, or Prometheus sees a reset and ``rate()`` spikes. So the
    collector keeps each worker's last scrape: a worker that does not answer one scrape counts with
    its last values, and a worker that died and was replaced leaves its last values behind in
    ``retired``, which every later sum includes (what prometheus_client's multiprocess mode does
    with the files of dead processes). Gauges describe live processes: only fresh scrapes give them.
    """

    def __init__(self, pool: WorkerPool, fetch: Callable[[int], str] | None = None) -> None:
        self._pool = pool
        self._fetch = fetch or _fetch_metrics
        """Reads a worker's metrics text from its port (tests give a fake one)."""
        self._lock = threading.Lock()
        self._last: dict[int, tuple[int, Families]] = {}
        """pid -> (worker index, families of its last successful scrape)."""
        self._retired: dict[str, tuple[Any, dict[tuple[str, tuple[tuple[str, str], ...]], float]]] = {}
        """Summed samples of replaced workers, per family: (family, (sample, labels) -> value)."""

    def describe(self) -> list[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        with self._lock:  # two scrapes at once must not retire one worker twice
            fresh = self._scrape_all()
            self._retire_replaced()
            last = list(self._last.values())
            retired = dict(self._retired)
        up = GaugeMetricFamily("iamgate_workers_up", "Worker processes whose metrics this scrape read.")
        up.add_metric([], float(len(fresh)))
        yield up
        configured = GaugeMetricFamily("iamgate_workers", "Worker processes configured (--workers).")
        configured.add_metric([], float(self._pool.count))
        yield configured
        restarts = CounterMetricFamily(
            "iamgate_worker_restarts", "Worker processes started again after one died."
        )
        restarts.add_metric([], float(self._pool.restarts))
        yield restarts
        yield from merge_families(fresh, summed_from=last, retired=retired)

    def _scrape_all(self) -> list[tuple[int, Families]]:
        fresh: list[tuple[int, Families]] = []
        for index, pid, port in self._pool.metrics_ports():
            try:
                families = list(text_families(self._fetch(port)))
            except (OSError, ValueError) as error:
                _log.warning("cannot scrape worker %d's metrics: %s", index, error)
                continue
            self._last[pid] = (index, families)
            fresh.append((index, families))
        return fresh

    def _retire_replaced(self) -> None:
        current = self._pool.pids()
        for pid in [pid for pid in self._last if pid not in current]:
            _index, families = self._last.pop(pid)
            for family in families:
                if not _is_counter(family):
                    continue
                _, table = self._retired.setdefault(family.name, (family, {}))
                for sample in family.samples:
                    _add_sample(table, sample)


def _fetch_metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=_SCRAPE_TIMEOUT) as response:
        return response.read().decode("utf-8")


def text_families(text: str) -> Iterator[Any]:
    from prometheus_client.parser import text_string_to_metric_families

    return text_string_to_metric_families(text)


def _is_counter(family: Any) -> bool:
    """Counters, histograms and summaries: they only grow, so a sum over workers must never drop."""
    return family.type in ("counter", "histogram", "summary")


def _add_sample(table: dict[tuple[str, tuple[tuple[str, str], ...]], float], sample: Any) -> None:
    key = (sample.name, tuple(sorted(sample.labels.items())))
    if sample.name.endswith("_created"):
        table[key] = min(table.get(key, sample.value), sample.value)
    else:
        table[key] = table.get(key, 0.0) + sample.value


def merge_families(
    scraped: list[tuple[int, Families]],
    *,
    summed_from: list[tuple[int, Families]] | None = None,
    retired: Mapping[str, tuple[Any, dict[tuple[str, tuple[tuple[str, str], ...]], float]]] | None = None,
) -> Iterator[Any]:
    """Counters, histograms and summaries summed; gauges and info per ``worker`` label.

    Gauges come from ``scraped`` (this scrape's answers; the cache sizes summed); counters from
    ``summed_from`` (each current worker's last answer, ``scraped`` by default) plus ``retired``
    (the last values of replaced workers).
    """
    from prometheus_client.core import Metric

    merged: dict[str, Any] = {}
    sums: Sums = {}

    def family_of(family: Any) -> Any:
        if family.name not in merged:
            merged[family.name] = Metric(family.name, family.documentation, family.type)
            sums[family.name] = {}
        return merged[family.name]

    for index, families in scraped:
        for family in families:
            target = family_of(family)
            if family.name in _SUMMED_GAUGES:
                for sample in family.samples:
                    _add_sample(sums[family.name], sample)
            elif not _is_counter(family):
                for sample in family.samples:
                    target.add_sample(sample.name, {**sample.labels, "worker": str(index)}, sample.value)
    for _index, families in scraped if summed_from is None else summed_from:
        for family in families:
            if _is_counter(family):
                family_of(family)
                for sample in family.samples:
                    _add_sample(sums[family.name], sample)
    for name, (family, table) in (retired or {}).items():
        family_of(family)
        for (sample_name, labels), value in table.items():
            if sample_name.endswith("_created"):
                continue  # a replaced worker's creation time is not the series' start
            key = (sample_name, labels)
            sums[name][key] = sums[name].get(key, 0.0) + value
    for name, metric in merged.items():
        for (sample_name, labels), value in sums[name].items():
            metric.add_sample(sample_name, dict(labels), value)
        yield metric


def _start_parent_metrics(address: str, pool: WorkerPool) -> Any:
    from prometheus_client import CollectorRegistry, start_http_server

    registry = CollectorRegistry()
    registry.register(WorkerMetricsCollector(pool))  # type: ignore[arg-type]
    host, port = split_host_port(address, setting="metrics_address")
    try:
        httpd, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        raise ConfigError("metrics_address", f"cannot listen on {address}: {error.strerror}") from None
    return httpd


def serve_workers(
    config: ServiceConfig,
    make_source: SourceFactory,
    workers: int,
    *,
    ready: threading.Event | None = None,
) -> None:
    """Run ``workers`` sidecar processes on ``config.address`` until SIGINT or SIGTERM.

    ``make_source`` is called in each worker after the fork: every worker builds and starts its
    own bundle source, so each has its own engine, cache and pollers.
    """
    stopping = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        _log.info("received %s; stopping %d workers", signal.Signals(signum).name, workers)
        stopping.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        pool = WorkerPool(config, make_source, workers)
        httpd = None
        try:
            pool.start()
            if config.metrics_address is not None:
                httpd = _start_parent_metrics(config.metrics_address, pool)
                _log.info(
                    "metrics (summed over workers) on http://%s:%d/metrics",
                    config.metrics_address.rpartition(":")[0],
                    httpd.server_address[1],
                )
            _log.info("iamgate listening on %s (%d worker processes)", pool.address, workers)
            if ready is not None:
                ready.set()
            while not stopping.wait(0.2):
                pool.supervise_once(stopping)
        finally:
            if httpd is not None:
                httpd.shutdown()
                httpd.server_close()
            pool.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
