"""The web console in a real headless browser (chromium) against two real nodes on loopback: log in,
see the cluster, enqueue, watch the job finish, read its log, kill a running job, filter and page the
job list, and only the actions a user's roles allow; a wrong password is refused."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import screenshot
from tests.node.conftest import USERS, RunningNode, launch_node, loopback_addresses, shell_job, stop_node

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JOBS = [
    shell_job(
        "DemoEcho",
        'echo report > "$JQM_JI_DELIVERY_DIR/report.txt"; echo "a warning" >&2; echo "DemoEcho says:"',
        parameters={"p1": "default-value"}, description="prints its parameters, writes report.txt",
    ),
    shell_job("Sleep", "sleep", parameters={"p1": "60"}, description="sleeps p1 seconds"),
    shell_job("Quick", "true"),
]  # fmt: skip
ENDED_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The job Gated prints a line, waits until this file exists, then prints another."""
    return tmp_path_factory.mktemp("gate") / "open"


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory, gate: Path) -> Iterator[tuple[RunningNode, RunningNode]]:
    """Two members of one cluster (each answers for both), on a random 127.x.y.0/24."""
    ips = loopback_addresses(2)
    root = tmp_path_factory.mktemp("console")
    env = {"JQM_PEERS": ",".join(ips), "JQM_ID_LEDGER": f"file:{root / 'ledger.json'}", "JQM_ID_LIMIT": "500"}
    gated = shell_job("Gated", f"echo before; while [ ! -e {gate} ]; do sleep 0.05; done; echo after")
    started: list[RunningNode] = []
    try:
        for index, ip in enumerate(ips):
            config = {"name": f"node-{index}", "jobDefinitions": [*JOBS, gated]}
            started.append(launch_node(root / f"node{index}", ip=ip, port=1789, env=env, config=config))
        yield started[0], started[1]
    finally:
        for node in started:
            stop_node(node)


def console(node: RunningNode) -> str:
    return f"{node.url}/console/"


def log_in(page: Page, node: RunningNode, user: str = "admin") -> None:
    page.goto(console(node))
    page.get_by_label("User").fill(user)
    page.get_by_label("Password").fill(USERS[user][0])
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#who .user")).to_have_text(user)


def test_a_wrong_password_is_refused(browser_page: Page, nodes: tuple[RunningNode, RunningNode]) -> None:
    page = browser_page
    page.goto(console(nodes[0]))
    screenshot(page, "login")
    page.get_by_label("User").fill("admin")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert").filter(has_text="Wrong user name or password.")).to_be_visible()
    expect(page.locator("#nav a")).to_have_count(0)
    assert page.evaluate("sessionStorage.length") == 0


def test_log_in_enqueue_watch_the_job_end_and_read_its_log(
    browser_page: Page, nodes: tuple[RunningNode, RunningNode]
) -> None:
    page = browser_page
    first, second = nodes
    log_in(page, first)
    expect(page).to_have_url(re.compile(r"#/nodes$"))
    rows = page.locator("#nodes-table tbody tr")
    expect(rows).to_have_count(2)  # both members, through the first one
    expect(page.locator(f'#nodes-table tr[data-ip="{second.ip}"]')).to_contain_text("node-1")
    expect(page.locator(f'#nodes-table tr[data-ip="{second.ip}"]')).to_contain_text("taking jobs")
    assert page.evaluate("document.cookie") == ""

    page.get_by_role("link", name="New job").click()
    page.get_by_label("Application").select_option("DemoEcho")
    expect(page.get_by_label("parameter value")).to_have_value("default-value")
    page.get_by_label("parameter value").fill("hello from the browser")
    screenshot(page, "enqueue")
    page.get_by_role("button", name="Enqueue").click()

    expect(page).to_have_url(re.compile(r"#/jobs/\d+$"))
    job_id = page.url.rsplit("/", 1)[1]
    expect(page.locator(".job-header")).to_contain_text("ENDED", timeout=ENDED_TIMEOUT_MS)
    expect(page.locator("#log-stdout")).to_have_text("DemoEcho says: hello from the browser\n")
    page.get_by_role("tab", name="stderr").click()
    expect(page.locator("#log-stderr")).to_have_text("a warning\n")
    expect(page.locator(".deliverables")).to_contain_text("report.txt")
    with page.expect_download() as download:
        page.locator(".deliverables").get_by_role("button", name="Download").click()
    assert Path(download.value.path()).read_text() == "report\n"
    page.get_by_role("tab", name="stdout").click()
    screenshot(page, "job")

    status, _, body = second.request("GET", f"/ws/client/ji/{job_id}", headers={"Accept": "application/json"})
    assert status == 200 and json.loads(body)["state"] == "ENDED"  # a real job, seen from the other member

    page.get_by_role("link", name="Jobs", exact=True).click()
    expect(page.locator(f'#jobs-table tr[data-id="{job_id}"]')).to_contain_text("DemoEcho")
    page.get_by_role("link", name="Queues").click()
    expect(page.locator("#queues-table")).to_contain_text("DEFAULT")
    screenshot(page, "queues")


