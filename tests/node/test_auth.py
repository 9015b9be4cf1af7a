"""Password and token hashes, upstream's permissions, users files and their reload, the verifier."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import time
from pathlib import Path

import pytest
import yaml

from jqm_node.auth.errors import AuthenticationBusyError, AuthenticationRequiredError
from jqm_node.auth.job_credentials import JobCredentials
from jqm_node.auth.passwords import HashFormatError, PasswordHash, TokenHash, hash_password, hash_token
from jqm_node.auth.permissions import BUILTIN_ROLES, JOB_PERMISSIONS, Permission
from jqm_node.auth.principal import Principal
from jqm_node.auth.users import UsersError, UsersSource, load_users
from jqm_node.auth.verifier import CredentialVerifier

FAST = 1000

# ---------------------------------------------------------------------------------------- hashes


def test_password_hash_format_is_the_documented_one() -> None:
    # PBKDF2-HMAC-SHA256("password", "salt", 1 iteration, 32 bytes): RFC 6070-style vector for SHA-256
    vector = "pbkdf2-sha256$1$c2FsdA==$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs="
    assert hash_password("password", iterations=1, salt=b"salt") == vector
    parsed = PasswordHash.parse(vector)
    assert parsed.matches("password") and not parsed.matches("Password")


def test_hashes_are_salted_and_verify() -> None:
    one, two = hash_password("s3cret", iterations=FAST), hash_password("s3cret", iterations=FAST)
    assert one != two
    assert PasswordHash.parse(one).matches("s3cret") and PasswordHash.parse(two).matches("s3cret")
    assert not PasswordHash.parse(one).matches("s3cret ")
    assert PasswordHash.parse(hash_password("pässwörd", iterations=FAST)).matches("pässwörd")
    assert TokenHash.parse(hash_token("tok")).matches("tok") and not TokenHash.parse(hash_token("tok")).matches("to")


@pytest.mark.parametrize(
    "text",
    [
        "sha256$abc",
        "pbkdf2-sha256$x$c2FsdA==$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2-sha256$0$c2FsdA==$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2-sha256$99999999$c2FsdA==$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2-sha256$1$not base64!$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=",
        "pbkdf2-sha256$1$c2FsdA==$c2hvcnQ=",
        "pbkdf2-sha256$1$c2FsdA==",
    ],
)
def test_malformed_password_hashes_are_refused(text: str) -> None:
    with pytest.raises(HashFormatError):
        PasswordHash.parse(text)


@pytest.mark.parametrize("text", ["sha256$xyz", "sha256$" + "a" * 63, "md5$" + "a" * 64])
def test_malformed_token_hashes_are_refused(text: str) -> None:
    with pytest.raises(HashFormatError):
        TokenHash.parse(text)


# ---------------------------------------------------------------------------------------- permissions


def implies(held: str, wanted: str) -> bool:
    return Permission.parse(held).implies(Permission.parse(wanted))


@pytest.mark.parametrize(
    ("held", "wanted", "expected"),
    [
        ("*:*", "job_instance:read", True),
        ("*:*", "doesnotexist", True),
        ("*", "logs:read", True),
        ("job_instance:*", "job_instance:create", True),
        ("job_instance:*", "job_instance", True),
        ("job_instance", "job_instance:delete", True),
        ("job_instance:read", "job_instance", False),  # upstream's perms[job_instance] (user/*/ji)
        ("job_instance:read", "job_instance:create", False),
        ("job_instance:read,create", "job_instance:create", True),
        ("JOB_INSTANCE:Read", "job_instance:read", True),
        ("queue:read", "queue_position:create", False),
        ("job_instance:*", "*:*", False),
    ],
)
def test_wildcard_permissions_as_shiro(held: str, wanted: str, expected: bool) -> None:
    assert implies(held, wanted) is expected


def test_builtin_roles_are_upstreams() -> None:
    assert set(BUILTIN_ROLES) == {
        "administrator", "config admin", "config viewer", "client", "client power user", "client read only",
    }  # fmt: skip
    client = Principal("c", BUILTIN_ROLES["client"])
    power = Principal("p", BUILTIN_ROLES["client power user"])
    reader = Principal("r", BUILTIN_ROLES["client read only"])
    logs = Permission.parse("logs:read")
    assert not client.may(logs) and power.may(logs) and reader.may(logs)
    create = Permission.parse("job_instance:create")
    assert client.may(create) and not reader.may(create)
    assert not Principal("j", JOB_PERMISSIONS).may(Permission.parse("job_instance:delete"))


@pytest.mark.parametrize("text", ["", " ", "a::b", "a:,b"])
def test_empty_permission_parts_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Permission.parse(text)


# ---------------------------------------------------------------------------------------- users files


def users_file(path: Path, users: list[dict[str, object]], roles: list[dict[str, object]] | None = None) -> Path:
    document: dict[str, object] = {"users": users}
    if roles is not None:
        document["roles"] = roles
    path.write_text(yaml.safe_dump(document))
    return path


def user(name: str, password: str, *roles: str) -> dict[str, object]:
    return {"name": name, "passwordHash": hash_password(password, iterations=FAST), "roles": list(roles)}


def test_files_are_merged_later_ones_win_and_custom_roles_apply(tmp_path: Path) -> None:
    first = users_file(tmp_path / "a.yaml", [user("admin", "one", "administrator"), user("ann", "x", "client")])
    second = users_file(
        tmp_path / "b.yaml",
        [user("admin", "two", "auditor"), {"name": "bot", "tokenHash": hash_token("t0ken"), "roles": ["client"]}],
        roles=[{"name": "auditor", "permissions": ["logs:read"]}],
    )
    table = load_users([first, second])
    assert set(table.users) == {"admin", "ann", "bot"}
    admin = table.users["admin"]
    assert admin.password is not None and admin.password.matches("two")
    assert admin.principal.may(Permission.parse("logs:read"))
    assert not admin.principal.may(Permission.parse("job_instance:read"))
    assert [u.name for _, u in table.token_holders] == ["bot"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"users": [{"name": "a", "roles": ["client"]}]}, "needs a passwordHash, a tokenHash or both"),
        ({"users": [{"name": "a", "passwordHash": "plain", "roles": []}]}, "users[0].passwordHash"),
        ({"users": [{"name": "a", "tokenHash": "sha256$zz", "roles": []}]}, "users[0].tokenHash"),
        ({"users": [{"name": "a:b", "tokenHash": hash_token("t")}]}, "printable ASCII"),
        ({"users": [{"name": "jqm-job-1", "tokenHash": hash_token("t")}]}, "reserved for job credentials"),
        ({"users": [{"name": "a", "tokenHash": hash_token("t"), "roles": ["boss"]}]}, "no role named 'boss'"),
        ({"users": [{"name": "a", "tokenHash": hash_token("t"), "password": "x"}]}, "unknown key"),
        ({"roles": [{"name": "client", "permissions": []}]}, "built-in role"),
        ({"roles": [{"name": "r", "permissions": ["a::b"]}]}, "roles[0].permissions"),
        ({"users": "admin"}, "expected a list"),
        (
            {"users": [{"name": "a", "tokenHash": hash_token("t")}, {"name": "a", "tokenHash": hash_token("u")}]},
            "defined twice",
        ),
    ],
)
def test_bad_users_files_name_the_problem(tmp_path: Path, document: object, message: str) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(UsersError, match=re.escape(message)) as error:
        load_users([path])
    assert str(path) in str(error.value)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(UsersError, match="cannot read"):
        load_users([tmp_path / "missing.yaml"])
    (tmp_path / "bad.yaml").write_text("users: [")
    with pytest.raises(UsersError, match="invalid YAML"):
        load_users([tmp_path / "bad.yaml"])


def test_reload_on_change_and_a_bad_change_keeps_the_old_users(tmp_path: Path) -> None:
    path = users_file(tmp_path / "users.yaml", [user("ann", "one", "client")])
    source = UsersSource([path], check_interval=0)
    assert set(source.table.users) == {"ann"} and source.generation == 0
    users_file(path, [user("bob", "two", "client")])
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))  # a new mtime even on coarse clocks
    assert set(source.table.users) == {"bob"} and source.generation == 1
    path.write_text("users: [")
    os.utime(path, ns=(time.time_ns() + 2 * 10**9, time.time_ns() + 2 * 10**9))
    assert set(source.table.users) == {"bob"} and source.generation == 1


def test_reload_on_a_kubernetes_style_symlink_swap(tmp_path: Path) -> None:
    """A mounted Secret: users.yaml -> ..data/users.yaml, ..data -> ..<timestamp>; an update swaps ..data."""
    mount = tmp_path / "mount"
    mount.mkdir()
    first, second = mount / "..2024_01_01", mount / "..2024_01_02"
    for directory, name in ((first, "ann"), (second, "bob")):
        directory.mkdir()
        users_file(directory / "users.yaml", [user(name, "pw", "client")])
    # same size and the same mtime: only the resolved path tells them apart
    stamp = time.time_ns()
    for directory in (first, second):
        os.utime(directory / "users.yaml", ns=(stamp, stamp))
    (mount / "..data").symlink_to(first.name)
    (mount / "users.yaml").symlink_to("..data/users.yaml")
    source = UsersSource([mount / "users.yaml"], check_interval=0)
    assert set(source.table.users) == {"ann"}
    (mount / "..data_tmp").symlink_to(second.name)
    os.replace(mount / "..data_tmp", mount / "..data")  # the atomic swap the kubelet does
    assert set(source.table.users) == {"bob"}


# ---------------------------------------------------------------------------------------- verifier


def basic(login: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


@pytest.fixture
def verifier(tmp_path: Path) -> CredentialVerifier:
    path = users_file(
        tmp_path / "users.yaml",
        [user("ann", "pw-ann", "client"), {"name": "bot", "tokenHash": hash_token("bot-token"), "roles": ["client"]}],
    )
    return CredentialVerifier(UsersSource([path], check_interval=0), JobCredentials())


async def test_basic_bearer_and_refusals(verifier: CredentialVerifier) -> None:
    assert (await verifier.authenticate(basic("ann", "pw-ann"))).name == "ann"
    assert (await verifier.authenticate("bearer bot-token")).name == "bot"
    for header in (
        None, "", basic("ann", "wrong"), basic("nobody", "pw-ann"), "Basic !!!", "Basic " + "YWJj", "Digest x",
        "Bearer ", "Bearer wrong", basic("jqm-job-1", "x"),
    ):  # fmt: skip
        with pytest.raises(AuthenticationRequiredError):
            await verifier.authenticate(header)


async def test_verified_passwords_are_cached_and_failures_remembered(
    verifier: CredentialVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    original = PasswordHash.matches

    def counting(self: PasswordHash, password: str) -> bool:
        checks.append(password)
        return original(self, password)

    monkeypatch.setattr(PasswordHash, "matches", counting)
    for _ in range(5):
        await verifier.authenticate(basic("ann", "pw-ann"))
    for _ in range(5):
        with pytest.raises(AuthenticationRequiredError):
            await verifier.authenticate(basic("ann", "wrong"))
    assert checks == ["pw-ann", "wrong"], "one PBKDF2 per distinct credential"
    encoded = basic("ann", "pw-ann").split()[1].encode()
    assert all(b"pw-ann" not in key and encoded not in key and len(key) == 32 for key in verifier._cache)


async def test_a_users_reload_invalidates_both_caches(verifier: CredentialVerifier) -> None:
    await verifier.authenticate(basic("ann", "pw-ann"))
    with pytest.raises(AuthenticationRequiredError):
        await verifier.authenticate(basic("ann", "new-password"))  # not yet: remembered as failed
    path = verifier.users.paths[0]
    users_file(path, [user("ann", "new-password", "client")])
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    with pytest.raises(AuthenticationRequiredError):
        await verifier.authenticate(basic("ann", "pw-ann"))
    assert (await verifier.authenticate(basic("ann", "new-password"))).name == "ann"


async def test_password_checks_are_bounded(verifier: CredentialVerifier, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many distinct wrong passwords at once: at most max_pending wait for the one hashing thread,
    the rest are refused at once with 429, and a cached credential still answers at once."""
    await verifier.authenticate(basic("ann", "pw-ann"))
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    def slow(self: PasswordHash, password: str) -> bool:
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=30)
        return False

    monkeypatch.setattr(PasswordHash, "matches", slow)
    attempts = [asyncio.ensure_future(verifier.authenticate(basic("ann", f"guess-{i}"))) for i in range(20)]
    await asyncio.sleep(0)
    busy = [a for a in attempts if a.done() and isinstance(a.exception(), AuthenticationBusyError)]
    assert len(busy) == 20 - 8
    assert (await verifier.authenticate(basic("ann", "pw-ann"))).name == "ann"
    release.set()
    results = await asyncio.gather(*attempts, return_exceptions=True)
    assert sum(isinstance(r, AuthenticationRequiredError) for r in results) == 8
    verifier.close()


