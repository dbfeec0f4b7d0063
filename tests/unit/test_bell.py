"""The bell a parked stream thread waits on: no ring is lost, and rings never pile up."""

from __future__ import annotations

import threading

from reservations.bell import Bell


def test_a_ring_before_the_wait_is_kept_for_it() -> None:
    bell = Bell()
    bell.ring()
    assert bell.wait(0) is True


def test_a_wait_without_a_ring_times_out() -> None:
    assert Bell().wait(0.01) is False


def test_many_rings_before_a_wait_wake_it_once() -> None:
    bell = Bell()
    for _ in range(5):
        bell.ring()
    assert bell.wait(0) is True
    assert bell.wait(0) is False


def test_a_ring_from_another_thread_wakes_a_parked_thread() -> None:
    bell = Bell()
    parked = threading.Event()
    woke: list[bool] = []

    def stream() -> None:
        parked.set()
        woke.append(bell.wait(30))

    thread = threading.Thread(target=stream)
    thread.start()
    parked.wait()
    bell.ring()
    thread.join(30)
    assert woke == [True]
