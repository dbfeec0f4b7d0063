"""The partner directory of the `db` store: tables ticketboss_partner and ticketboss_api_key.

Every node checks keys against an in-memory copy of the keys table, refreshed
when older than REFRESH_S (one small query per worker per half second under
load, none while idle), so a keyed request costs no query and a key revoked
on any node is refused by every node within REFRESH_S plus one query.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, connections, transaction

from reservations import domain, keys, models
from reservations.domain import StoreUnavailable, utc_now_iso
from reservations.partners import (
    REFRESH_S,
    ApiKeyRecord,
    IssuedKey,
    KeyNotFound,
    Partner,
    PartnerExists,
    PartnerNotFound,
    directory_problems,
)
from reservations.store.orm_outage import gate_for
from reservations.store.orm_rows import format_time, parse_time

log = logging.getLogger(__name__)


class OrmPartnerDirectory:
    def __init__(self, *, using: str = "default") -> None:
        self.using = using
        self._index: dict[str, ApiKeyRecord] = {}
        self._loaded_at = float("-inf")
        self._refresh_mutex = threading.Lock()

    # ------------------------------------------------------------------ reads

    def key(self, prefix: str) -> ApiKeyRecord | None:
        if time.monotonic() - self._loaded_at > REFRESH_S:
            with self._refresh_mutex:
                if time.monotonic() - self._loaded_at > REFRESH_S:
                    started = time.monotonic()
                    with self._db():
                        rows = list(self._keys().all())
                    self._index = {row.prefix: _record(row) for row in rows}
                    self._loaded_at = started
        return self._index.get(prefix)

    def partners(self) -> list[Partner]:
        with self._db():
            rows = list(self._partners().order_by("partner_id"))
            key_rows = list(self._keys().order_by("created_at", "prefix"))
        owned: dict[str, list[ApiKeyRecord]] = {}
        for row in key_rows:
            owned.setdefault(row.partner_id, []).append(_record(row))
        return [
            Partner(
                partner_id=row.partner_id,
                name=row.name,
                created_at=format_time(row.created_at),
                keys=tuple(owned.get(row.partner_id, ())),
            )
            for row in rows
        ]

    def verify(self) -> list[str]:
        return [f"partner directory: {problem}" for problem in directory_problems(self.partners())]

    # ------------------------------------------------------------------ writes

    def create_partner(self, *, partner_id: str, name: str) -> Partner:
        partner_id = domain.validate_partner_id(partner_id)
        created_at = utc_now_iso()
        try:
            with self._db(), transaction.atomic(using=self.using):
                models.Partner(
                    partner_id=partner_id, name=name, created_at=parse_time(created_at)
                ).save(using=self.using, force_insert=True)
        except IntegrityError as exc:
            raise PartnerExists() from exc
        return Partner(partner_id=partner_id, name=name, created_at=created_at)

    def issue_key(self, *, partner_id: str) -> IssuedKey:
        with self._db(), transaction.atomic(using=self.using):
            if not self._partners().filter(pk=partner_id).exists():
                raise PartnerNotFound()
            prefix = keys.new_prefix()
            while self._keys().filter(pk=prefix).exists():
                prefix = keys.new_prefix()
            key = keys.new_key(prefix)
            record = ApiKeyRecord(
                prefix=prefix,
                partner_id=partner_id,
                key_hash=keys.hash_key(key),
                created_at=utc_now_iso(),
            )
            _row(record).save(using=self.using, force_insert=True)
        return IssuedKey(key=key, record=record)

    def revoke_key(self, *, prefix: str) -> ApiKeyRecord:
        with self._db(), transaction.atomic(using=self.using):
            row = self._keys().select_for_update().filter(pk=prefix).first()
            if row is None:
                raise KeyNotFound()
            if row.revoked_at is None:
                row.revoked_at = parse_time(utc_now_iso())
                row.save(using=self.using, update_fields=["revoked_at"])
        self._loaded_at = float("-inf")  # this process sees it at once
        return _record(row)

    def load(self, partners: Iterable[Partner]) -> None:
        incoming = list(partners)
        with self._db(), transaction.atomic(using=self.using):
            ids = [item.partner_id for item in incoming]
            clashes = sorted(self._partners().filter(pk__in=ids).values_list("pk", flat=True))
            if clashes:
                raise PartnerExists(f"These partners exist already: {', '.join(clashes)}.")
            for partner in incoming:
                models.Partner(
                    partner_id=partner.partner_id,
                    name=partner.name,
                    created_at=parse_time(partner.created_at),
                ).save(using=self.using, force_insert=True)
                for record in partner.keys:
                    _row(record).save(using=self.using, force_insert=True)

    def close(self) -> None:
        with suppress(Exception):
            connections[self.using].close()

    # ------------------------------------------------------------------ internals

    def _partners(self) -> Any:
        return models.Partner.objects.using(self.using)

    def _keys(self) -> Any:
        return models.ApiKey.objects.using(self.using)

    @contextmanager
    def _db(self) -> Iterator[None]:
        """A lost database is a 503 that changed nothing; a pooled connection goes back."""
        connection = connections[self.using]
        gate = gate_for(self.using)
        gate.enter()  # the store's gate: while the database is lost, a 503 at once
        try:
            yield
        except (OperationalError, InterfaceError) as exc:
            with suppress(Exception):
                connection.close()
            gate.lost("the partner directory", exc)
            raise StoreUnavailable() from exc
        finally:
            if connection.settings_dict["OPTIONS"].get("pool") and not connection.in_atomic_block:
                with suppress(Exception):
                    connection.close()


def _record(row: models.ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(
        prefix=row.prefix,
        partner_id=row.partner_id,
        key_hash=row.key_hash,
        created_at=format_time(row.created_at),
        revoked_at=format_time(row.revoked_at) if row.revoked_at else None,
    )


def _row(record: ApiKeyRecord) -> models.ApiKey:
    return models.ApiKey(
        prefix=record.prefix,
        partner_id=record.partner_id,
        key_hash=record.key_hash,
        created_at=parse_time(record.created_at),
        revoked_at=parse_time(record.revoked_at) if record.revoked_at else None,
    )
