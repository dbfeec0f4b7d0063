"""Upgrading a `db` store made before holds and organizer figures (migration 0003):
reservations keep their seats, and the new counters start in step with them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.postgres.conftest import manage
from tests.support.postgres import PostgresCluster

pytestmark = pytest.mark.postgres


def test_migration_counts_reservations_made_before_it(postgres_cluster: PostgresCluster) -> None:
    name = f"tb_upgrade_{uuid.uuid4().hex[:8]}"
    with postgres_cluster.connect() as conn:
        conn.execute(f"CREATE DATABASE {name}")
    env = {"TICKETBOSS_STORE": "db", "DATABASE_URL": postgres_cluster.url(name)}
    try:
        manage("migrate", "reservations", "0002", "--no-input", "-v", "0", env=env)
        made = datetime(2026, 11, 1, 12, 0, 30, tzinfo=UTC)
        rows = [
            ("acme", 3, "confirmed", None),
            ("acme", 2, "cancelled", made + timedelta(minutes=2)),
            ("globex", 4, "confirmed", None),
        ]
        with postgres_cluster.connect(name) as conn:
            conn.execute(
                "INSERT INTO ticketboss_event (event_id, name, total_seats, available_seats, "
                "reservation_count, version) VALUES ('old', 'Old', 10, 3, 2, 4)"
            )
            for partner, seats, status, cancelled in rows:
                conn.execute(
                    "INSERT INTO ticketboss_reservation (reservation_id, event_id, partner_id, "
                    "seats, status, created_at, cancelled_at) "
                    "VALUES (%s, 'old', %s, %s, %s, %s, %s)",
                    [uuid.uuid4(), partner, seats, status, made, cancelled],
                )
        manage("migrate", "--no-input", "-v", "0", env=env)
        assert "store is sound" in manage("check_store", env=env).stdout
        with postgres_cluster.connect(name) as conn:
            figures = conn.execute(
                "SELECT partner_id, confirmed_seats, confirmed_count, held_seats, allocation "
                "FROM ticketboss_partner_figures ORDER BY partner_id"
            ).fetchall()
            minutes = conn.execute(
                "SELECT seats FROM ticketboss_minute_sales ORDER BY minute_us"
            ).fetchall()
            event = conn.execute(
                "SELECT held_seats, hold_count, hold_seconds, next_expiry FROM ticketboss_event"
            ).fetchone()
        assert figures == [("acme", 3, 1, 0, None), ("globex", 4, 1, 0, None)]
        assert minutes == [(9,), (-2,)]  # made in one minute, one cancelled two minutes later
        assert event == (0, 0, 600, None)
    finally:
        postgres_cluster.drop_database(name)
