"""Creating one record in the local CRM for a test's setup, asserting it was accepted (shared by the delete and
merge tests, which build small record graphs and need only the new Id)."""

from __future__ import annotations

from connector.local import LocalCrm


def made(crm: LocalCrm, object_name: str, record: dict[str, object]) -> str:
    [result] = crm.create(object_name, [record])
    assert result.success and result.id, result
    return result.id
