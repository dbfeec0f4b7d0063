"""One real server per API test module (gunicorn, 2 workers, temp JSON store)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[ServerProcess]:
    process = ServerProcess(data_dir=tmp_path_factory.mktemp("api") / "data").start()
    yield process
    process.stop()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session
