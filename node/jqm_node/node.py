"""One node assembled: settings, workspace, ledger, journal, runner and engine, shared by the HTTP handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from aiohttp import web

from jqm_node.auth.job_credentials import JobCredentials
from jqm_node.auth.users import UsersSource
from jqm_node.auth.verifier import CredentialVerifier
from jqm_node.cluster.custody import CustodyDirectory, OwnerResolver
from jqm_node.cluster.forwarding import Forwarder
from jqm_node.cluster.handover import HandoverSent
from jqm_node.cluster.membership import Membership
from jqm_node.config import NodeConfig, Settings
from jqm_node.engine import Engine
from jqm_node.history import HeldHistory
from jqm_node.ids import BLOCK_SIZE, IdAllocator
from jqm_node.idsupply import IdSupply
from jqm_node.inputs import InputFiles
from jqm_node.jobstats import JobStats
from jqm_node.journal import JOURNAL_NAME, Journal, read_journal
from jqm_node.ledger import IdLedger, open_ledger
from jqm_node.records import Catalog
from jqm_node.recovery import Recovered, adopt_held, live_records, rebuild, report
from jqm_node.runner import JobRunner
from jqm_node.security_settings import SecuritySettings
from jqm_node.tls import peer_client_context
from jqm_node.workspace import Workspace

log = logging.getLogger(__name__)

FIRST_RESERVATION_WAIT = 5.0
EXPIRY_INTERVAL = 60.0


class Node:
    def __init__(self, settings: Settings, config: NodeConfig) -> None:
        """Raises LedgerError when the ledger cannot work here (a ConfigMap ledger outside a pod)."""
        self.settings = settings
        self.workspace = Workspace(settings.workdir)
        security = settings.security
        self.input_files = InputFiles(
            self.workspace, max_files=security.max_input_files, max_bytes=security.max_input_bytes
        )
        self.job_credentials = JobCredentials()
        self.verifier = (
            CredentialVerifier(UsersSource(security.users_files), self.job_credentials)
            if security.auth_enabled
            else None
        )  # raises UsersError when a users file cannot be used
        runner = JobRunner(
            workspace=self.workspace,
            node_name=settings.name,
            api_local_url=settings.api_local_url,
            kill_grace=settings.kill_grace,
            base_env=_job_base_env(security),
            log_level=settings.log_level,
            credentials=self.job_credentials if security.auth_enabled else None,
        )
        self.journal = Journal(self.workspace.root / JOURNAL_NAME) if settings.journal else None
        self.ledger: IdLedger | None = open_ledger(settings.id_ledger) if settings.id_ledger else None
        self.ids: IdSupply | IdAllocator
        if self.ledger is None:
            self.ids = IdAllocator(settings.ip, settings.id_limit)
        else:
            on_reserved = self.journal.block if self.journal is not None else None
            self.ids = IdSupply(ip=settings.ip, ledger=self.ledger, limit=settings.id_limit, on_reserved=on_reserved)
        self.history = HeldHistory(
            workspace=self.workspace, max_jobs=settings.history_max_jobs, max_age=settings.history_max_age
        )
        self.engine = Engine(
            ip=settings.ip,
            node_name=settings.name,
            queues=config.queues,
            definitions=config.job_definitions,
            runner=runner,
            id_limit=settings.id_limit,
            ids=self.ids,
            journal=self.journal,
            history=self.history,
        )
        self.job_stats = JobStats()
        self.engine.on_finished.append(self.job_stats.record)
        self.membership = Membership(self_ip=settings.ip, static=settings.peers, dns_name=settings.peers_dns)
        self.forwarder = Forwarder(
            self_ip=settings.ip,
            port=settings.peer_port,
            timeout=settings.forward_timeout,
            connect_timeout=settings.forward_connect_timeout,
            secret=security.cluster_secret,
            tls=peer_client_context(security.tls) if security.tls else None,
        )
        self.custody = CustodyDirectory(self.ledger)
        self.resolver = OwnerResolver(
            self_ip=settings.ip,
            membership=self.membership,
            custody=self.custody,
            knows=self.engine.knows,
            owns=self.ids.owns,
            holds_range_of=self.history.holds_range_of,
            lineage_end=self._lineage_end,
        )
        self.recovered = Recovered()
        self.handover: HandoverSent | None = None
        self._expiry: asyncio.Task[None] | None = None

    def _lineage_end(self) -> int:
        if isinstance(self.ids, IdSupply):
            return max((hi for _, hi in self.ids.lineage), default=0)
        return BLOCK_SIZE  # without a ledger every ID of this address is this node's

    async def ready_to_enqueue(self) -> None:
        """Waits (briefly) for IDs when none is in hand but a reservation is under way: an enqueue then
        waits a few milliseconds instead of being refused. Returns at once in every other case."""
        ids = self.ids
        if isinstance(ids, IdSupply) and not ids.has_ids_in_hand():
            await ids.wait_available()

    async def start(self) -> None:
        """Gets the jobs of the journal back (then compacts it), reserves the first IDs, starts retention."""
        if self.journal is not None:
            content = await asyncio.to_thread(read_journal, self.journal.path)
            self.recovered = rebuild(content, Catalog(self.engine.definitions, self.engine.queues))
            adopt_held(self.history, content, self.recovered)
            lineage = [*content.lineage]
            if isinstance(self.ids, IdSupply):
                self.ids.adopt_lineage(lineage)
                lineage = self.ids.lineage
            self.journal.rewrite(live_records(self.recovered.jobs, self.history, lineage))
            report(self.recovered)
            for job_id in (*self.recovered.crashed, *self.recovered.cancelled):
                self.workspace.purge_job(job_id)  # their input files, empty logs
            self.engine.adopt(self.recovered.jobs)
        if isinstance(self.ids, IdSupply):
            await self.ids.start(wait=FIRST_RESERVATION_WAIT)
        self._expiry = asyncio.get_running_loop().create_task(self._expire_regularly())

    async def close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry
        if isinstance(self.ids, IdSupply):
            await self.ids.close()
        if self.ledger is not None:
            await self.ledger.close()
        if self.journal is not None:
            self.journal.close()

    async def _expire_regularly(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_INTERVAL)
            for job_id in self.history.expire():
                if self.journal is not None:
                    self.journal.expired(job_id)


NODE_KEY = web.AppKey("node", Node)


def _job_base_env(security: SecuritySettings) -> dict[str, str]:
    """The environment every job inherits: the node's own, minus the node's JQM_* settings; with TLS
    and a CA, ``JQM_API_CA_FILE`` tells jobs what to trust on ``JQM_API_LOCAL_URL``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JQM_")}
    if security.tls and security.tls.ca:
        env["JQM_API_CA_FILE"] = str(security.tls.ca)
    return env
