"""`query`, `queryAll` and their `nextRecordsUrl` pages, served from the CRM's own query cursors.

The CRM (LocalCrm) already pages the way Salesforce does: the first page and a locator like `01g…-2000` for
the next, which any later request can follow.  So the sandbox keeps no cursor of its own; it only dresses each
record in Salesforce's `attributes` and turns the locator into a `nextRecordsUrl`.  A locator names a place in
a result, not the sObject it reads, so the sandbox remembers that name per open cursor (`_CursorObjects`).
"""

from __future__ import annotations

import re
from collections import OrderedDict

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from connector.base import CrmConnector, QueryPage
from sandbox.responses import with_attributes
from sandbox.state import DATA, SandboxState, object_of_id

_FROM = re.compile(r"\bFROM\s+([A-Za-z0-9_]+)", re.IGNORECASE)


class _CursorObjects:
    """The sObject each open cursor reads, so every page's records carry the same `attributes.type`.

    Bounded: the oldest names go first, and a page whose name was forgotten takes it from its records' Ids.
    """

    LIMIT = 1024

    def __init__(self) -> None:
        self._names: OrderedDict[str, str] = OrderedDict()

    def remember(self, locator: str, object_name: str) -> None:
        key = _cursor_id(locator)
        self._names[key] = object_name
        self._names.move_to_end(key)
        while len(self._names) > self.LIMIT:
            self._names.popitem(last=False)

    def recall(self, crm: CrmConnector, locator: str, page: QueryPage) -> str:
        name = self._names.get(_cursor_id(locator))
        if name is None:
            record_id = next((str(r["Id"]) for r in page.records if r.get("Id")), None)
            name = (object_of_id(crm, record_id) if record_id else None) or ""
        if page.next_locator is None:
            self._names.pop(_cursor_id(locator), None)
        return name


def _cursor_id(locator: str) -> str:
    return locator.rpartition("-")[0]


def query_router(state: SandboxState) -> APIRouter:
    router = APIRouter()
    cursors = _CursorObjects()

    def run_query(version: str, soql: str, include_deleted: bool) -> JSONResponse:
        match = _FROM.search(soql)
        object_name = match.group(1) if match else ""
        with state.locked() as crm:
            page = crm.query_page(soql, include_deleted=include_deleted)
            if page.next_locator is not None:
                cursors.remember(page.next_locator, object_name)
        return _answer(version, object_name, page)

    @router.get(DATA + "/query")
    @router.get(DATA + "/query/")
    def query(version: str, q: str) -> JSONResponse:
        return run_query(version, q, include_deleted=False)

    @router.get(DATA + "/queryAll")
    @router.get(DATA + "/queryAll/")
    def query_all(version: str, q: str) -> JSONResponse:
        return run_query(version, q, include_deleted=True)

    @router.get(DATA + "/query/{locator}")
    @router.get(DATA + "/queryAll/{locator}")
    def query_more(version: str, locator: str) -> JSONResponse:
        with state.locked() as crm:
            page = crm.query_more(locator)  # an unknown or expired locator: INVALID_QUERY_LOCATOR, 400
            object_name = cursors.recall(crm, locator, page)
            if page.next_locator is not None:
                cursors.remember(page.next_locator, object_name)
        return _answer(version, object_name, page)

    return router


def _answer(version: str, object_name: str, page: QueryPage) -> JSONResponse:
    records = [with_attributes(version, object_name, r) for r in page.records]
    body: dict[str, object] = {"totalSize": page.total_size, "done": page.done, "records": records}
    if page.next_locator is not None:
        body["nextRecordsUrl"] = f"/services/data/{version}/query/{page.next_locator}"
    return JSONResponse(body)
