"""`make bench`: ingestion throughput against the raw Kafka and PostgreSQL rates of this machine."""
