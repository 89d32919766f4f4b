"""One platform per test session: broker, PostgreSQL database, SMTP sink and services as real processes.

Set REGUA_KAFKA_BOOTSTRAP_SERVERS to reuse a running broker and REGUA_TEST_POSTGRES_DSN to choose the
PostgreSQL server (default 127.0.0.1:5432, else an embedded one)."""

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from regua_localstack.stack import LocalStack
from tests.support.client import Platform


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    workdir = Path(tempfile.mkdtemp(prefix="regua-test-"))
    local = LocalStack(
        workdir=workdir,
        admin_dsn=os.environ.get("REGUA_TEST_POSTGRES_DSN"),
        bootstrap=os.environ.get("REGUA_KAFKA_BOOTSTRAP_SERVERS"),
        extra_env={"REGUA_CLOCK_MODE": "simulated", "REGUA_RULER_TICK_SECONDS": "0.2",
                   "REGUA_RULER_CLAIM_BATCH": "100", "REGUA_RULER_RESEGMENT_SECONDS": "1",
                   "REGUA_CONSUMER_RETRY_BASE_SECONDS": "0.05",
                   # LGPD erasure: no retention period, so a test can erase a person whose debts just ended.
                   "REGUA_PRIVACY_RETENTION_DAYS": "0"},
    )
    try:
        local.start_infra()
        local.start_services()
        yield local
    finally:
        local.stop()
        print(f"\nlogs of this test session: {workdir / 'logs'}")


@pytest.fixture(scope="session")
def platform(stack: LocalStack) -> Platform:
    p = Platform(stack)
    p.set_clock(session_start(datetime.now(UTC)))
    return p


def session_start(now: datetime) -> datetime:
    """A Monday, 09:00 in São Paulo: 1 March 2027 (reproducible) while that is ahead, else the first Monday
    after today. The simulated clock never goes backwards from now, whatever the date the tests run."""
    start = datetime(2027, 3, 1, 12, tzinfo=UTC)
    while start <= now:
        start += timedelta(weeks=1)
    return start
