"""`make bench`: ingestion throughput against the raw Kafka and PostgreSQL rates of this machine."""

import os

# Benchmarks run the local stack: its placeholder secrets are accepted (regua_platform.secrets).
os.environ.setdefault("REGUA_ENVIRONMENT", "local")
