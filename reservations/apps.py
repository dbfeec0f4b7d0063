from django.apps import AppConfig


class ReservationsConfig(AppConfig):
    name = "reservations"
    verbose_name = "TicketBoss reservations"

    def ready(self) -> None:
        from reservations import checks  # noqa: F401 - registers the deploy checks
