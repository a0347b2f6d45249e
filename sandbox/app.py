"""A Salesforce-REST-compatible server over the embedded LocalCrm (any CRM with query cursors would do).

It speaks what ignite-sync and simple-salesforce use, with Salesforce's status codes and JSON error shapes:
SOAP login (`routes_login`), `sobjects` (`routes_sobjects`: describe, create, get, update, delete, upsert by
external ID with 201/200/300), `composite/sobjects` collections (`routes_collections`: create, update,
upsert, delete; `allOrNone` both ways), `query` and `queryAll` with `nextRecordsUrl` paging
(`routes_query`), Bulk API 2.0 ingest (`bulk`), `limits` and the `/_sandbox` admin endpoints
(`routes_org`).  Every response carries `Sforce-Limit-Info`, counted against a configurable daily allocation,
and faults are injected by `faults.FaultPlan` before a request reaches the CRM (`front.SalesforceFront`).

This module only assembles those parts; each lives in the module named for its API area.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from connector.base import CrmError
from sandbox.bulk import BulkJobs
from sandbox.faults import FaultPlan
from sandbox.front import SalesforceFront
from sandbox.responses import CrmError400, crm_failure
from sandbox.routes_collections import collections_router
from sandbox.routes_login import login_router
from sandbox.routes_org import admin_router, org_router
from sandbox.routes_query import query_router
from sandbox.routes_sobjects import sobjects_router
from sandbox.state import PagingCrm, SandboxConfig, SandboxState

__all__ = ["SandboxConfig", "create_sandbox_app"]  # SandboxConfig: callers configure the app through this module


def create_sandbox_app(crm: PagingCrm, config: SandboxConfig | None = None, faults: FaultPlan | None = None) -> Any:
    """The sandbox as an ASGI app (FastAPI wrapped in `SalesforceFront`); `.state` is the `SandboxState`."""
    state = SandboxState(crm=crm, config=config or SandboxConfig(), faults=faults or FaultPlan())
    bulk = BulkJobs(state)
    api = FastAPI(title="ignite-sync Salesforce sandbox", docs_url=None, redoc_url=None, openapi_url=None)

    @api.exception_handler(CrmError)
    async def on_crm_error(request: Request, exc: CrmError) -> JSONResponse:
        return crm_failure(exc)

    @api.exception_handler(CrmError400)
    async def on_bad_request(request: Request, exc: CrmError400) -> Response:
        return exc.response

    for router in (
        login_router(state),
        org_router(state, bulk),
        sobjects_router(state),
        collections_router(state),
        query_router(state),
        bulk.router(),
        admin_router(state, bulk),
    ):
        api.include_router(router)

    app = SalesforceFront(api, state)
    app.state = state
    return app
