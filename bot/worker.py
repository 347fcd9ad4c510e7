"""The RQ worker class: a plain rq Worker that also keeps the periodic sweep scheduled.

Used as `rq worker -w bot.worker.Worker --with-scheduler replies default broadcasts`.
Redis may lose its scheduled jobs (restart without persistence); every maintenance round
puts the sweep back, so recovery never depends on a job that no longer exists.
"""

from __future__ import annotations

from rq import Worker as RQWorker

from bot.pipeline.dispatch import schedule_sweep
from bot.storage import utcnow


class Worker(RQWorker):
    """rq.Worker plus `schedule_sweep` on start-up and on every maintenance round."""

    def run_maintenance_tasks(self):
        schedule_sweep(self.connection, utcnow())
        super().run_maintenance_tasks()
