"""A Salesforce-compatible HTTPS server over the local CRM, with fault injection, for tests, benches and demos.

It may import `connector/` only: it is a client of the CRM port, like the sync engine.
"""
