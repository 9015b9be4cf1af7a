"""Client calls that span the cluster: list and query reads answered for every node, bulk calls
split per owner (beyond upstream, whose standalone nodes answer these for themselves only).

Without peers (no ``JQM_PEERS``/``JQM_PEERS_DNS``), or for a request another node forwarded, each
call answers for the local node, exactly as upstream does. Otherwise the local answer and the peers'
answers (asked for JSON, with one deadline) are merged: lists by ID, queries by their sort order and
then paginated (:mod:`jqm_node.query` owns both), counts summed. Missing peers are named in
``X-Jqm-Partial-Results``. ``GET ji`` (every job) is streamed from every node and merged as it comes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from http import HTTPStatus
from itertools import islice
from typing import Any

from aiohttp import web

from jqm_node.api.client_objects import id_list, job_dicts, jobs_to_dicts
from jqm_node.api.client_query import ParsedQuery, parse_query, query_result
from jqm_node.api.params import parse_id
from jqm_node.api.representation import (
    JSON,
    NDJSON,
    XML,
    ListStream,
    json_response,
    parse_body,
    parse_list_body,
    render,
    render_job_list,
    wants_json,
)
from jqm_node.cluster.fanout import (
    PeerAnswers,
    PeerStreamError,
    PeerStreams,
    call_peers,
    is_forwarded,
    merge_by_id,
    open_streams,
    split_by_member,
)
from jqm_node.engine import Engine
from jqm_node.errors import JqmError
from jqm_node.model import State
from jqm_node.node import NODE_KEY, Node
from jqm_node.query import DEFAULT_PAGE_SIZE, JobQuery, matching, page, run, wire_sort_key

log = logging.getLogger(__name__)


class PeerAnswerError(JqmError):
    """A peer broke off its part of a streamed answer before anything was sent (502, as an unreachable owner)."""

    status = HTTPStatus.BAD_GATEWAY


PREFIX = "/ws/client"


async def _ask_all_peers(request: web.Request, body: Any | None = None, *, path: str | None = None) -> PeerAnswers:
    node: Node = request.app[NODE_KEY]
    if is_forwarded(request) or not node.membership.configured:
        return PeerAnswers()
    peers = await node.membership.peers()
    return await call_peers(node.forwarder, request, dict.fromkeys(peers, body), path=path)


def _unique(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One answer per ID: a node that has just handed its history over answers for it, and so does the
    member that holds it now, until the first one exits."""
    unique: dict[int, dict[str, Any]] = {}
    for job in jobs:
        unique.setdefault(job["id"], job)
    return list(unique.values())


# ------------------------------------------------------------------------------ list reads


async def _first_page(request: web.Request, query: JobQuery) -> web.StreamResponse:
    """The first page (by ID) of the jobs ``query`` finds on every node: upstream's list calls."""
    engine: Engine = request.app[NODE_KEY].engine
    jobs = jobs_to_dicts(islice(matching(engine, query), DEFAULT_PAGE_SIZE), engine)
    peers = await _ask_all_peers(request)
    for answer in peers.answers.values():
        jobs.extend(answer or [])
    jobs = _unique(jobs)
    jobs.sort(key=lambda job: job["id"])
    return peers.flag(render_job_list(request, jobs[:DEFAULT_PAGE_SIZE]))


async def get_active_jobs(request: web.Request) -> web.StreamResponse:
    """``GET ji/active``: the first 50 waiting or running job instances by ID (upstream's getActiveJobs)."""
    return await _first_page(request, JobQuery(live=True, history=False))


async def get_user_jobs(request: web.Request) -> web.StreamResponse:
    """``GET user/{name}/ji``: the first 50 waiting or running job instances of a user, by ID."""
    query = JobQuery(live=True, history=False)
    query.where_text("user", [request.match_info["name"]])
    return await _first_page(request, query)


async def _local_jobs(engine: Engine) -> AsyncGenerator[dict[str, Any], None]:
    """Every job of this node (and of the history it holds), by ID, as they are when they are written."""
    for job in job_dicts(list(engine.in_id_order()), engine):  # a list of references: jobs come and go meanwhile
        yield job


async def get_jobs(request: web.Request) -> web.StreamResponse:
    """``GET ji``: every job instance, waiting, running or finished, by ID, as upstream's ``getJobs()``
    (its query of live and history instances turns paging off).

    The answer is streamed: the local jobs and each peer's (asked for NDJSON) are merged by ID as they
    come, so a node never holds a whole list, whatever the cluster holds. A peer that fails before its
    answer starts is named in ``X-Jqm-Partial-Results``; one that breaks off later cuts the answer off
    (the connection closes before the list ends: a client sees an error, never a shorter list).
    """
    node: Node = request.app[NODE_KEY]
    forwarded = is_forwarded(request)
    peers = PeerStreams()
    if not forwarded and node.membership.configured:
        peers = await open_streams(node.forwarder, request, await node.membership.peers())
    if forwarded and NDJSON in request.headers.get("Accept", ""):
        content_type = NDJSON
    else:
        content_type = JSON if wants_json(request) else XML
    stream = ListStream(request, "jobInstances", "jobInstance", content_type=content_type)
    peers.flag(stream.response)
    try:
        async for job in merge_by_id([_local_jobs(node.engine), *peers.streams.values()]):
            await stream.add(job)
    except PeerStreamError as e:
        if not stream.response.prepared:
            raise PeerAnswerError(f"the list of jobs could not be completed: {e}") from None
        log.warning("GET %s cut off: %s", request.path, e)
        return stream.abort()
    return await stream.finish()


# ------------------------------------------------------------------------------ queries


async def _cluster_query(request: web.Request) -> tuple[ParsedQuery, list[dict[str, Any]], int, PeerAnswers]:
    """The merged page of the query across the cluster, the total match count, and who answered.

    Each node is asked for its first ``firstRow + pageSize`` results in the query's order; the page
    of the merged, re-sorted lists is the page of the whole cluster.
    """
    engine: Engine = request.app[NODE_KEY].engine
    parsed = parse_query(parse_body(await request.read(), request.content_type), node_name=engine.node_name)
    query = parsed.query
    first_row, page_size = query.first_row, query.page_size
    wanted = None if page_size is None else first_row + page_size
    query.first_row, query.page_size = 0, wanted
    jobs, total = run(engine, query)
    merged = jobs_to_dicts(jobs, engine)
    peer_body = {**parsed.body, "firstRow": 0, "pageSize": wanted}
    if wanted is None:
        peer_body.pop("pageSize")
    peers = await _ask_all_peers(request, peer_body, path=f"{PREFIX}/ji/query")  # /ids too: merging needs the jobs
    for answer in peers.answers.values():
        merged.extend(answer.get("instances") or [])
        total += answer.get("resultSize") or 0
    unique = _unique(merged)
    total -= len(merged) - len(unique)
    unique.sort(key=wire_sort_key(query.sorts))
    return parsed, page(unique, first_row, page_size), total, peers


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
            job = engine.find(job_id)
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
