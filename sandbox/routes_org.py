"""The org-level resources: the version root and `limits` (Salesforce's), and the `/_sandbox/…` admin
endpoints (not Salesforce's) through which tests and people read usage and set faults on a running sandbox.

`limits` reports the same daily allocation the front counts in `Sforce-Limit-Info`, so a client that budgets
by either sees one number.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.bulk import BulkJobs
from sandbox.faults import FaultPlan
from sandbox.state import DATA, SandboxState


def org_router(state: SandboxState, bulk: BulkJobs) -> APIRouter:
    router = APIRouter()

    @router.get(DATA + "/")
    def versions(version: str) -> JSONResponse:
        return JSONResponse({"sobjects": f"/services/data/{version}/sobjects"})

    @router.get(DATA + "/limits")
    @router.get(DATA + "/limits/")
    def limits(version: str) -> JSONResponse:
        cfg = state.config
        return JSONResponse(
            {
                "DailyApiRequests": {"Max": cfg.daily_limit, "Remaining": max(0, cfg.daily_limit - state.used)},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000 - bulk.batches},
            }
        )

    return router


def admin_router(state: SandboxState, bulk: BulkJobs) -> APIRouter:
    router = APIRouter()

    @router.get("/_sandbox/state")
    def admin_state() -> JSONResponse:
        return JSONResponse(
            {
                "api_usage": {"used": state.used, "limit": state.config.daily_limit},
                "faults": state.faults.as_dict(),
                "bulk_jobs": bulk.summary(),
            }
        )

    @router.put("/_sandbox/faults")
    async def admin_faults(request: Request) -> JSONResponse:
        try:
            state.faults = FaultPlan.from_dict(dict(await request.json()))
        except (TypeError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(state.faults.as_dict())

    @router.put("/_sandbox/usage")
    async def admin_usage(request: Request) -> JSONResponse:
        body = dict(await request.json())
        if "used" in body:
            state.used = int(body["used"])
        if "limit" in body:
            state.config.daily_limit = int(body["limit"])
        return JSONResponse({"used": state.used, "limit": state.config.daily_limit})

    return router
