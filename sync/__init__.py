"""The sync engine: decide what must go to the CRM, send it in order in the fewest calls, remember what happened.

`sync.plan` is pure (records + ledger + profile → ordered batches of changed rows); `sync.engine` applies a plan
through a `CrmConnector` and writes the ledger; `sync.worker` runs durable jobs from the service database's
queue (`store.jobs`) with leases, retries with backoff and a dead-letter; `sync.jobs` holds the job kinds and
the helpers other rooms use to enqueue work in their own transaction.
"""
