"""The CRM port and its adapters.  Speaks CRM records (dicts keyed by API field names), never domain models."""
