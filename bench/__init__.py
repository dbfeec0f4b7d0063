"""Benchmarks: TicketBoss against the bare Django/DRF ceiling (`python -m bench`)."""
