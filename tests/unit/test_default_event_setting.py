"""TICKETBOSS_DEFAULT_EVENT in-process: which event a fresh store starts with, and a bad value."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from reservations import domain, services
from reservations.store import build_store


def _events(store) -> list[tuple[str, str, int]]:  # type: ignore[no-untyped-def]
    return [(s.event_id, s.name, s.total_seats) for s in store.events()]


def test_an_empty_store_gets_the_configured_event_and_a_seeded_one_is_left_alone(
    settings, tmp_path
) -> None:
    settings.TICKETBOSS_DEFAULT_EVENT = "spring-fest"
    store = build_store("json", tmp_path / "data")
    try:
        services.bootstrap_default_event(store)
        assert _events(store) == [("spring-fest", "Node.js Meet-up", 500)]

        settings.TICKETBOSS_DEFAULT_EVENT = "autumn-fest"  # the next start, another setting
        services.bootstrap_default_event(store)
        assert _events(store) == [("spring-fest", "Node.js Meet-up", 500)]
        with pytest.raises(domain.EventNotFound, match="seed_event autumn-fest --name"):
            services.default_event_summary(store=store)
    finally:
        store.close()


@pytest.mark.parametrize("value", ["Bad Event", "-dash-first", "a/b", "x" * 65])
def test_a_setting_that_is_no_event_id_is_refused_by_name(settings, value) -> None:
    settings.TICKETBOSS_DEFAULT_EVENT = value
    with pytest.raises(ImproperlyConfigured, match="TICKETBOSS_DEFAULT_EVENT"):
        services.default_event_id()
