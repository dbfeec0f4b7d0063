"""Real servers in keys mode on every store: json, db on PostgreSQL, db on SQLite.

Each site is set up as an operator would: partners and keys with manage.py,
an organizer with `createsuperuser`, and a signed-in-but-not-staff user.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.server import ServerProcess, run_manage

DEFAULT = "node-meetup-2025"
PASSWORD = "correct horse battery staple 42"
STORES = [
    pytest.param("json", id="json"),
    pytest.param("db", id="db-postgres", marks=pytest.mark.postgres),
    pytest.param("db-sqlite", id="db-sqlite"),
]
KEY_RE = re.compile(r"^tb_[A-Za-z0-9]{8}_[A-Za-z0-9_-]{43}$")


@dataclass
class Site:
    """One keys-mode server, how to run its commands, and the keys it issued."""

    server: ServerProcess
    store: str
    database_url: str | None
    issued: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.server.url(path)

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        result = run_manage({**self.server.env, **env}, *args)
        assert result.returncode == 0, f"manage.py {' '.join(args)}:\n{result.stderr}"
        return result

    def manage_fails(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = run_manage(self.server.env, *args)
        assert result.returncode != 0, f"manage.py {' '.join(args)} should fail"
        return result

    def new_partner(self, partner_id: str) -> str:
        """Register the partner and issue its first key; the key."""
        self.manage("create_partner", partner_id, "--name", partner_id.title())
        return self.issue_key(partner_id)

    def issue_key(self, partner_id: str) -> str:
        key = self.manage("issue_key", partner_id).stdout.strip()
        assert KEY_RE.match(key), key
        self.issued.append(key)
        return key

    def set_up(
        self,
        partners: tuple[str, ...] = (),
        superusers: tuple[str, ...] = (),
        staff: tuple[str, ...] = (),
        others: tuple[str, ...] = (),
    ) -> dict[str, str]:
        """What an operator sets up with several commands (`create_partner` and
        `issue_key` for each partner, `createsuperuser`, staff users and users who are
        not staff), run in one manage.py process: each process starts Django afresh,
        seconds apiece on a busy machine. The partners' keys, by partner."""
        code = f"""
import io, json
from django.contrib.auth.models import User
from django.core.management import call_command
keys = {{}}
for partner in {list(partners)!r}:
    call_command("create_partner", partner, "--name", partner.title())
    printed = io.StringIO()
    call_command("issue_key", partner, stdout=printed)
    keys[partner] = printed.getvalue().strip()
for name in {list(superusers)!r}:
    call_command("createsuperuser", "--no-input", "--username", name,
                 "--email", name + "@example.com")
for name in {list(staff)!r}:
    User.objects.create_user(name, password={PASSWORD!r}, is_staff=True)
for name in {list(others)!r}:
    User.objects.create_user(name, password={PASSWORD!r})
print(json.dumps(keys))
"""
        printed = self.manage("shell", "-c", code, DJANGO_SUPERUSER_PASSWORD=PASSWORD).stdout
        keys: dict[str, str] = json.loads(printed.strip().splitlines()[-1])
        for key in keys.values():
            assert KEY_RE.match(key), key
        self.issued += keys.values()
        return keys

    def add_user(self, username: str, *, staff: bool) -> None:
        if staff:
            self.manage(
                "createsuperuser",
                "--no-input",
                "--username",
                username,
                "--email",
                f"{username}@example.com",
                DJANGO_SUPERUSER_PASSWORD=PASSWORD,
            )
        else:
            code = (
                "from django.contrib.auth.models import User; "
                f"User.objects.create_user({username!r}, password={PASSWORD!r})"
            )
            self.manage("shell", "-c", code)

    def add_users(self, *usernames: str, staff: bool = True) -> None:
        """Several users with one manage.py run (each run starts Django afresh)."""
        code = (
            "from django.contrib.auth.models import User\n"
            f"for name in {list(usernames)!r}:\n"
            f"    User.objects.create_user(name, password={PASSWORD!r}, is_staff={staff!r})"
        )
        self.manage("shell", "-c", code)

    def sign_in(
        self, username: str, password: str = PASSWORD, **headers: str
    ) -> tuple[requests.Session, requests.Response]:
        """The browser's way: GET the form (CSRF cookie and token), POST it."""
        session = requests.Session()
        form = session.get(self.url("/accounts/login/"), timeout=10)
        assert form.status_code == 200, form.text
        token = csrf_token(form.text)
        answer = session.post(
            self.url("/accounts/login/"),
            data={"username": username, "password": password, "csrfmiddlewaretoken": token},
            headers={"Referer": self.url("/accounts/login/"), **headers},
            allow_redirects=False,
            timeout=10,
        )
        return session, answer

    def organizer(self, username: str = "boss") -> requests.Session:
        session, answer = self.sign_in(username)
        assert answer.status_code == 302, answer.text
        return session

    def summary(self, event_id: str = DEFAULT) -> dict[str, Any]:
        response = requests.get(self.url(f"/events/{event_id}"), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def stored_text(self) -> bytes:
        """Everything the store and Django's database hold, as bytes to search in."""
        chunks = [path.read_bytes() for path in self.server.data_dir.rglob("*") if path.is_file()]
        if self.database_url and self.database_url.startswith("sqlite:///"):
            chunks.append(_sqlite_text(Path(self.database_url.removeprefix("sqlite:///"))))
        elif self.database_url:
            chunks.append(_postgres_text(self.database_url))
        return b"\n".join(chunks)


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert match, "no CSRF token in the form"
    return match.group(1)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _sqlite_text(path: Path) -> bytes:
    with sqlite3.connect(path) as conn:
        tables = [
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        rows = [repr(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"')]
    return "\n".join(rows).encode()


def _postgres_text(url: str) -> bytes:
    from tests.support import postgres

    cluster = postgres._session_cluster
    assert cluster is not None
    with cluster.connect(url.rsplit("/", 1)[1]) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        ]
        rows = [
            row[0]
            for table in tables
            for row in conn.execute(f'SELECT t::text FROM "{table}" t').fetchall()
        ]
    return "\n".join(rows).encode()


def start_site(
    request: pytest.FixtureRequest, folder: Path, store: str, **env: str
) -> Iterator[Site]:
    """A keys-mode server on `store`, stopped (and its database dropped) afterwards."""
    database_url = None
    drop: Callable[[], None] = lambda: None  # noqa: E731
    # Logs as talkative as an operator would make them: access log on, INFO.
    server_env = {
        "TICKETBOSS_AUTH": "keys",
        "TICKETBOSS_ACCESS_LOG": "1",
        "TICKETBOSS_LOG_LEVEL": "INFO",
        **env,
    }
    if store == "db":
        cluster = request.getfixturevalue("postgres_cluster")
        name = cluster.new_database()
        database_url = cluster.url(name)
        drop = lambda: cluster.drop_database(name)  # noqa: E731
    elif store == "db-sqlite":
        database_url = f"sqlite:///{folder / 'ticketboss.sqlite3'}"
    if database_url:
        server_env |= {"TICKETBOSS_STORE": "db", "DATABASE_URL": database_url}
    server = ServerProcess(data_dir=folder / "data", env=server_env)
    if store == "db-sqlite":
        migrated = run_manage(server.env, "migrate", "--no-input", "-v", "0")
        assert migrated.returncode == 0, migrated.stderr
    try:
        yield Site(server=server.start(), store=store, database_url=database_url)
    finally:
        server.stop()
        drop()


@pytest.fixture(scope="module", params=STORES)
def site(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Site]:
    """One keys-mode site per store for a whole module: partners acme and globex, the
    organizer `boss`, and `viewer` (signed in, not staff)."""
    folder = tmp_path_factory.mktemp(f"keys-{request.param}")
    for item in start_site(request, folder, request.param):
        item.keys = item.set_up(
            partners=("acme", "globex"), superusers=("boss",), others=("viewer",)
        )
        yield item


@pytest.fixture
def fresh_site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., Site]]:
    """Start a keys-mode site for one test (for tests that lock addresses or accounts)."""
    started: list[Iterator[Site]] = []

    def start(store: str, **env: str) -> Site:
        iterator = start_site(request, tmp_path / f"site{len(started)}", store, **env)
        started.append(iterator)
        return next(iterator)

    yield start
    for iterator in started:
        for _ in iterator:  # runs the teardown
            pass
