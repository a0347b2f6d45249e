"""The web service's routers: intake webhook, program-data ingest API, export downloads, health and metrics.

Thin on purpose: verify, validate, persist (with the job, in one transaction), answer.  Delivering an intake
submission to the CRM is the job handler's work (`sync/intake.py`), never the request's.
"""
