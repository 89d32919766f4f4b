"""Rebuilds the broker's state from PostgreSQL: ``python -m regua_platform.rebuild [--schema ingestion ...]``.

Every service keeps the events it published for REGUA_OUTBOX_RETENTION_HOURS; this marks them pending again
in each named schema (every schema with an outbox when none is named), and each running service's relay
re-publishes them in their original order. Consumers dedupe by event_id, so what they had handled changes
nothing and what the broker lost reaches them. Services do this by themselves when they find their broker
without their marker topic (broker_watch); this is the operator's way to force it (a broker replaced by one
that kept stale topics, or a rebuild from a point in time with ``--since``).
"""

import argparse
import asyncio
import os
from datetime import datetime

from regua_platform.db import each_schema_holding
from regua_platform.outbox import requeue


async def rebuild(dsn: str, schemas: list[str], since: datetime | None = None) -> dict[str, int]:
    """Re-queues the retained events of each schema; returns how many per schema."""
    return await each_schema_holding(dsn, "outbox", schemas, lambda conn: requeue(conn, since))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("REGUA_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/regua"))
    parser.add_argument("--schema", action="append", default=[], help="a service's schema (repeatable)")
    parser.add_argument("--since", type=datetime.fromisoformat, default=None,
                        help="only events published at or after this ISO time (with its offset)")
    args = parser.parse_args()
    for schema, count in asyncio.run(rebuild(args.database_url, args.schema, args.since)).items():
        print(f"{schema}: {count} event(s) re-queued")


if __name__ == "__main__":
    main()
