"""Tables of the `db` store (TICKETBOSS_STORE=db). Unused, and never queried, by the JSON store.

The rules live in reservations.domain; these tables hold the same state and
let the database enforce the parts that must hold across nodes: seats never
below zero or above the total, one reservation per Idempotency-Key and event,
reservation ids unique forever.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from reservations import domain

ACTOR_MAX_LENGTH = 300  # "partner:" + 100-character id + "/" + prefix, or "staff:" + username


class Event(models.Model):
    event_id = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=domain.EVENT_NAME_MAX_LENGTH)
    total_seats = models.IntegerField()
    available_seats = models.IntegerField()
    reservation_count = models.IntegerField(default=0)
    version = models.BigIntegerField(default=0)

    class Meta:
        db_table = "ticketboss_event"
        constraints = [
            models.CheckConstraint(
                condition=Q(available_seats__gte=0) & Q(available_seats__lte=F("total_seats")),
                name="event_seats_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.event_id


class Reservation(models.Model):
    # `id` (auto) orders reservations oldest first, as the JSON journal does.
    reservation_id = models.UUIDField(unique=True)
    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="reservations")
    partner_id = models.CharField(max_length=domain.PARTNER_ID_MAX_LENGTH)
    seats = models.IntegerField()
    status = models.CharField(max_length=16)
    created_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True)
    idempotency_key = models.CharField(max_length=domain.IDEMPOTENCY_KEY_MAX_LENGTH, null=True)
    fingerprint = models.CharField(max_length=64, null=True)
    # Who made and who cancelled it (reservations.access.actor_for); rows from before
    # actors were recorded were all made in open mode.
    created_by = models.CharField(max_length=ACTOR_MAX_LENGTH, db_default=domain.OPEN_ACTOR)
    cancelled_by = models.CharField(max_length=ACTOR_MAX_LENGTH, null=True)

    class Meta:
        db_table = "ticketboss_reservation"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="reservation_idempotency_key_once_per_event",
            ),
            models.CheckConstraint(
                condition=Q(seats__gte=domain.MIN_SEATS),
                name="reservation_seats_positive",
            ),
        ]

    def __str__(self) -> str:
        return str(self.reservation_id)


class Partner(models.Model):
    """A partner that books with API keys (keys mode); see reservations.partners."""

    partner_id = models.CharField(primary_key=True, max_length=domain.PARTNER_ID_MAX_LENGTH)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        db_table = "ticketboss_partner"

    def __str__(self) -> str:
        return self.partner_id


class ApiKey(models.Model):
    """A partner's key, known by its prefix; only a hash of the key is stored."""

    prefix = models.CharField(primary_key=True, max_length=16)
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="keys")
    key_hash = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "ticketboss_api_key"

    def __str__(self) -> str:
        return self.prefix
