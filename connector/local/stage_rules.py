"""Record-type stage restrictions: a record type's business process lists the stages its records may take.

Where the describes say so (NPSP's record types carry `x_stages`, generated from the business processes in
npsp.json), an Opportunity of that record type with a stage outside its process is refused as Salesforce
refuses a value a restricted picklist lacks for the record type.  Whether the API enforces this in every org
is unconfirmed in the reference; the local CRM takes the strict side so a profile that depends on it fails
here first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from connector.local.checks import Candidate, Connection, Refusal, fetch_records, refuse
from connector.local.schema import ObjectSpec

STAGE = "StageName"


class StageRestrictions:
    def __init__(self, spec_of: Callable[[str], ObjectSpec | None]) -> None:
        self._spec_of = spec_of

    def applies(self, spec: ObjectSpec) -> bool:
        infos = spec.describe.get("recordTypeInfos") or []
        return spec.field(STAGE) is not None and any(i.get("x_stages") is not None for i in infos)

    def check(self, conn: Connection, spec: ObjectSpec, candidates: Sequence[Candidate]) -> None:
        stages = {
            str(info["developerName"]): list(info["x_stages"])
            for info in spec.describe.get("recordTypeInfos") or []
            if info.get("x_stages") is not None
        }
        record_types = self._spec_of("RecordType")
        if not stages or record_types is None or spec.field(STAGE) is None:
            return
        touched = [c for c in candidates if c.refusal is None and (STAGE in c.values or "RecordTypeId" in c.values)]
        ids = {str(c.merged["RecordTypeId"]) for c in touched if c.merged.get("RecordTypeId")}
        names = fetch_records(conn, record_types, ids, ["DeveloperName"])
        for candidate in touched:
            stage = candidate.merged.get(STAGE)
            record_type = names.get(str(candidate.merged.get("RecordTypeId")), {}).get("DeveloperName")
            allowed = stages.get(str(record_type)) if record_type else None
            if stage is not None and allowed is not None and stage not in allowed:
                refuse(
                    candidate,
                    Refusal(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{STAGE}: bad value for restricted picklist field: {stage} "
                        f"(not a stage of record type {record_type})",
                        (STAGE,),
                    ),
                )