def test_the_log_of_a_running_job_is_followed(
    browser_page: Page, nodes: tuple[RunningNode, RunningNode], gate: Path
) -> None:
    page = browser_page
    job_id = nodes[1].enqueue("Gated")
    log_in(page, nodes[0])
    page.goto(f"{console(nodes[0])}#/jobs/{job_id}")
    expect(page.locator(".job-header")).to_contain_text("RUNNING")
    expect(page.locator("#log-stdout")).to_have_text("before\n")
    gate.touch()
    expect(page.locator(".job-header")).to_contain_text("ENDED", timeout=ENDED_TIMEOUT_MS)
    expect(page.locator("#log-stdout")).to_have_text("before\nafter\n")  # nothing twice, nothing lost
    expect(page.get_by_role("button", name="Restart")).to_be_visible()


def test_kill_a_running_job(browser_page: Page, nodes: tuple[RunningNode, RunningNode]) -> None:
    page = browser_page
    node = nodes[1]
    job_id = node.enqueue("Sleep")
    node.wait_state(job_id, "RUNNING")
    log_in(page, nodes[0])  # the job runs on the other node: the calls are forwarded
    page.goto(f"{console(nodes[0])}#/jobs/{job_id}")
    expect(page.locator(".job-header")).to_contain_text("RUNNING")
    expect(page.get_by_role("button", name="Restart")).to_have_count(0)
    page.get_by_role("button", name="Kill").click()
    page.get_by_role("button", name="Yes, kill it").click()
    expect(page.locator(".job-header")).to_contain_text("CRASHED", timeout=ENDED_TIMEOUT_MS)
    assert node.state(job_id) == "CRASHED"
    page.get_by_role("button", name="Restart").click()  # a new job with the same request
    expect(page).not_to_have_url(re.compile(rf"#/jobs/{job_id}$"))
    new_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator(".job-header")).to_contain_text("Sleep")
    node.request("POST", f"/ws/client/ji/killed/{new_id}")


def test_jobs_are_filtered_and_paged(browser_page: Page, nodes: tuple[RunningNode, RunningNode]) -> None:
    page = browser_page
    ids = [node.enqueue("Quick") for node in nodes for _ in range(15)]  # 15 on each node
    nodes[0].wait_state(ids[14], "ENDED")
    nodes[1].wait_state(ids[-1], "ENDED")
    log_in(page, nodes[0])
    page.get_by_role("link", name="Jobs", exact=True).click()
    page.get_by_label("Application").fill("Quick")
    page.get_by_label("State").select_option("ENDED")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".pager-text")).to_contain_text("1 to 25 of 30 jobs")  # only this test runs Quick
    expect(page.locator("#jobs-table tbody tr")).to_have_count(25)
    shown = [int(x) for x in page.locator("#jobs-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")]
    assert shown == sorted(shown, reverse=True)  # newest first, across both nodes
    screenshot(page, "jobs")
    page.get_by_role("link", name="Older →").click()
    expect(page.locator(".pager-text")).to_contain_text("26 to 30 of 30 jobs")
    expect(page.locator("#jobs-table tbody tr")).to_have_count(5)
    page.get_by_label("Job ID").fill(str(ids[3]))
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#jobs-table tbody tr")).to_have_count(1)
    expect(page.locator(f'#jobs-table tr[data-id="{ids[3]}"]')).to_be_visible()


def test_the_nodes_page_shows_id_usage_and_drains(browser_page: Page, nodes: tuple[RunningNode, RunningNode]) -> None:
    page = browser_page
    first, second = nodes
    used = json.loads(second.manage("GET", "/node/status")[2])["idsUsed"]
    assert used > 0  # the tests before ran jobs there
    second.manage("POST", "/node/drain", data=json.dumps({"reason": "maintenance"}).encode())
    try:
        log_in(page, first)
        row = page.locator(f'#nodes-table tr[data-ip="{second.ip}"]')
        expect(row).to_contain_text("draining (maintenance)")
        expect(row).to_contain_text(f"{used} / 500")  # this node's IDs, of its limit (JQM_ID_LIMIT)
        expect(page.locator(".cards")).to_contain_text("1taking jobs")
        screenshot(page, "nodes")
    finally:
        second.manage("POST", "/node/undrain")


def test_pages_and_actions_follow_the_users_roles(browser_page: Page, nodes: tuple[RunningNode, RunningNode]) -> None:
    page = browser_page
    job_id = nodes[0].enqueue("Sleep")
    nodes[0].wait_state(job_id, "RUNNING")
    try:
        log_in(page, nodes[0], "reader")  # client read only: jobs and logs, no action, no node
        expect(page.locator("#nav a")).to_have_text(["Queues", "Jobs"])
        page.goto(f"{console(nodes[0])}#/jobs/{job_id}")
        expect(page.locator(".job-header")).to_contain_text("RUNNING")
        expect(page.locator("#job-actions button")).to_have_count(0)
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        assert page.evaluate("sessionStorage.length") == 0

        log_in(page, nodes[0], "viewer")  # config viewer: nodes and queues, no job
        expect(page.locator("#nav a")).to_have_text(["Nodes", "Queues"])
        page.goto(f"{console(nodes[0])}#/jobs/{job_id}")
        expect(page).to_have_url(re.compile(r"#/nodes$"))  # a page the roles do not allow is not shown
    finally:
        nodes[0].request("POST", f"/ws/client/ji/killed/{job_id}")
