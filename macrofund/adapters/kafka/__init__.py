"""Kafka market-data pipeline: producer, and a Nautilus LiveDataClient that consumes it."""
