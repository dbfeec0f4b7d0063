"""Input and output shapes of the organizer API. Rules live in `domain` and
`organizing`; these only map, field by field, so a 400 names every bad field."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from reservations import domain, organizing
from reservations.organizer_services import Allocation
from reservations.organizing import UNSET, EventChanges, EventStats
from reservations.partners import IssuedKey, Partner
from reservations.serializers import (
    HoldSecondsField,
    PartnerIdField,
    ReservationSerializer,
    StrictBodySerializer,
    SummarySerializer,
    _DomainField,
)


class EventIdField(_DomainField):
    validator = staticmethod(domain.validate_event_id)


class NameField(_DomainField):
    validator = staticmethod(domain.validate_event_name)


class TotalSeatsField(_DomainField):
    validator = staticmethod(domain.validate_total_seats)


class AllocationSeatsField(_DomainField):
    """A whole number from 0 to 10,000,000, or null (no limit)."""

    validator = staticmethod(organizing.validate_allocation)


class StatusFilterField(_DomainField):
    validator = staticmethod(organizing.validate_status_filter)


class InstantField(_DomainField):
    """An RFC 3339 date-time with a time zone, as microseconds since the epoch; null
    clears it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, **kwargs)

    def to_internal_value(self, data: Any) -> int | None:
        try:
            return organizing.parse_instant(data, self.field_name)
        except domain.InvalidRequest as exc:
            raise serializers.ValidationError(exc.message) from exc


# ---------------------------------------------------------------------- events


_WINDOW_HELP = "RFC 3339 with a time zone (e.g. 2026-12-01T09:00:00Z); null: no limit."


class EventCreateRequestSerializer(StrictBodySerializer):
    """A new event; every field but holdSeconds and the sales window is required."""

    eventId = EventIdField(help_text="1 to 64 lowercase letters, digits, '-' or '_'.")
    name = NameField(help_text="1 to 200 characters, no control characters.")
    totalSeats = TotalSeatsField(help_text="A whole number from 0 to 10,000,000.")
    holdSeconds = HoldSecondsField(required=False, help_text="Default hold length (600).")
    salesOpenAt = InstantField(help_text="Reserves and holds start then. " + _WINDOW_HELP)
    salesCloseAt = InstantField(help_text="Reserves and holds end then. " + _WINDOW_HELP)

    def service_arguments(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "event_id": data["eventId"],
            "name": data["name"],
            "total_seats": data["totalSeats"],
            "hold_seconds": data.get("holdSeconds"),
            "sales_open_us": data.get("salesOpenAt"),
            "sales_close_us": data.get("salesCloseAt"),
        }


class EventChangesRequestSerializer(StrictBodySerializer):
    """Any of these fields; the ones left out stay as they are."""

    name = NameField(required=False)
    totalSeats = TotalSeatsField(
        required=False, help_text="Never below the seats taken (confirmed and held): 409."
    )
    holdSeconds = HoldSecondsField(required=False)
    salesOpenAt = InstantField(help_text=_WINDOW_HELP)
    salesCloseAt = InstantField(help_text=_WINDOW_HELP)

    def changes(self) -> EventChanges:
        """Fields left out stay UNSET (unchanged); a window side sent as null is cleared."""
        data = self.validated_data
        return EventChanges(
            name=data.get("name", UNSET),
            total_seats=data.get("totalSeats", UNSET),
            hold_seconds=data.get("holdSeconds", UNSET),
            sales_open_us=data.get("salesOpenAt", UNSET),
            sales_close_us=data.get("salesCloseAt", UNSET),
        )


class AllocationRequestSerializer(StrictBodySerializer):
    """The partner's cap in the event."""

    seats = AllocationSeatsField(
        allow_null=True,
        help_text="Most seats the partner may hold and have confirmed in this event; null "
        "removes the limit.",
    )


class AllocationSerializer(serializers.Serializer):
    eventId = serializers.CharField()
    partnerId = serializers.CharField()
    seats = serializers.IntegerField(allow_null=True)

    @staticmethod
    def from_allocation(allocation: Allocation) -> dict[str, Any]:
        return allocation.as_dict()


class ReservationQuerySerializer(serializers.Serializer):
    """`GET /events/{eventId}/reservations` filters (cursor and limit: the paginator)."""

    partnerId = PartnerIdField(required=False, help_text="Only this partner's reservations.")
    status = StatusFilterField(required=False, help_text="held, confirmed, cancelled or expired.")


class ReservationPageSerializer(serializers.Serializer):
    results = ReservationSerializer(many=True)
    next = serializers.URLField(allow_null=True, help_text="The next page, or null.")
    previous = serializers.URLField(allow_null=True, help_text="The page before, or null.")


class PartnerFiguresSerializer(serializers.Serializer):
    partnerId = serializers.CharField()
    confirmedSeats = serializers.IntegerField()
    confirmedCount = serializers.IntegerField()
    heldSeats = serializers.IntegerField(help_text="Seats of holds not yet expired.")
    holdCount = serializers.IntegerField()
    allocation = serializers.IntegerField(allow_null=True, help_text="null: no limit.")
    share = serializers.FloatField(help_text="confirmedSeats / the event's totalSeats.")


class MinuteSerializer(serializers.Serializer):
    minute = serializers.CharField(help_text="The minute's start, RFC 3339 UTC.")
    seats = serializers.IntegerField(help_text="Seats confirmed minus seats cancelled then.")
    cumulative = serializers.IntegerField(help_text="Running total; ends at reservedSeats.")


class EventStatsSerializer(serializers.Serializer):
    eventId = serializers.CharField()
    summary = SummarySerializer()
    partners = PartnerFiguresSerializer(many=True)
    perMinute = MinuteSerializer(many=True)

    @staticmethod
    def from_stats(stats: EventStats) -> dict[str, Any]:
        return stats.as_dict()


# ---------------------------------------------------------------------- partners


class PartnerCreateRequestSerializer(StrictBodySerializer):
    """A partner that books with API keys."""

    partnerId = PartnerIdField()
    name = NameField(required=False, help_text="Shown to organizers (default: the id).")


class ApiKeyInfoSerializer(serializers.Serializer):
    prefix = serializers.CharField(help_text="The 8 letters or digits after tb_.")
    createdAt = serializers.CharField()
    revokedAt = serializers.CharField(allow_null=True)


class PartnerSerializer(serializers.Serializer):
    partnerId = serializers.CharField()
    name = serializers.CharField()
    createdAt = serializers.CharField()
    keys = ApiKeyInfoSerializer(many=True, help_text="By prefix; a key itself is never shown.")

    @staticmethod
    def from_partner(partner: Partner) -> dict[str, Any]:
        return {
            "partnerId": partner.partner_id,
            "name": partner.name,
            "createdAt": partner.created_at,
            "keys": [
                {"prefix": key.prefix, "createdAt": key.created_at, "revokedAt": key.revoked_at}
                for key in partner.keys
            ],
        }


class IssuedKeySerializer(serializers.Serializer):
    partnerId = serializers.CharField()
    prefix = serializers.CharField()
    key = serializers.CharField(help_text="Shown this once: only its hash is kept.")

    @staticmethod
    def from_issued(issued: IssuedKey) -> dict[str, Any]:
        return {
            "partnerId": issued.record.partner_id,
            "prefix": issued.record.prefix,
            "key": issued.key,
        }