async def test_a_burst_with_one_credential_costs_one_check(
    verifier: CredentialVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[str] = []
    original = PasswordHash.matches

    def counting(self: PasswordHash, password: str) -> bool:
        checks.append(password)
        return original(self, password)

    monkeypatch.setattr(PasswordHash, "matches", counting)
    burst = await asyncio.gather(*(verifier.authenticate(basic("ann", "pw-ann")) for _ in range(32)))
    assert {p.name for p in burst} == {"ann"} and checks == ["pw-ann"]
    wrong = await asyncio.gather(
        *(verifier.authenticate(basic("ann", "bad")) for _ in range(32)), return_exceptions=True
    )
    assert all(isinstance(w, AuthenticationRequiredError) for w in wrong) and checks == ["pw-ann", "bad"]


async def test_job_credentials_live_while_the_job_runs(verifier: CredentialVerifier) -> None:
    login, password = verifier.jobs.issue(42)
    assert login == "jqm-job-42"
    principal = await verifier.authenticate(basic(login, password))
    assert principal.name == login and principal.permissions == JOB_PERMISSIONS
    with pytest.raises(AuthenticationRequiredError):
        await verifier.authenticate(basic(login, password + "x"))
    verifier.jobs.revoke(42)
    with pytest.raises(AuthenticationRequiredError):
        await verifier.authenticate(basic(login, password))
