"""FastAPI routers: intake webhook, program-data ingest API, export downloads, health/metrics."""
