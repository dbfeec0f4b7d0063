"""Workers cap glibc's malloc arenas (the soak's memory gate depends on it)."""

from __future__ import annotations

import platform
import runpy
from pathlib import Path

from ticketboss_site import malloc_tuning

ROOT = Path(__file__).resolve().parents[2]


def test_settings_apply_on_glibc_and_are_skipped_elsewhere(monkeypatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert malloc_tuning.tune_malloc() is (platform.libc_ver()[0] == "glibc")


def test_gunicorn_applies_them_in_every_worker(monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(malloc_tuning, "tune_malloc", lambda: calls.append("tuned") or True)
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config["post_fork"](server=None, worker=None)
    assert calls == ["tuned"]
