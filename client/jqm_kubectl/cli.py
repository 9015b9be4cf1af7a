"""``kubectl jqm``: run and watch JQM jobs of a JqmCluster with nothing but a kubeconfig.

kubectl finds the ``kubectl-jqm`` executable on the PATH and runs it with the arguments after
``jqm``. Exit codes are those of :class:`jqm_kubectl.errors.Exit`; failures print one line on
stderr, never a stack trace, and never a credential.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from jqm_client import (
    AuthenticationError,
    GoneError,
    JobTimeoutError,
    JqmApiError,
    JqmConnectionError,
    JqmError,
    NotFoundError,
    PermissionDeniedError,
    State,
)
from jqm_kubectl import jobs, status
from jqm_kubectl.access import AccessOptions, ClusterAccess
from jqm_kubectl.context import Context
from jqm_kubectl.errors import Exit, PluginError
from jqm_kubectl.kube import KubeSession
from jqm_kubectl.output import FORMATS

Command = Callable[[Context, argparse.Namespace], Exit]

EXAMPLES = """\
examples:
  kubectl jqm status demo
  kubectl jqm run demo DemoEcho -p p1=hi --wait --logs
  kubectl jqm list demo --state CRASHED
  kubectl jqm logs demo 2130706434000001 -f
  kubectl jqm kill demo 2130706434000001

exit codes: 0 done (job ENDED), 1 job CRASHED (killed jobs too) or CANCELLED, 2 usage, 3 --timeout passed,
4 access refused, 5 not found, 6 unreachable, 7 refused by JQM, 130 interrupted
"""


def _job_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a job ID is a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a job ID is not negative, got {text!r}")
    return value


def _parameter(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"a parameter is key=value, got {text!r}")
    return key, value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seconds expected, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number expected, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def _connection_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options accepted before and after the command (``suppress``: a command's copy does not reset them)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("cluster access")
    group.add_argument(
        "--kubeconfig", default=default(None), help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )
    group.add_argument("--context", default=default(None), help="kubeconfig context (default: the current one)")
    group.add_argument("-n", "--namespace", default=default(None), help="namespace (default: the context's)")
    group.add_argument(
        "--user", dest="jqm_user", default=default(None), help="JQM user (default: admin, with the cluster's Secret)"
    )
    group.add_argument(
        "--password-stdin", action="store_true", default=default(False), help="read the JQM password from stdin"
    )
    group.add_argument(
        "--access", choices=("proxy", "direct"), default=default("proxy"),
        help="reach nodes through the API server (proxy, default) or at their pod IP (direct)",
    )  # fmt: skip
    group.add_argument(
        "--request-timeout", type=_seconds, default=default(30.0), help="seconds per request (default 30)"
    )


def _output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=FORMATS, default="table", help="output format (default table)")


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="wait until the job is over; exit code from its state")
    parser.add_argument(
        "--logs", action="store_true", help="stream its stdout and stderr until it is over (implies --wait)"
    )
    parser.add_argument("--timeout", type=_seconds, help="with --wait/--logs: give up after this many seconds (exit 3)")
    _output_option(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl jqm",
        description="Run and watch JQM jobs of a JqmCluster through the Kubernetes API.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _connection_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, handler: Command, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _connection_options(sub, suppress=True)
        sub.set_defaults(handler=handler)
        return sub

    sub = command("status", status.status, "nodes, queues, conditions and recent events of a JqmCluster")
    sub.add_argument("cluster", nargs="?", metavar="CLUSTER", help="default: the only JqmCluster of the namespace")
    _output_option(sub)

    sub = command("run", jobs.run, "enqueue a job (optionally wait for it and stream its logs)")
    sub.add_argument("cluster", metavar="CLUSTER")
    sub.add_argument("app", metavar="APP", help="the job definition's name (applicationName)")
    sub.add_argument("-p", "--parameter", action="append", type=_parameter, metavar="KEY=VALUE", help="repeatable")
    sub.add_argument("--queue", help="queue name (default: the definition's)")
    sub.add_argument("--priority", type=int, help="1 to 10")
    sub.add_argument("--keyword", action="append", help="up to 3 keywords (keyword1..3)")
    sub.add_argument("--job-user", help="the job's user field")
    sub.add_argument("--module", help="the job's module field")
    sub.add_argument("--session-id", help="the job's session ID")
    sub.add_argument("--held", action="store_true", help="enqueue held (HOLDED) until resumed")
    _wait_options(sub)

    sub = command("restart", jobs.restart, "enqueue a job again with the request of an existing one")
    sub.add_argument("cluster", metavar="CLUSTER")
    sub.add_argument("id", type=_job_id, metavar="ID")
    _wait_options(sub)

    sub = command("get", jobs.get, "one job's details")
    sub.add_argument("cluster", metavar="CLUSTER")
    sub.add_argument("id", type=_job_id, metavar="ID")
    _output_option(sub)

    sub = command("list", jobs.list_jobs, "jobs of the cluster, newest first")
    sub.add_argument("cluster", metavar="CLUSTER")
    sub.add_argument("--state", action="append", choices=[s.value for s in State], help="repeatable")
    sub.add_argument("--app", action="append", help="application name, %% as wildcard; repeatable")
    sub.add_argument("--job-user", help="jobs of this user")
    sub.add_argument("--queue", help="jobs of this queue")
    when = sub.add_mutually_exclusive_group()
    when.add_argument("--active", action="store_true", help="only waiting and running jobs")
    when.add_argument("--finished", action="store_true", help="only finished jobs")
    sub.add_argument("--limit", type=_positive_int, default=20, help="at most this many (default 20)")
    _output_option(sub)

    sub = command("logs", jobs.logs, "a job's stdout and stderr")
    sub.add_argument("cluster", metavar="CLUSTER")
    sub.add_argument("id", type=_job_id, metavar="ID")
    sub.add_argument("--stream", choices=("all", "stdout", "stderr"), default="all", help="default: both")
    sub.add_argument("-f", "--follow", action="store_true", help="go on until the job is over")
    sub.add_argument("--timeout", type=_seconds, help="with --follow: give up after this many seconds (exit 3)")

    sub = command("kill", jobs.kill, "stop running jobs (SIGTERM, then SIGKILL); waiting ones are cancelled")
    sub.add_argument("cluster", metavar="CLUSTER")
    sub.add_argument("ids", type=_job_id, nargs="+", metavar="ID")
    return parser


def _check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Rules argparse cannot say; ``parser.error`` exits 2."""
    if getattr(args, "logs", False) and getattr(args, "output", "table") != "table":
        parser.error("--logs streams the job's output: it cannot be combined with -o json/yaml")
    if getattr(args, "timeout", None) is not None and not (
        getattr(args, "wait", False) or getattr(args, "logs", False) or getattr(args, "follow", False)
    ):
        parser.error("--timeout needs --wait, --logs or --follow")
    if len(getattr(args, "keyword", None) or []) > 3:
        parser.error("at most 3 --keyword")
    if args.jqm_user is not None and not args.password_stdin:
        parser.error("--user needs --password-stdin")


