"""`python -m regua_credit` serves; `python -m regua_credit train` fits the score model and exits
(0: a model was stored and the running service picks it up; 1: not enough history yet, the rules stay)."""

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime

from regua_credit import handlers
from regua_credit.app import SPEC
from regua_credit.training import NotEnoughHistory
from regua_platform.db import create_pool
from regua_platform.logging import configure_logging
from regua_platform.migrations import migrate
from regua_platform.service import serve
from regua_platform.settings import Settings


async def train(settings: Settings) -> int:
    configure_logging("credit-train", settings.log_level)
    await migrate(settings.database_url, SPEC.schema, SPEC.package)
    pool = await create_pool(settings.database_url, SPEC.schema)
    try:
        model = await handlers.train_model(pool, settings.timezone, settings.credit_min_training_samples,
                                           datetime.now(UTC))
    except NotEnoughHistory as exc:
        print(f"not trained: {exc}", file=sys.stderr)
        return 1
    finally:
        await pool.close()
    print(json.dumps(model.to_json(), indent=2))
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m regua_credit", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["serve", "train"], default="serve")
    if parser.parse_args().command == "train":
        raise SystemExit(asyncio.run(train(Settings(service_name="credit-train"))))
    serve(SPEC)


if __name__ == "__main__":
    main()
