"""Tables of the `db` store (TICKETBOSS_STORE=db). Unused, and never queried, by the JSON store.

The rules live in reservations.domain and reservations.organizing; these tables
hold the same state and let the database enforce the parts that must hold across
nodes: seats never below zero or above the total, a partner never past its
allocation, one reservation per Idempotency-Key and event, reservation ids unique
forever. Per-partner figures and per-minute sales are counters every write keeps
in its own transaction, so stats never scan reservations.
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
    held_seats = models.IntegerField(default=0, db_default=0)  # unexpired holds
    hold_count = models.IntegerField(default=0, db_default=0)
    hold_seconds = models.IntegerField(
        default=domain.DEFAULT_HOLD_SECONDS, db_default=domain.DEFAULT_HOLD_SECONDS
    )
    # Never later than the earliest expiry of a held reservation (null: none held), so
    # one look at the event row tells whether an expiry may be due.
    next_expiry = models.DateTimeField(null=True)
    sales_open_at = models.DateTimeField(null=True)
    sales_close_at = models.DateTimeField(null=True)

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
    expires_at = models.DateTimeField(null=True)  # holds (kept once confirmed or released)

    class Meta:
        db_table = "ticketboss_reservation"
        indexes = [
            # Due expiries and the next one, per event, without touching other rows.
            models.Index(
                fields=["event", "expires_at"],
                condition=Q(status=domain.HELD),
                name="reservation_held_expiry",
            ),
            models.Index(fields=["event", "partner_id", "id"], name="reservation_partner_page"),
        ]
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


class PartnerFigures(models.Model):
    """One partner's seats in one event (reservations.organizing.PartnerFigures), kept by
    every write in its transaction. `cap` is what the CHECK holds taken seats to: the
    allocation, or the seats already taken when an allocation was lowered below them
    (lowering takes nothing away), so an increase past the allocation rolls back."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="partner_figures")
    partner_id = models.CharField(max_length=domain.PARTNER_ID_MAX_LENGTH)
    confirmed_seats = models.IntegerField(default=0)
    confirmed_count = models.IntegerField(default=0)
    held_seats = models.IntegerField(default=0)
    hold_count = models.IntegerField(default=0)
    allocation = models.IntegerField(null=True)
    cap = models.IntegerField(null=True)  # GREATEST(allocation, taken seats) after a decrease

    class Meta:
        db_table = "ticketboss_partner_figures"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "partner_id"], name="figures_once_per_partner"
            ),
            models.CheckConstraint(
                condition=Q(cap__isnull=True) | Q(cap__gte=F("confirmed_seats") + F("held_seats")),
                name="figures_within_allocation",
            ),
            models.CheckConstraint(
                condition=Q(confirmed_seats__gte=0) & Q(held_seats__gte=0),
                name="figures_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}/{self.partner_id}"


class MinuteSales(models.Model):
    """Seats sold in one minute of one event (reservations.organizing.MinuteSales)."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="minute_sales")
    minute_us = models.BigIntegerField()  # the minute's start, microseconds since the epoch
    seats = models.IntegerField()

    class Meta:
        db_table = "ticketboss_minute_sales"
        constraints = [
            models.UniqueConstraint(fields=["event", "minute_us"], name="minute_once_per_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}@{self.minute_us}"


class ConfirmKey(models.Model):
    """The Idempotency-Key of a confirm and the reservation it confirmed. Keys of one
    event are one namespace with its reservations' keys (the store checks both)."""

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="confirm_keys")
    key = models.CharField(max_length=domain.IDEMPOTENCY_KEY_MAX_LENGTH)
    reservation_id = models.UUIDField()

    class Meta:
        db_table = "ticketboss_confirm_key"
        constraints = [
            models.UniqueConstraint(fields=["event", "key"], name="confirm_key_once_per_event"),
        ]

    def __str__(self) -> str:
        return self.key
