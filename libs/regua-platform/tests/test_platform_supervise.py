"""Background loops outlive outages; programming errors still end them. Client log storms are held back."""

import asyncio
import logging

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError

from regua_platform.log_throttle import RepeatFilter
from regua_platform.supervise import supervise


async def test_a_loop_is_run_again_after_each_outage_until_it_returns() -> None:
    outages = [asyncpg.CannotConnectNowError("the database system is starting up"),
               asyncpg.exceptions.InternalClientError("pool caught mid-outage"),
               asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
               KafkaConnectionError("broker away"), ConnectionRefusedError()]
    runs = 0

    async def loop() -> None:
        nonlocal runs
        runs += 1
        if outages:
            raise outages.pop(0)

    async with asyncio.timeout(30):
        await supervise("test-loop", loop, base_seconds=0.001, max_seconds=0.01)
    assert runs == 6


async def test_a_programming_error_still_ends_the_loop() -> None:
    async def loop() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        await supervise("test-loop", loop, base_seconds=0.001)


def _record(name: str, msg: str, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, ("node 1",), None)


def test_repeated_client_lines_are_held_back_and_counted() -> None:
    f = RepeatFilter(window_seconds=60)
    passed = [f.filter(_record("aiokafka.conn", "Unable connect to node with id %s")) for _ in range(500)]
    assert passed.count(True) == 1  # one line for 500 tries
    assert f.filter(_record("aiokafka.conn", "another kind of failure %s"))  # each kind once
    assert all(f.filter(_record("regua_platform.kafka", "our own line %s")) for _ in range(3))  # ours untouched
    assert all(f.filter(_record("aiokafka.conn", "debug %s", logging.DEBUG)) for _ in range(3))


def test_after_the_window_the_next_line_says_how_many_were_held_back() -> None:
    f = RepeatFilter(window_seconds=0)
    first = _record("aiokafka", "Unable to update metadata from %s")
    assert f.filter(first)
    f.window = 3600
    for _ in range(9):
        f.filter(_record("aiokafka", "Unable to update metadata from %s"))
    f.window = 0
    later = _record("aiokafka", "Unable to update metadata from %s")
    assert f.filter(later)
    assert "9 similar lines held back" in later.getMessage()
