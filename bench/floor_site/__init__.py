"""The floor of a durable reserve: the bare DRF view plus TicketBoss's store, nothing else.

Not a baseline: no ratio is taken against it. `python -m bench` prints it beside the
reserve rows so the table shows how much of the gap to the bare view is the durable
write itself, which any TicketBoss must pay, and how much is everything else.
"""
