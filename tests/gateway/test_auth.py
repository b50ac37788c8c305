"""The per-token requests-per-minute limit, counted in a table every worker process shares.

Two "workers" here are two limiters over the same cells, as ``workers.run`` leaves them after
forking: each writes its own cells and reads everyone's.
"""

from __future__ import annotations

import copy
import os

from gateway.auth import SLOTS, RateLimiter

MINUTE = 60 * 29_000_000  # the start of some calendar minute, in seconds since the epoch


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def workers(per_minute: int, count: int, clock: Clock) -> list[RateLimiter]:
    first = RateLimiter(per_minute, clock, workers=count)
    limiters = [first]
    for worker in range(1, count):
        other = copy.copy(first)  # the same shared cells, as after fork
        other.worker = worker
        limiters.append(other)
    return limiters


def test_no_limit_allows_everything_and_builds_no_table() -> None:
    limiter = RateLimiter(0, Clock(MINUTE), workers=4)
    assert limiter.cells is None
    assert all(limiter.allow(7) is None for _ in range(1000))


def test_one_worker_allows_the_limit_then_says_when_the_next_minute_opens() -> None:
    (limiter,) = workers(3, 1, Clock(MINUTE + 45.5))
    assert [limiter.allow(7) for _ in range(3)] == [None, None, None]
    assert limiter.allow(7) == 14.5
    assert limiter.allow(8) is None  # another token has its own count


def test_the_limit_holds_across_workers() -> None:
    first, second = workers(4, 2, Clock(MINUTE + 1))
    assert [first.allow(7), second.allow(7), first.allow(7), second.allow(7)] == [None] * 4
    assert first.allow(7) is not None
    assert second.allow(7) is not None
    # Refused requests are not counted: the table still holds two per worker.
    row = 7 % SLOTS * first.stride
    assert first.cells.tolist()[row : row + first.stride] == [7, MINUTE // 60, 2] * 2


def test_every_worker_of_a_wide_gateway_counts() -> None:
    limiters = workers(5, 8, Clock(MINUTE))
    answers = [limiter.allow(9) for limiter in limiters]
    assert answers == [None] * 5 + [60.0] * 3


def test_a_new_minute_starts_from_zero_on_every_worker() -> None:
    clock = Clock(MINUTE + 59.5)
    first, second = workers(2, 2, clock)
    assert [first.allow(7), second.allow(7), first.allow(7)] == [None, None, 0.5]
    clock.now = MINUTE + 60
    # The second worker's cell still holds the old minute: it counts 0 and is taken over.
    assert [second.allow(7), first.allow(7), second.allow(7)] == [None, None, 60.0]
    row = 7 % SLOTS * first.stride
    assert first.cells.tolist()[row : row + first.stride] == [7, MINUTE // 60 + 1, 1] * 2


def test_a_cell_of_another_token_counts_zero_and_is_taken_over() -> None:
    first, second = workers(2, 2, Clock(MINUTE))
    colliding = 7 + SLOTS  # same row as token 7
    assert [first.allow(7), first.allow(7), first.allow(7)] == [None, None, 60.0]
    # Token 7's cell on the first worker does not count for the colliding token...
    assert [second.allow(colliding), second.allow(colliding), second.allow(colliding)] == [
        None,
        None,
        60.0,
    ]
    # ...and each keeps its own count, on either worker.
    assert first.allow(7) == 60.0
    assert first.allow(colliding) == 60.0
    assert second.allow(7) == 60.0


def test_colliding_tokens_on_one_worker_reset_each_other_as_documented() -> None:
    (limiter,) = workers(2, 1, Clock(MINUTE))
    colliding = 7 + SLOTS
    assert [limiter.allow(7), limiter.allow(7)] == [None, None]
    assert limiter.allow(colliding) is None  # takes the cell over
    assert limiter.allow(7) is None  # so token 7 gets a third request this minute


def test_a_forked_worker_counts_in_the_parents_table() -> None:
    limiter = RateLimiter(3, Clock(MINUTE), workers=2)
    pid = os.fork()
    if pid == 0:  # the child: what workers.run does after fork, then two requests
        limiter.worker = 1
        os._exit(0 if [limiter.allow(7), limiter.allow(7)] == [None, None] else 1)
    assert os.waitpid(pid, 0)[1] == 0
    assert [limiter.allow(7), limiter.allow(7)] == [None, 60.0]
