"""A Python client of JQM's client API (``/ws/client``, JSON representation).

``JqmClient`` is synchronous and needs only the standard library; ``jqm_client.aio.AsyncJqmClient``
is its asynchronous twin on aiohttp (``pip install 'jqm-standalone-operator[client]'``). Both share
the models, the request/answer layer and the multi-request plans; see docs/CLIENT.md.
"""

from jqm_client.auth import BasicAuth, BearerToken
from jqm_client.client import JqmClient
from jqm_client.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    GoneError,
    JobTimeoutError,
    JqmApiError,
    JqmConnectionError,
    JqmError,
    JqmProtocolError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
)
from jqm_client.models import (
    Deliverable,
    JobDef,
    JobInstance,
    JobRequest,
    LogChunk,
    LogStream,
    Query,
    QueryResult,
    Queue,
    QueueStatus,
    Sort,
    SortColumn,
    State,
)
from jqm_client.plans import PollPolicy

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BasicAuth",
    "BearerToken",
    "ConflictError",
    "Deliverable",
    "GoneError",
    "JobDef",
    "JobInstance",
    "JobRequest",
    "JobTimeoutError",
    "JqmApiError",
    "JqmClient",
    "JqmConnectionError",
    "JqmError",
    "JqmProtocolError",
    "LogChunk",
    "LogStream",
    "NotFoundError",
    "PermissionDeniedError",
    "PollPolicy",
    "Query",
    "QueryResult",
    "Queue",
    "QueueStatus",
    "ServerError",
    "Sort",
    "SortColumn",
    "State",
]
