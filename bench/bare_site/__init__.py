"""The ceiling: a tiny Django project with one no-op DRF view, served like TicketBoss."""
