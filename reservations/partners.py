"""The partner directory: who may book with an API key (keys mode).

Plain values and the protocol both directories implement: partners.json beside
the JSON store (reservations.store.jsonfile.partners) and two tables for the
`db` store (reservations.store.orm_partners). `key(prefix)` is on every keyed
request's path, so both answer it from memory: the file by one stat, the
tables by a copy refreshed at most REFRESH_S old, which is what bounds how
long a revoked key may still work.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from reservations import domain

REFRESH_S = 0.5  # the db directory's copy is never older: revocation reaches nodes in < 1 s


class PartnerExists(domain.DomainError):
    message = "This partner is registered already."


class PartnerNotFound(domain.DomainError):
    message = "No such partner."


class KeyNotFound(domain.DomainError):
    message = "No key has this prefix."


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """A key as stored: its prefix and hash, never the key."""

    prefix: str
    partner_id: str
    key_hash: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Partner:
    partner_id: str
    name: str
    created_at: str
    keys: tuple[ApiKeyRecord, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: `key` is shown once and then exists only with its partner."""

    key: str
    record: ApiKeyRecord


class PartnerDirectory(Protocol):
    def create_partner(self, *, partner_id: str, name: str) -> Partner:
        """Register a partner, or raise PartnerExists."""

    def issue_key(self, *, partner_id: str) -> IssuedKey:
        """A new key for the partner (PartnerNotFound when unknown); only its hash is kept."""

    def revoke_key(self, *, prefix: str) -> ApiKeyRecord:
        """Revoke at once (KeyNotFound when unknown); revoking twice keeps the first time."""

    def partners(self) -> list[Partner]:
        """Every partner with its keys, by partner id."""

    def key(self, prefix: str) -> ApiKeyRecord | None:
        """The key with this prefix as of at most REFRESH_S ago; cheap (no read when unchanged)."""

    def load(self, partners: Iterable[Partner]) -> None:
        """Add partners exactly as given (an import); all or none, PartnerExists on a clash."""

    def verify(self) -> list[str]:
        """Every problem in the stored directory (empty when sound)."""

    def close(self) -> None:
        """Release files and connections."""


# ---------------------------------------------------------------------- dump form


def partner_to_json(partner: Partner) -> dict[str, Any]:
    """The stored and exported shape (hashes only), shared by files and dumps."""
    return {
        "partnerId": partner.partner_id,
        "name": partner.name,
        "createdAt": partner.created_at,
        "keys": [
            {
                "prefix": key.prefix,
                "hash": key.key_hash,
                "createdAt": key.created_at,
                "revokedAt": key.revoked_at,
            }
            for key in partner.keys
        ],
    }


def partner_from_json(data: dict[str, Any]) -> Partner:
    partner_id = data["partnerId"]
    return Partner(
        partner_id=partner_id,
        name=data["name"],
        created_at=data["createdAt"],
        keys=tuple(
            ApiKeyRecord(
                prefix=item["prefix"],
                partner_id=partner_id,
                key_hash=item["hash"],
                created_at=item["createdAt"],
                revoked_at=item.get("revokedAt"),
            )
            for item in data.get("keys", [])
        ),
    )


def directory_problems(partners: Iterable[Partner]) -> list[str]:
    """What check_store reports: bad ids, hashes or prefixes, a prefix used twice."""
    from reservations import keys

    problems: list[str] = []
    seen: set[str] = set()
    for partner in partners:
        try:
            if domain.validate_partner_id(partner.partner_id) != partner.partner_id:
                problems.append(f"partner {partner.partner_id!r}: id has surrounding spaces")
        except domain.InvalidRequest as exc:
            problems.append(f"partner {partner.partner_id!r}: {exc.message}")
        for key in partner.keys:
            where = f"partner {partner.partner_id!r}, key {key.prefix!r}"
            if not keys.is_prefix(key.prefix):
                problems.append(f"{where}: prefix is not 8 letters or digits")
            if key.prefix in seen:
                problems.append(f"{where}: prefix is used twice")
            seen.add(key.prefix)
            if not keys.is_hash(key.key_hash):
                problems.append(f"{where}: stored hash is not a sha256 digest")
    return problems
