"""Shared fixtures: temp data folders, real servers, and the store under test."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.postgres import (  # noqa: F401
    orm_store_access,
    postgres_cluster,
    postgres_store_access,
)
from tests.support.server import ServerProcess

IN_CI = os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """Skip with a clear reason on a laptop; in CI a missing tool is a failure."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _isolated_store(settings, tmp_path: Path) -> Iterator[None]:
    """In-process tests get their own data folder and a fresh store."""
    from reservations.store import reset_store

    settings.TICKETBOSS_DATA_DIR = tmp_path / "inproc-data"
    reset_store()
    yield
    reset_store()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start real gunicorn servers; every one is stopped at teardown, even on failure."""
    started: list[ServerProcess] = []

    def start(
        *, data_dir: Path | None = None, expect_ready: bool = True, **kwargs
    ) -> ServerProcess:
        server = ServerProcess(data_dir=data_dir or tmp_path / "data", **kwargs)
        started.append(server)
        return server.start(expect_ready=expect_ready)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def api_server(server_factory) -> ServerProcess:
    """A real TicketBoss (gunicorn, 2 workers, JSON store in a temp folder)."""
    return server_factory()
