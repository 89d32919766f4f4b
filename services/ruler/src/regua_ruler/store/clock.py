from datetime import datetime

import asyncpg


async def load_simulated_clock(pool: asyncpg.Pool) -> datetime | None:
    value: datetime | None = await pool.fetchval("SELECT now FROM simulated_clock")
    return value


async def save_simulated_clock(conn: asyncpg.Connection | asyncpg.Pool, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO simulated_clock (id, now) VALUES (true, $1) ON CONFLICT (id) DO UPDATE SET now = $1", now
    )
