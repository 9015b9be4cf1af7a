"""Client calls that span the cluster: list and query reads answered for every node, bulk calls
split per owner (beyond upstream, whose standalone nodes answer these for themselves only).

Without peers (no ``JQM_PEERS``/``JQM_PEERS_DNS``), or for a request another node forwarded, each
call answers for the local node, exactly as upstream does. Otherwise the local answer and the peers'
answers (asked for JSON, with one deadline) are merged: lists by ID, queries by their sort order and
then paginated, counts summed. Missing peers are named in ``X-Jqm-Partial-Results``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from jqm_node.api.client_objects import id_list, jobs_to_dicts
from jqm_node.api.client_query import DEFAULT_PAGE_SIZE, Query, query_from_dict, query_result, run_query
from jqm_node.api.params import parse_id
from jqm_node.api.representation import json_response, parse_body, parse_list_body, render, render_job_list
from jqm_node.cluster.fanout import PeerAnswers, call_peers, is_forwarded, split_by_member
from jqm_node.engine import Engine
from jqm_node.errors import JqmError
from jqm_node.model import ACTIVE_STATES, JobInstance, State
from jqm_node.node import NODE_KEY, Node

PREFIX = "/ws/client"
_SORT_FIELDS = {
    "ID": "id", "APPLICATIONNAME": "applicationName", "QUEUENAME": "queueName", "STATUS": "state",
    "DATEENQUEUE": "enqueueDate", "DATEATTRIBUTION": "beganRunningDate", "DATEEXECUTION": "beganRunningDate",
    "DATEEND": "endDate", "USERNAME": "user", "PARENTID": "parent",
}  # fmt: skip


async def _ask_all_peers(request: web.Request, body: Any | None = None, *, path: str | None = None) -> PeerAnswers:
    node: Node = request.app[NODE_KEY]
    if is_forwarded(request) or not node.membership.configured:
        return PeerAnswers()
    peers = await node.membership.peers()
    return await call_peers(node.forwarder, request, dict.fromkeys(peers, body), path=path)


# ------------------------------------------------------------------------------ list reads


def _first_by_id(engine: Engine, keep: frozenset[State], user: str | None = None) -> list[JobInstance]:
    """The first page (by ID) of jobs in ``keep``: what upstream's list calls answer (their query's default page)."""
    found: list[JobInstance] = []
    for job in engine.in_id_order():
        if job.state in keep and (user is None or job.user == user):
            found.append(job)
            if len(found) == DEFAULT_PAGE_SIZE:
                break
    return found


async def _job_list(request: web.Request, keep: frozenset[State], user: str | None = None) -> web.Response:
    engine: Engine = request.app[NODE_KEY].engine
    jobs = jobs_to_dicts(_first_by_id(engine, keep, user), engine)
    peers = await _ask_all_peers(request)
    for answer in peers.answers.values():
        jobs.extend(answer or [])
    jobs = _unique(jobs)
    jobs.sort(key=lambda job: job["id"])
    return peers.flag(render_job_list(request, jobs[:DEFAULT_PAGE_SIZE]))  # type: ignore[return-value]


def _unique(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One answer per ID: a node that has just handed its history over answers for it, and so does the
    member that holds it now, until the first one exits."""
    unique: dict[int, dict[str, Any]] = {}
    for job in jobs:
        unique.setdefault(job["id"], job)
    return list(unique.values())


async def get_jobs(request: web.Request) -> web.Response:
    """``GET ji``: the first 50 job instances by ID, waiting, running or finished (upstream's page size)."""
    return await _job_list(request, frozenset(State))


async def get_active_jobs(request: web.Request) -> web.Response:
    """``GET ji/active``: the first 50 waiting or running job instances by ID."""
    return await _job_list(request, ACTIVE_STATES)


async def get_user_jobs(request: web.Request) -> web.Response:
    """``GET user/{name}/ji``: the first 50 waiting or running job instances of a user, by ID."""
    return await _job_list(request, ACTIVE_STATES, request.match_info["name"])


# ------------------------------------------------------------------------------ queries


def _sort_key(query: Query) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """Orders job dicts as the query orders jobs (absent values first ascending), ID last."""
    columns = [(_SORT_FIELDS[col], descending) for col, descending in query.sorts]

    def key(job: dict[str, Any]) -> tuple[Any, ...]:
        parts: list[Any] = []
        for name, descending in columns:
            value = job.get(name)
            present = value is not None
            if descending:
                parts.append(_Reversed((present, value)))
            else:
                parts.append((present, value))
        return (*parts, job["id"])

    return key


