"""Workcells beyond one machine: each a bluesky-queueserver (RE Manager, its worker, Redis
for the queue) that owns its own devices, and a pool that spreads one campaign's trials
over them."""

from lab.workcells._pool import WorkcellPool, WorkcellsEmergencyStop
from lab.workcells._queue_server import QueueServerExecutor, WorkcellError

__all__ = ["QueueServerExecutor", "WorkcellError", "WorkcellPool", "WorkcellsEmergencyStop"]
