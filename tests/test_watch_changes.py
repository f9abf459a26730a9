"""The coalescing queue, on a hand-driven clock."""

from __future__ import annotations

from core.watch.changes import ChangeQueue


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_path_noted_many_times_is_taken_once_after_the_quiet_window() -> None:
    clock = Clock()
    queue = ChangeQueue(quiet_s=0.4, max_wait_s=2.0, clock=clock)
    for _ in range(5):
        queue.note(["/x/a.txt"])
        clock.now += 0.1
    assert queue.take(0) == []  # noted 0.1 s ago: not yet quiet
    clock.now += 0.35
    assert queue.take(0) == ["/x/a.txt"]
    assert queue.take(0) == [] and len(queue) == 0


def test_a_long_burst_is_taken_in_batches_of_quiet_paths() -> None:
    clock = Clock()
    queue = ChangeQueue(quiet_s=0.4, max_wait_s=2.0, clock=clock)
    queue.note(["/x/early.txt"])
    for step in range(25):  # a change every 0.1 s: never quiet as a whole
        clock.now += 0.1
        queue.note([f"/x/busy{step % 2}.txt"])
    assert queue.take(0) == ["/x/early.txt"]
    assert queue.take(0) == []
    clock.now += 0.45
    assert sorted(queue.take(0)) == ["/x/busy0.txt", "/x/busy1.txt"]
