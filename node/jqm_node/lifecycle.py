"""Leaving the cluster on SIGTERM without dropping anything that was accepted.

1. Drain: health answers 503 at once (the node leaves the load balancer); enqueues are still taken
   for ``JQM_DRAIN_ACCEPT_SECONDS`` while load balancers notice.
2. Run what the node holds: running and queued jobs (and scheduled ones that come due) go on until
   nothing is left to run or ``JQM_SHUTDOWN_GRACE`` (counted from SIGTERM) runs out.
3. Then jobs still running are killed and end CRASHED, and jobs that never started (waiting, held,
   scheduled) end CANCELLED, each with a message saying why; one summary line is logged.
4. The finished history is handed over to a member (:mod:`jqm_node.cluster.handover`); once a member
   took it the journal is removed (a later start in this work dir begins empty). If nobody took it
   the journal stays, so a restart of the container in the same pod still has everything.
5. The API still answers for ``JQM_SHUTDOWN_LINGER`` seconds (reads of final states), or until a second
   SIGTERM or SIGINT, then the node exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from jqm_node.cluster.handover import send_history
from jqm_node.ids import BLOCK_SIZE
from jqm_node.idsupply import IdSupply
from jqm_node.node import Node

log = logging.getLogger(__name__)


async def leave(node: Node, *, hurry: asyncio.Event) -> None:
    """Runs the steps of the module docs; ``hurry`` (a second signal) cuts the linger short."""
    s = node.settings
    engine = node.engine
    started = time.time()
    deadline = started + s.shutdown_grace
    engine.drain_for_shutdown(accept_seconds=s.drain_accept_seconds)
    log.info("leaving: unhealthy now, enqueues taken for %ss, jobs have until %ss after the signal to end",
             s.drain_accept_seconds, s.shutdown_grace)  # fmt: skip
    await engine.wait_settled(deadline=deadline)
    engine.stop_dispatching()
    why = f"the node {s.name} ({s.ip}) shut down (SIGTERM) and its shutdown grace of {s.shutdown_grace:g}s ran out"
    killed = engine.kill_running(f"Killed: {why}")
    await engine.wait_idle()
    cancelled = engine.cancel_unstarted(f"Cancelled, never started: {why}")
    log.info(
        "shutdown: %d job(s) killed (CRASHED), %d never started (CANCELLED)%s",
        len(killed), len(cancelled), f": killed {killed}, cancelled {cancelled}" if killed or cancelled else "",
    )  # fmt: skip
    await hand_over(node, not_run=len(cancelled))
    if s.shutdown_linger and not hurry.is_set():
        log.info("still answering for %ss so clients can read final states", s.shutdown_linger)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(hurry.wait(), s.shutdown_linger)


async def hand_over(node: Node, *, not_run: int) -> None:
    # Without a ledger IDs are not reserved: the whole address's block stands for this node's IDs.
    own_ranges = node.ids.lineage if isinstance(node.ids, IdSupply) else [(0, BLOCK_SIZE)]
    sent = await send_history(
        engine=node.engine,
        forwarder=node.forwarder,
        membership=node.membership,
        node_name=node.settings.name,
        own_ranges=own_ranges,
        not_run=not_run,
        log_bytes=node.settings.handover_log_bytes,
        time_budget=node.settings.handover_timeout,
    )
    node.handover = sent
    if sent.error:
        log.error("the history of this node (%d finished job(s)) was not handed over: %s",
                  node.engine.counters().total() + len(node.history), sent.error)  # fmt: skip
        return
    if sent.to is not None:
        log.info("handed the history over to %s: %d job(s) in %.1fs; custody recorded in the ledger: %s",
                 sent.to, sent.jobs, time.time() - sent.at, sent.custody_recorded)  # fmt: skip
    if node.journal is not None:
        node.journal.discard()
