"""The embedded local CRM: Salesforce semantics on SQLite, built from describe JSON."""

from connector.local.crm import LocalCrm, MergeResult

__all__ = ["LocalCrm", "MergeResult"]
