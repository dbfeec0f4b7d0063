"""Input and output shapes of the API. Rules live in `domain`; these only map."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from reservations import domain
from reservations.domain import Reservation, Summary


class _DomainField(serializers.Field):
    """A field whose value is checked by one domain validator."""

    validator: Any = None

    def to_internal_value(self, data: Any) -> Any:
        try:
            return type(self).validator(data)
        except domain.InvalidRequest as exc:
            raise serializers.ValidationError(exc.message) from exc

    def to_representation(self, value: Any) -> Any:
        return value


class PartnerIdField(_DomainField):
    validator = staticmethod(domain.validate_partner_id)


class SeatsField(_DomainField):
    """A JSON integer 1..10; strings, floats, booleans and null are refused."""

    validator = staticmethod(domain.validate_seats)


class HoldSecondsField(_DomainField):
    """A JSON integer from TICKETBOSS_HOLD_MIN_SECONDS to 3600."""

    @staticmethod
    def validator(value: Any) -> int:
        from reservations.services import validate_hold_seconds

        return validate_hold_seconds(value)


class StrictBodySerializer(serializers.Serializer):
    """A JSON object with only the fields this serializer names: a misspelt field is a
    400 naming it, never silently ignored."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            raise serializers.ValidationError(
                {"non_field_errors": ["The request body must be a JSON object."]}
            )
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            names = list(self.fields)
            allowed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
            raise serializers.ValidationError(
                {name: [f"Unknown field; send only {allowed}."] for name in unknown}
            )
        return super().to_internal_value(data)


class ReserveRequestSerializer(StrictBodySerializer):
    partnerId = PartnerIdField(
        help_text="Who books: 1-100 characters, no control characters. With an API key it "
        "may be left out (the key's partner books); when given it must be that partner."
    )
    seats = SeatsField(help_text="How many seats: a JSON integer from 1 to 10.")

    def __init__(self, *args: Any, partner_optional: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partnerId"].required = not partner_optional


class HoldRequestSerializer(ReserveRequestSerializer):
    holdSeconds = HoldSecondsField(
        required=False,
        help_text="How long the seats are held: a JSON integer from "
        "TICKETBOSS_HOLD_MIN_SECONDS (default 30) to 3600; default the event's holdSeconds.",
    )


class HoldResponseSerializer(serializers.Serializer):
    reservationId = serializers.CharField()
    seats = serializers.IntegerField()
    status = serializers.ChoiceField(choices=[domain.HELD])
    expiresAt = serializers.CharField(help_text="RFC 3339 UTC with milliseconds.")

    @staticmethod
    def from_reservation(reservation: Reservation) -> dict[str, Any]:
        """The first answer to a hold (a replay answers the same, whatever happened since)."""
        return {
            "reservationId": reservation.reservation_id,
            "seats": reservation.seats,
            "status": domain.HELD,
            "expiresAt": reservation.expires_at,
        }


class ReserveResponseSerializer(serializers.Serializer):
    reservationId = serializers.CharField()
    seats = serializers.IntegerField()
    status = serializers.CharField()

    @staticmethod
    def from_reservation(reservation: Reservation) -> dict[str, Any]:
        """The first answer to a reservation (a replay answers the same)."""
        return {
            "reservationId": reservation.reservation_id,
            "seats": reservation.seats,
            "status": domain.CONFIRMED,
        }


class ReservationSerializer(serializers.Serializer):
    reservationId = serializers.CharField()
    eventId = serializers.CharField()
    partnerId = serializers.CharField()
    seats = serializers.IntegerField()
    status = serializers.ChoiceField(choices=list(domain.STATUSES))
    createdAt = serializers.CharField()
    cancelledAt = serializers.CharField(allow_null=True)
    expiresAt = serializers.CharField(
        required=False,
        help_text="Holds only (held, expired, or confirmed or cancelled after a hold): "
        "when the hold ends or ended.",
    )

    createdBy = serializers.CharField(
        required=False,
        help_text="Organizers only: who made it (partner:<id>/<key prefix>, staff:<name>, open).",
    )
    cancelledBy = serializers.CharField(
        required=False, allow_null=True, help_text="Organizers only: who cancelled it."
    )

    @staticmethod
    def from_reservation(reservation: Reservation, *, with_actors: bool = False) -> dict[str, Any]:
        data = {
            "reservationId": reservation.reservation_id,
            "eventId": reservation.event_id,
            "partnerId": reservation.partner_id,
            "seats": reservation.seats,
            "status": reservation.status,
            "createdAt": reservation.created_at,
            "cancelledAt": reservation.cancelled_at,
        }
        if reservation.expires_at is not None:
            data["expiresAt"] = reservation.expires_at
        if with_actors:
            data["createdBy"] = reservation.created_by
            data["cancelledBy"] = reservation.cancelled_by
        return data


class SummarySerializer(serializers.Serializer):
    eventId = serializers.CharField()
    name = serializers.CharField()
    totalSeats = serializers.IntegerField()
    availableSeats = serializers.IntegerField()
    reservationCount = serializers.IntegerField()
    reservedSeats = serializers.IntegerField(help_text="Seats of confirmed reservations.")
    heldSeats = serializers.IntegerField(help_text="Seats of holds not yet expired.")
    holdCount = serializers.IntegerField(help_text="Holds not yet expired.")
    holdSeconds = serializers.IntegerField(help_text="A hold's length when a request omits it.")
    salesOpenAt = serializers.DateTimeField(
        allow_null=True, help_text="Reserves and holds are refused before this (null: no limit)."
    )
    salesCloseAt = serializers.DateTimeField(
        allow_null=True, help_text="Reserves and holds are refused from this on (null: no limit)."
    )
    version = serializers.IntegerField()

    @staticmethod
    def from_summary(summary: Summary) -> dict[str, Any]:
        return summary.as_dict()


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    details = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
