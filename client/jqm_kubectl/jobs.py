"""The job commands: run, restart, get, list, logs, kill."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from jqm_client import (
    BadRequestError,
    JobInstance,
    JobRequest,
    JqmClient,
    LogChunk,
    LogStream,
    Query,
    Sort,
    SortColumn,
    State,
)
from jqm_kubectl.context import Context
from jqm_kubectl.errors import Exit, PluginError
from jqm_kubectl.output import age, document, duration, table
from jqm_kubectl.progress import Progress

INVALID_ENQUEUE = 6  # upstream's errorDto code for invalid enqueue parameters (unknown application among them)


def exit_for(job: JobInstance) -> Exit:
    """0 when the job ENDED, 1 otherwise: CRASHED (a killed job too), CANCELLED (or KILLED, from older nodes)."""
    return Exit.OK if job.state is State.ENDED else Exit.JOB_FAILED


def _unknown_application(jqm: JqmClient, cluster: str, application: str, error: BadRequestError) -> PluginError:
    """The enqueue refusal, or a clear "unknown application" naming the ones the cluster has."""
    if error.code == INVALID_ENQUEUE:
        known = sorted(d.application_name for d in jqm.job_definitions())
        if application not in known:
            return PluginError(
                f"JqmCluster {cluster} has no application {application!r} (it has: {', '.join(known) or 'none'})",
                Exit.NOT_FOUND,
            )
    return PluginError(f"JqmCluster {cluster} refused the job: {error.user_readable_message}", Exit.REFUSED)


def _request(args: argparse.Namespace) -> JobRequest:
    keywords = [*(args.keyword or []), None, None, None]
    return JobRequest(
        application_name=args.app,
        parameters=dict(args.parameter or []),
        queue_name=args.queue,
        priority=args.priority,
        user=args.job_user,
        module=args.module,
        keyword1=keywords[0],
        keyword2=keywords[1],
        keyword3=keywords[2],
        session_id=args.session_id,
        start_held=args.held,
    )


def _write_chunk(ctx: Context, chunk: LogChunk) -> None:
    target = ctx.out_bytes if chunk.stream is LogStream.STDOUT else ctx.err_bytes
    target.write(chunk.data)
    target.flush()


def follow_up(ctx: Context, jqm: JqmClient, job: JobInstance, args: argparse.Namespace) -> Exit:
    """After an enqueue: print the job, or wait for it (with a progress line or its logs)."""
    if not (args.wait or args.logs):
        ctx.out.write(document(job, args.output) if args.output != "table" else f"{job.id}\n")
        return Exit.OK
    ctx.note(f"job {job.id} ({job.application_name}) submitted")
    if args.logs:
        last: list[JobInstance] = [job]
        for chunk in jqm.follow_logs(job.id, timeout=args.timeout, on_update=last.append):
            _write_chunk(ctx, chunk)
        final = last[-1]
    else:
        progress = Progress(ctx.err)
        try:
            final = jqm.wait(job.id, timeout=args.timeout, on_update=progress.update)
        finally:
            progress.clear()
    if args.output != "table":
        ctx.out.write(document(final, args.output))
    took = duration(final.end_date - final.enqueue_date) if final.end_date and final.enqueue_date else "?"
    ctx.note(f"job {final.id} {final.state} after {took}")
    return exit_for(final)


def run(ctx: Context, args: argparse.Namespace) -> Exit:
    access = ctx.open_cluster(args.cluster)
    with access.client() as jqm:
        try:
            job = jqm.enqueue(_request(args))
        except BadRequestError as e:
            raise _unknown_application(jqm, args.cluster, args.app, e) from None
        return follow_up(ctx, jqm, job, args)


def restart(ctx: Context, args: argparse.Namespace) -> Exit:
    """A new job with the request of an existing one (any finished job whose definition allows it)."""
    with ctx.open_cluster(args.cluster).client() as jqm:
        new_id = jqm.enqueue_from_history(args.id)
        job = jqm.get_job(new_id)
        if not (args.wait or args.logs) and args.output == "table":
            ctx.note(f"job {args.id} restarted as job {new_id}")
        return follow_up(ctx, jqm, job, args)


def _details(job: JobInstance) -> list[tuple[str, object]]:
    parameters = " ".join(f"{k}={v}" for k, v in job.parameters.items()) or None
    keywords = " ".join(k for k in (job.keyword1, job.keyword2, job.keyword3) if k) or None
    return [
        ("ID", job.id),
        ("Application", job.application_name),
        ("State", job.state),
        ("Queue", job.queue_name),
        ("Position", job.position if job.state is State.SUBMITTED else None),
        ("Priority", job.priority),
        ("Parameters", parameters),
        ("User", job.user),
        ("Keywords", keywords),
        ("Module", job.module),
        ("Session", job.session_id),
        ("Parent", job.parent),
        ("Node", job.node_name),
        ("Enqueued", job.enqueue_date.isoformat() if job.enqueue_date else None),
        ("Started", job.began_running_date.isoformat() if job.began_running_date else None),
        ("Ended", job.end_date.isoformat() if job.end_date else None),
        ("Run after", job.run_after.isoformat() if job.run_after else None),
        ("Progress", job.progress),
        ("Messages", "; ".join(job.messages) or None),
    ]


def get(ctx: Context, args: argparse.Namespace) -> Exit:
    with ctx.open_cluster(args.cluster).client() as jqm:
        job = jqm.get_job(args.id)
    if args.output != "table":
        ctx.out.write(document(job, args.output))
    else:
        width = max(len(name) for name, _ in _details(job)) + 1
        ctx.out.write("".join(f"{name + ':':<{width}} {value}\n" for name, value in _details(job) if value is not None))
    return Exit.OK


def _took(job: JobInstance, now: datetime) -> str | None:
    if job.began_running_date is None:
        return None
    return duration((job.end_date or now) - job.began_running_date)


def list_jobs(ctx: Context, args: argparse.Namespace) -> Exit:
    query = Query(
        statuses=[State(s) for s in args.state or []],
        application_names=list(args.app or []),
        user=args.job_user,
        queue_name=args.queue,
        live=not args.finished,
        history=not args.active,
        page_size=args.limit,
        sort=[Sort(SortColumn.ID, descending=True)],
    )
    with ctx.open_cluster(args.cluster).client() as jqm:
        result = jqm.query(query)
    if result.missing_nodes:
        ctx.note(f"warning: no answer from node(s) {', '.join(result.missing_nodes)}: their jobs are missing")
    if args.output != "table":
        ctx.out.write(document(result, args.output))
        return Exit.OK
    now = datetime.now(UTC)
    rows = [
        (j.id, j.application_name, j.state, j.queue_name, j.user, age(j.enqueue_date, now), _took(j, now), j.node_name)
        for j in result.instances
    ]
    ctx.out.write(table(["ID", "APPLICATION", "STATE", "QUEUE", "USER", "AGE", "RAN", "NODE"], rows))
    if result.total > len(result.instances):
        ctx.note(f"{len(result.instances)} of {result.total} jobs shown (--limit)")
    return Exit.OK


def logs(ctx: Context, args: argparse.Namespace) -> Exit:
    streams = [LogStream.STDOUT, LogStream.STDERR] if args.stream == "all" else [LogStream(args.stream)]
    with ctx.open_cluster(args.cluster).client() as jqm:
        if args.follow:
            for chunk in jqm.follow_logs(args.id, streams, timeout=args.timeout):
                _write_chunk(ctx, chunk)
            return Exit.OK
        jqm.get_job(args.id)  # an unknown ID is "not found", not an empty log
        for stream in streams:
            _write_chunk(ctx, LogChunk(stream, jqm.log(args.id, stream)))
    return Exit.OK


def kill(ctx: Context, args: argparse.Namespace) -> Exit:
    with ctx.open_cluster(args.cluster).client() as jqm:
        for job_id in args.ids:
            jqm.kill(job_id)
            ctx.out.write(f"job {job_id}: kill requested\n")
    return Exit.OK
