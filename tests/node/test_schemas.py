"""The objects the node writes have exactly the fields, in upstream's order, that api/schemas.py declares:
the one declaration the OpenAPI document and the XML reader and writer are derived from."""

from __future__ import annotations

from pathlib import Path

import pytest

from jqm_node.api import schemas
from jqm_node.api.client_objects import (
    deliverable_to_dict,
    empty_job_request,
    job_to_dict,
    jobdef_to_dict,
    queue_to_dict,
)
from jqm_node.api.client_query import empty_query
from jqm_node.api.openapi import SCHEMAS
from jqm_node.api.representation import error_body
from jqm_node.errors import NotFoundError
from jqm_node.model import Deliverable, JobRequest
from jqm_node.workspace import Workspace
from tests.node.test_engine import ManualRunner, make_engine


@pytest.fixture
def runner(tmp_path: Path) -> ManualRunner:
    workspace = Workspace(tmp_path)
    workspace.create()
    return ManualRunner(workspace)


async def test_written_objects_have_the_declared_fields_in_order(runner: ManualRunner, tmp_path: Path) -> None:
    engine = make_engine(runner)
    job = engine.enqueue(JobRequest(application_name="job"))
    item = Deliverable(id=job.id + 1, job_id=job.id, path=str(tmp_path / "x"), file_family="x", original_name="x")
    assert list(job_to_dict(job, engine)) == list(schemas.JOB_INSTANCE)
    assert list(jobdef_to_dict(job.definition, engine)) == list(schemas.JOB_DEF)
    assert list(queue_to_dict(job.queue)) == list(schemas.QUEUE)
    assert list(deliverable_to_dict(item, str(tmp_path))) == list(schemas.DELIVERABLE)
    assert list(empty_job_request()) == list(schemas.JOB_REQUEST)
    assert list(error_body(NotFoundError("x"))) == list(schemas.ERROR_DTO)
    assert list(empty_query("n")) == [name for name in schemas.QUERY if name != "jobInstanceIds"]  # ours, if given


def test_the_openapi_schemas_are_the_declarations() -> None:
    for name, fields in schemas.OBJECTS.items():
        assert list(SCHEMAS[name]["properties"]) == list(fields), name
