"""The partner directory of the JSON store: one file, `<data dir>/partners.json`.

Written only by atomic replace under an flock on `partners.lock` (commands are
the only writers), so a reader never sees half a file and needs no lock. Every
worker keeps the file's contents in memory, indexed by key prefix, and looks
at the file's stat before answering: a rename by `revoke_key` changes the
inode, so the next request on any worker reads the new file. Revocation
reaches every worker at once, for the price of one stat per keyed request.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from reservations import domain, keys
from reservations.domain import StoreCorrupt, StoreUnavailable, utc_now_iso
from reservations.partners import (
    ApiKeyRecord,
    IssuedKey,
    KeyNotFound,
    Partner,
    PartnerExists,
    PartnerNotFound,
    directory_problems,
    partner_from_json,
    partner_to_json,
)
from reservations.store.jsonfile.durable import atomic_write

FILE_NAME = "partners.json"
LOCK_NAME = "partners.lock"
KIND = "ticketboss-partners"
FORMAT = 1
# A revocation is seen by every worker within this long (the contract allows 1 s); the
# stat on a keyed request's path is skipped for this long after the last one.
STAT_INTERVAL_S = 0.05

_Stamp = tuple[int, int, int] | None


class JsonPartnerDirectory:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self._lock_path = Path(data_dir) / LOCK_NAME
        self._loaded: tuple[_Stamp, dict[str, Partner], dict[str, ApiKeyRecord]] = (None, {}, {})
        self._reload_mutex = threading.Lock()
        self._stat_at = float("-inf")

    # ------------------------------------------------------------------ reads

    def key(self, prefix: str) -> ApiKeyRecord | None:
        return self._current()[2].get(prefix)

    def partners(self) -> list[Partner]:
        return sorted(self._current()[1].values(), key=lambda item: item.partner_id)

    def verify(self) -> list[str]:
        try:
            partners = self._read()[0]
        except StoreCorrupt as exc:
            return [exc.message]
        return [f"{self.path}: {problem}" for problem in directory_problems(partners.values())]

    # ------------------------------------------------------------------ writes

    def create_partner(self, *, partner_id: str, name: str) -> Partner:
        partner_id = domain.validate_partner_id(partner_id)
        with self._changing() as partners:
            if partner_id in partners:
                raise PartnerExists()
            partner = Partner(partner_id=partner_id, name=name, created_at=utc_now_iso())
            partners[partner_id] = partner
        return partner

    def issue_key(self, *, partner_id: str) -> IssuedKey:
        with self._changing() as partners:
            partner = partners.get(partner_id)
            if partner is None:
                raise PartnerNotFound()
            taken = {key.prefix for item in partners.values() for key in item.keys}
            prefix = keys.new_prefix()
            while prefix in taken:
                prefix = keys.new_prefix()
            key = keys.new_key(prefix)
            record = ApiKeyRecord(
                prefix=prefix,
                partner_id=partner_id,
                key_hash=keys.hash_key(key),
                created_at=utc_now_iso(),
            )
            partners[partner_id] = _with_keys(partner, (*partner.keys, record))
        return IssuedKey(key=key, record=record)

    def revoke_key(self, *, prefix: str) -> ApiKeyRecord:
        with self._changing() as partners:
            for partner in partners.values():
                for key in partner.keys:
                    if key.prefix != prefix:
                        continue
                    if key.revoked_at is not None:
                        return key
                    revoked = ApiKeyRecord(
                        prefix=key.prefix,
                        partner_id=key.partner_id,
                        key_hash=key.key_hash,
                        created_at=key.created_at,
                        revoked_at=utc_now_iso(),
                    )
                    others = tuple(revoked if item is key else item for item in partner.keys)
                    partners[partner.partner_id] = _with_keys(partner, others)
                    return revoked
            raise KeyNotFound()

    def load(self, partners: Iterable[Partner]) -> None:
        incoming = list(partners)
        with self._changing() as current:
            clashes = sorted(item.partner_id for item in incoming if item.partner_id in current)
            if clashes:
                raise PartnerExists(f"These partners exist already: {', '.join(clashes)}.")
            for partner in incoming:
                current[partner.partner_id] = partner

    def close(self) -> None:
        """Nothing stays open between calls."""

    # ------------------------------------------------------------------ internals

    def _current(self) -> tuple[_Stamp, dict[str, Partner], dict[str, ApiKeyRecord]]:
        """The file's contents as of at most STAT_INTERVAL_S ago: a stat (at most that
        often), and a read only when the file changed."""
        loaded = self._loaded
        now = time.monotonic()
        if now - self._stat_at < STAT_INTERVAL_S:
            return loaded
        if _stamp(self.path) == loaded[0]:
            self._stat_at = now
            return loaded
        # The stat time is set only once the new contents are in: a thread arriving
        # meanwhile waits for them rather than answering from the old (at first, empty) copy.
        with self._reload_mutex:
            if _stamp(self.path) != self._loaded[0]:
                partners, stamp = self._read()
                index = {key.prefix: key for item in partners.values() for key in item.keys}
                self._loaded = (stamp, partners, index)
            self._stat_at = now
            return self._loaded

    def _read(self) -> tuple[dict[str, Partner], _Stamp]:
        try:
            with self.path.open("rb") as file:
                stamp = _fstamp(file.fileno())
                data = file.read()
        except FileNotFoundError:
            return {}, None
        except OSError as exc:
            raise StoreUnavailable() from exc
        try:
            document = orjson.loads(data)
            if document.get("kind") != KIND or document.get("format") != FORMAT:
                raise ValueError("not a TicketBoss partners file of format 1")
            partners = [partner_from_json(item) for item in document["partners"]]
        except (orjson.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as exc:
            raise StoreCorrupt(f"{self.path}: does not parse ({exc}).") from exc
        return {item.partner_id: item for item in partners}, stamp

    @contextlib.contextmanager
    def _changing(self) -> Iterator[dict[str, Partner]]:
        """Read, let the caller change, write back atomically: all under the file lock.
        A refusal raised by the caller writes nothing."""
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            partners, _stamp_read = self._read()
            yield partners
            try:
                atomic_write(self.path, [_encode(partners.values())])
            except OSError as exc:
                raise StoreUnavailable() from exc
            self._stat_at = float("-inf")  # this process sees its own change at once
        finally:
            os.close(fd)  # releases the flock


def _with_keys(partner: Partner, keys_: tuple[ApiKeyRecord, ...]) -> Partner:
    return Partner(
        partner_id=partner.partner_id, name=partner.name, created_at=partner.created_at, keys=keys_
    )


def _encode(partners: Iterable[Partner]) -> bytes:
    document: dict[str, Any] = {
        "kind": KIND,
        "format": FORMAT,
        "partners": [
            partner_to_json(item) for item in sorted(partners, key=lambda p: p.partner_id)
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"


def _fstamp(fd: int) -> tuple[int, int, int]:
    st = os.fstat(fd)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _stamp(path: Path) -> _Stamp:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)