def explain(error: JqmError) -> PluginError:
    """A failure of the client library as a message and an exit code."""
    if isinstance(error, JobTimeoutError):
        return PluginError(f"{error}; it goes on (kubectl jqm logs CLUSTER {error.job_id} -f)", Exit.TIMEOUT)
    if isinstance(error, AuthenticationError | PermissionDeniedError):
        return PluginError(f"JQM refused the call: {error}", Exit.ACCESS)
    if isinstance(error, NotFoundError | GoneError):
        return PluginError(str(error.user_readable_message), Exit.NOT_FOUND)
    if isinstance(error, JqmApiError):
        return PluginError(f"JQM refused the request: {error}", Exit.REFUSED)
    if isinstance(error, JqmConnectionError):
        return PluginError(f"cannot reach the node: {error}", Exit.UNREACHABLE)
    return PluginError(f"unexpected answer: {error}", Exit.REFUSED)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _check(parser, args)
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    options = AccessOptions(
        mode=args.access, user=args.jqm_user, password=password, request_timeout=args.request_timeout
    )
    session: KubeSession | None = None
    opened: list[ClusterAccess] = []
    try:
        session = KubeSession(kubeconfig=args.kubeconfig, context=args.context, namespace=args.namespace)

        def open_cluster(name: str) -> ClusterAccess:
            assert session is not None
            opened.append(ClusterAccess(session, name, options))
            return opened[-1]

        ctx = Context(
            out=sys.stdout,
            err=sys.stderr,
            out_bytes=sys.stdout.buffer,
            err_bytes=sys.stderr.buffer,
            open_cluster=open_cluster,
            list_clusters=session.list_clusters,
            namespace=session.namespace,
        )
        handler: Command = args.handler
        return int(handler(ctx, args))
    except AuthenticationError as e:
        failure = opened[-1].explain_refusal(e) if opened else explain(e)
    except JqmError as e:
        failure = explain(e)
    except PluginError as e:
        failure = e
    except KeyboardInterrupt:
        failure = PluginError("interrupted (a job already enqueued goes on)", Exit.INTERRUPTED)
    except BrokenPipeError:
        return int(Exit.OK)  # the reader (head, less) left: nothing more to say
    finally:
        if session is not None:
            session.close()
    sys.stdout.flush()
    sys.stderr.write(f"error: {failure.message}\n")
    return int(failure.code)


if __name__ == "__main__":  # python -m jqm_kubectl.cli
    sys.exit(main())
