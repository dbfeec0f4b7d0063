"""export_store while the service takes writes: each dump restores to a sound store."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.support.server import run_manage
from tests.support.writers import Writers

pytestmark = pytest.mark.system

EVENT = "backup-fest"


def test_dumps_taken_under_writes_restore_to_sound_stores(server_factory, tmp_path: Path) -> None:
    server = server_factory(env={"TICKETBOSS_COMPACT_MIN_RECORDS": "200"})
    seeded = server.manage("seed_event", EVENT, "--name", "Backup Fest", "--seats", "1000000")
    assert seeded.returncode == 0, seeded.stderr
    versions = []
    with Writers(server, event_id=EVENT, clients=4) as writers:
        for number in range(3):
            before = sum(writers.acknowledged)
            dump = tmp_path / f"dump-{number}.json"
            exported = server.manage("export_store", str(dump))
            assert exported.returncode == 0, exported.stderr
            assert sum(writers.acknowledged) > before, "the dump was not taken under writes"
            restored = {**server.env, "TICKETBOSS_DATA_DIR": str(tmp_path / f"restored-{number}")}
            imported = run_manage(restored, "import_store", str(dump))
            assert imported.returncode == 0, imported.stderr  # seat counts agree with rows
            checked = run_manage(restored, "check_store")
            assert checked.returncode == 0, checked.stdout + checked.stderr
            event = next(e for e in orjson.loads(dump.read_bytes())["events"]
                         if e["eventId"] == EVENT)  # fmt: skip
            versions.append(event["version"])
    assert writers.errors == []
    assert versions == sorted(versions) and versions[0] < versions[-1]