class _Reversed:
    """Inverts the order of one sort component."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return other.value < self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and other.value == self.value


async def _cluster_query(request: web.Request) -> tuple[Query, list[dict[str, Any]], int, PeerAnswers]:
    """The merged page of the query across the cluster, the total match count, and who answered.

    Each node is asked for its first ``firstRow + pageSize`` results in the query's order; the page
    of the merged, re-sorted lists is the page of the whole cluster.
    """
    engine: Engine = request.app[NODE_KEY].engine
    data = parse_body(await request.read(), request.content_type)
    query = query_from_dict(data, node_name=engine.node_name)
    first_row, page_size = query.first_row, query.page_size
    query.first_row = 0
    query.page_size = None if page_size is None else first_row + page_size
    jobs, total = run_query(engine, query)
    merged = jobs_to_dicts(jobs, engine)
    peer_body = {**(data if isinstance(data, dict) else {}), "firstRow": 0, "pageSize": query.page_size}
    if query.page_size is None:
        peer_body.pop("pageSize")
    peers = await _ask_all_peers(request, peer_body, path=f"{PREFIX}/ji/query")  # /ids too: merging needs the jobs
    for answer in peers.answers.values():
        merged.extend(answer.get("instances") or [])
        total += answer.get("resultSize") or 0
    unique = _unique(merged)
    total -= len(merged) - len(unique)
    merged = unique
    merged.sort(key=_sort_key(query))
    query.first_row, query.page_size = first_row, page_size
    end = None if page_size is None else first_row + page_size
    return query, merged[first_row:end], total, peers


async def query(request: web.Request) -> web.StreamResponse:
    """``POST ji/query``: the Query answered with its results (``instances``) and ``resultSize``."""
    parsed, jobs, total, peers = await _cluster_query(request)
    return peers.flag(render(request, "queryBaseImpl", query_result(parsed, jobs, total)))


async def query_ids(request: web.Request) -> web.StreamResponse:
    """``POST ji/query/ids``: only the IDs of the jobs the Query finds (always JSON, as upstream)."""
    _, jobs, _, peers = await _cluster_query(request)
    return peers.flag(json_response([job["id"] for job in jobs]))


# ------------------------------------------------------------------------------ bulk calls


async def _spread(request: web.Request, act_locally: Callable[[Engine, list[int]], Any]) -> tuple[Any, PeerAnswers]:
    """Acts on local IDs here and sends each owner its own IDs (same path, JSON list body)."""
    node: Node = request.app[NODE_KEY]
    ids = id_list(parse_list_body(await request.read(), request.content_type, "id"))
    if is_forwarded(request):
        return act_locally(node.engine, ids), PeerAnswers()
    local, remote = await split_by_member(ids, resolver=node.resolver)
    result = act_locally(node.engine, local)
    return result, await call_peers(node.forwarder, request, dict(remote.items()))


def _counting(skip: frozenset[State], act: Callable[[Engine, int], object]) -> Callable[[Engine, list[int]], int]:
    """A bulk instruction: applies ``act`` to each job not in ``skip``; how many succeeded."""

    def apply(engine: Engine, ids: list[int]) -> int:
        done = 0
        for job_id in ids:
            job = engine.jobs.get(job_id)
            if job is None or job.state in skip:
                continue
            try:
                act(engine, job_id)
            except JqmError:  # upstream: best effort, each failure is skipped
                continue
            done += 1
        return done

    return apply


async def _bulk_count(request: web.Request, apply: Callable[[Engine, list[int]], int]) -> web.StreamResponse:
    done, peers = await _spread(request, apply)
    return peers.flag(json_response(done + sum(int(n or 0) for n in peers.answers.values())))


async def kill_many(request: web.Request) -> web.StreamResponse:
    return await _bulk_count(request, _counting(frozenset({State.HOLDED}), Engine.kill))


async def pause_many(request: web.Request) -> web.StreamResponse:
    return await _bulk_count(request, _counting(frozenset(), Engine.pause_waiting))


async def resume_many(request: web.Request) -> web.StreamResponse:
    return await _bulk_count(request, _counting(frozenset(), Engine.resume_waiting))


async def set_jobs_queue(request: web.Request) -> web.StreamResponse:
    """``POST q/{queue}/bulk``: moves each waiting job of a list of IDs; answers how many moved."""
    engine: Engine = request.app[NODE_KEY].engine
    queue = engine.queue_by_id(parse_id(request.match_info["queue"], name="queue ID"))
    # Queues are configured identically on every node of a cluster: the owner has the same queue ID.
    return await _bulk_count(request, _counting(frozenset(), lambda e, job_id: e.set_queue(job_id, queue)))


def _enqueue_from_history(engine: Engine, ids: list[int]) -> list[int]:
    created = []
    for job_id in ids:
        job = engine.find(job_id)
        if job is None or job.state is State.CANCELLED:
            continue
        try:
            created.append(engine.enqueue_from_history(job_id).id)
        except JqmError:
            continue  # upstream: best effort, each failure is skipped
    return created


async def bulk_enqueue_from_history(request: web.Request) -> web.StreamResponse:
    """``POST ji/bulk``: as ``POST ji/{id}`` for each ID (cancelled jobs skipped, as upstream); the new IDs."""
    await request.app[NODE_KEY].ready_to_enqueue()
    created, peers = await _spread(request, _enqueue_from_history)
    for answer in peers.answers.values():
        created.extend(answer or [])
    return peers.flag(json_response(sorted(created)))
