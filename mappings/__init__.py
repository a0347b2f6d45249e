"""Mapping profiles: how each Ignite model becomes CRM records.  Imports only `models/`.

Public API (what the sync engine, the local CRM and the CLI use):

Profiles
    `load_profile(name) -> Profile` — one of `PROFILE_NAMES` ("npsp_pmm", "nonprofit_cloud", "salesforce_core"),
    loaded from `mappings/<name>.yaml`, cached.  A broken file raises `ProfileError` whose `.problems` lists every
    `SpecProblem(file, path, message)` at once.  `load_profile_file(path)` / `load_profile_data(dict, file)` load
    other copies.
    `Profile.order` — step names in dependency order (lookups and `after:` first, file order for ties);
    `Profile.object_order` — CRM objects in write order; `Profile.position(step)`, `Profile.dependencies(step)`;
    `dependency_order(deps, preferred)` is the same topological sort for any graph and raises `CycleError`
    (`.cycle`, e.g. ("a", "b", "a")) naming the cycle.
    `Profile.steps_for(model_name)`, `Profile.related_needs(model_name)` — the other models a transform reads
    (fetch them in one batch and pass them as `related`).
    Each field's `update` policy (`FieldSpec.update`): always | if_blank | never | create_only (the CRM refuses
    the field on update, so updates leave it out).
    `Profile.flags` — the optional switches a profile declares: `individual_responses` (send individual survey
    answers; IGNITE_CRM_INDIVIDUAL_RESPONSES) and `existing_contact` (an intake matched a Contact: write a Task
    instead of a Lead).
    `Profile.plugin_fields()` — object → custom fields the plugin deploys (every written object's key field,
    `Ignite_Key__c` Text(80) External ID Unique case-sensitive, included).

Transform (pure)
    `to_crm(instance, profile, *, related=None, flags=()) -> list[CrmWrite]`, in dependency order; one instance
    may give several writes (an npsp_pmm Cohort gives a ProgramCohort, a Service and a ServiceSchedule) or none.
    `CrmWrite`: `step`, `object_name`, `key_field`, `key`, `payload` (JSON-ready; includes the key field; lookups
    as external-ID references under the relationship name, `{"Account": {"Ignite_Key__c": "org:flch"}}`),
    `order` (apply ascending), `depends_on` (steps), `policies` and `field_names` (payload key → UpdatePolicy /
    CRM field API name), `operation` ("upsert", or "update_existing" for summaries, which must never create),
    `record_type` (DeveloperName; resolve with `record_type_id(describe, name)` and send as `RecordTypeId`),
    `member_statuses` (CampaignMemberStatus labels a campaign needs), `warnings` (truncations), `source_key`.
    `(step, key)` identifies a write: two steps may write one CRM record (summaries onto the org's Account).
    An instance that cannot be mapped raises `MappingRejected` (`.record`, `.problems` of models.Problem).
    `merge_writes(writes)` sorts and drops equal repeats (several outcomes share one indicator assignment).
    `fields_to_read(write)` and `update_payload(write, existing_or_None)` honour field ownership: read the
    if_blank fields once per batch of 200, then send only what the policies allow.
    `RelatedRecords(models)` is an in-memory `related`.

Describe data and checks
    `mappings.snapshots.load_describes(profile) -> dict[str, dict]` — object → Salesforce describe JSON (the
    schema the local CRM enforces); `check_profile(profile, describe) -> CheckReport` checks a profile against
    any `describe(name) -> dict | None` (snapshot via `describe_source(load_describes(name))`, or a live org).
    `plugin_files(profile) -> dict[path, bytes]` — the Salesforce DX source of the plugin, byte-stable.
"""

from mappings.check import CheckProblem, CheckReport, check_profile, describe_source
from mappings.plugin import plugin_files, write_plugin
from mappings.profile import (
    PROFILE_NAMES,
    CycleError,
    Profile,
    ProfileError,
    SpecProblem,
    dependency_order,
    load_profile,
    load_profile_data,
    load_profile_file,
)
from mappings.spec import UpdatePolicy
from mappings.transform import (
    CrmWrite,
    MappingRejected,
    RelatedRecords,
    fields_to_read,
    merge_writes,
    record_type_id,
    to_crm,
    update_payload,
)

__all__ = [
    "PROFILE_NAMES",
    "CheckProblem",
    "CheckReport",
    "CrmWrite",
    "CycleError",
    "MappingRejected",
    "Profile",
    "ProfileError",
    "RelatedRecords",
    "SpecProblem",
    "UpdatePolicy",
    "check_profile",
    "dependency_order",
    "describe_source",
    "fields_to_read",
    "load_profile",
    "load_profile_data",
    "load_profile_file",
    "merge_writes",
    "plugin_files",
    "record_type_id",
    "to_crm",
    "update_payload",
    "write_plugin",
]
