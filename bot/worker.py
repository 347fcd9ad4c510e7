"""The RQ worker class: an rq Worker that survives Redis going away and keeps the sweep going.

Used as `rq worker -w bot.worker.Worker --with-scheduler replies default broadcasts`.

- **Redis outages.** A plain rq Worker quits on a Redis error while a job runs ("found
  an unhandled exception, quitting") and takes the sweep with it. This one lets the
  running job finish (its work horse keeps going; what it did is in SQLite), then waits
  for Redis with backoff, and when Redis answers again registers itself anew (a restarted
  Redis forgot it), restarts the scheduler if it died, and runs a sweep at once, which
  hands over everything the outage left behind.
- **The sweep** is put back on the schedule at start-up and on every maintenance round:
  recovery never depends on a job that Redis may have lost.
- **No fork per job.** `Worker` (the Procfile's) runs each job in its own process, as
  rq's `SimpleWorker` does: the job code, the catalogs, the SQLite and HTTP set-up are
  loaded once per worker, not once per job, which is what lets one worker keep up with a
  local gateway (docs/DECISIONS.md 263 has the trade-off). `ForkingWorker` keeps rq's
  work horse per job, for a deployment that wants a job's crash or leak contained.
- **Job code is imported once**, here, before any fork: a `ForkingWorker`'s work horses
  start with `bot.jobs` and everything it needs already loaded, instead of importing the
  Twilio SDK, the dialogs and the catalogs again for every job (docs/DECISIONS.md 71).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from datetime import timedelta

import redis
from rq import Queue, SimpleWorker
from rq import Worker as RQWorker
from rq.exceptions import StopRequested
from rq.worker import WorkerStatus

import bot.jobs  # noqa: F401  (preloaded for every work horse: see the module docstring)
import bot.pipeline.payouts  # noqa: F401  (submit_payout_job's module)
from bot.config import load_config
from bot.pipeline.dispatch import schedule_sweep
from bot.storage import utcnow
from conversations.i18n import SUPPORTED_LOCALES, format_local_time, format_money, load_translations

log = logging.getLogger(__name__)


def preload() -> None:
    """Load what every job needs and each process would otherwise build on first use: the
    reply catalogs (compiled from .po), Babel's locale data, the time zones."""
    for locale in SUPPORTED_LOCALES:
        load_translations(locale)
        format_money(1000, locale)
    for zone in ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"):
        format_local_time(utcnow(), zone)


preload()

#: What a Redis outage looks like to redis-py.
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class _Resilient:
    """What both worker classes add to rq's: waiting out Redis outages, keeping the
    periodic sweep scheduled."""

    #: Backoff between attempts to reach Redis again: doubling from 0.5 s up to this.
    redis_backoff_max = 10.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sweep_interval = timedelta(seconds=load_config()["SWEEP_INTERVAL_SECONDS"])
        # Notice Redis's return within half a sweep interval.
        self.redis_backoff_max = min(self.redis_backoff_max, max(self.sweep_interval.total_seconds() / 2, 1))

    # -- the sweep --------------------------------------------------------------------

    def run_maintenance_tasks(self):
        first = self.last_cleaned_at is None
        try:
            schedule_sweep(self.connection, utcnow(), self.sweep_interval)
            if first:
                # At start-up (after a crash, a reboot), recover at once rather than at the
                # next interval boundary.
                self._sweep_now()
            super().run_maintenance_tasks()
        except REDIS_DOWN as exc:
            self.wait_for_redis(exc)

    def _sweep_now(self) -> None:
        Queue("default", connection=self.connection).enqueue(
            "bot.jobs.sweep_job", result_ttl=60, failure_ttl=3600)

    # -- Redis outages ----------------------------------------------------------------

    def execute_job(self, job, queue):
        try:
            super().execute_job(job, queue)
        except REDIS_DOWN as exc:
            log.warning("Worker %s: Redis went away during job %s (%s); letting the job finish",
                        self.name, job.id, exc)
            self._let_the_horse_finish()
            self.wait_for_redis(exc)
            with contextlib.suppress(*REDIS_DOWN):
                self.set_state(WorkerStatus.IDLE)

    def heartbeat(self, timeout=None, pipeline=None):
        if pipeline is not None:
            return super().heartbeat(timeout, pipeline)
        while True:
            try:
                return super().heartbeat(timeout)
            except REDIS_DOWN as exc:
                self.wait_for_redis(exc)

    def check_for_suspension(self, burst: bool):
        while True:
            try:
                return super().check_for_suspension(burst)
            except REDIS_DOWN as exc:
                self.wait_for_redis(exc)

    def _let_the_horse_finish(self) -> None:
        """Wait for the work horse of the interrupted job: it does not need Redis to finish
        its delivery, and it records the outcome in SQLite."""
        pid = self._horse_pid
        if pid:
            with contextlib.suppress(ChildProcessError):
                while True:
                    try:
                        os.waitpid(pid, 0)
                        break
                    except InterruptedError:
                        continue
        self._horse_pid = 0
        self.executions.clear()

    def wait_for_redis(self, error: Exception) -> None:
        """Block until Redis answers again (backoff 0.5 s doubling to `redis_backoff_max`),
        then recover: register again, restart the scheduler, run a sweep now."""
        delay = 0.5
        log.error("Worker %s: Redis unreachable (%s); retrying with backoff", self.name, error)
        while True:
            if self._stop_requested:
                raise StopRequested()
            time.sleep(delay)
            try:
                self.connection.ping()
                break
            except REDIS_DOWN as exc:
                delay = min(delay * 2, self.redis_backoff_max)
                log.warning("Worker %s: Redis still unreachable (%s); next try in %.1f s",
                            self.name, exc, delay)
        log.warning("Worker %s: Redis is back", self.name)
        with contextlib.suppress(*REDIS_DOWN):
            self._recover_after_outage()

    def _recover_after_outage(self) -> None:
        if not self.connection.sismember("rq:workers", self.key):
            # A Redis that restarted without its data forgot this worker: register again so
            # that `rq info` and the scheduler see it.
            with contextlib.suppress(ValueError):
                self.connection.delete(self.key)
                self.register_birth()
        if self.scheduler is not None and (
                self.scheduler._process is None or not self.scheduler._process.is_alive()):
            # rq's scheduler process exits on a Redis error; without it nothing scheduled
            # (retries, the next sweep) would ever run.
            self.scheduler.acquire_locks(auto_start=True)
        schedule_sweep(self.connection, utcnow(), self.sweep_interval)
        self._sweep_now()

    def teardown(self):
        # Stopping during an outage: rq would raise trying to record the death in Redis.
        try:
            super().teardown()
        except REDIS_DOWN as exc:
            log.warning("Worker %s: stopped without telling Redis (%s)", self.name, exc)

    def set_shutdown_requested_date(self):
        # Called from rq's SIGTERM handler: during an outage it must not raise there, in
        # whatever the worker was doing. The warm shutdown still happens.
        with contextlib.suppress(*REDIS_DOWN):
            super().set_shutdown_requested_date()


class Worker(_Resilient, SimpleWorker):
    """The Procfile's worker: jobs run in the worker process itself (no fork per job)."""


class ForkingWorker(_Resilient, RQWorker):
    """rq's forking worker (a work horse per job) with the same resilience."""
