"""Sync health in the org: the run and issue objects every profile's plugin carries, and what staff should do.

Development staff live in Salesforce, so what `status` and `failures` tell an administrator is also written
to two custom objects (the NPSP Data Import pattern: every batch and every failed row is a record):

- `Ignite_Sync_Run__c`: one record per sync run that wrote anything;
- `Ignite_Sync_Issue__c`: one record per row not in the CRM as it should be (rejected, blocked, invalid),
  upserted on the row's key and step; staff set its Status to `Retry requested` to have it sent again.

They are the same in every profile, so they are declared here once and added to each profile's plugin when it
loads (`mappings.profile`): the export, the describe snapshots and the local CRM all pick them up from there.
"""

from __future__ import annotations

from mappings.spec import PluginField, PluginObject

RUN_OBJECT = "Ignite_Sync_Run__c"
ISSUE_OBJECT = "Ignite_Sync_Issue__c"
HEALTH_OBJECTS = (ISSUE_OBJECT, RUN_OBJECT)

OPEN, RETRY_REQUESTED, RESOLVED = "Open", "Retry requested", "Resolved"
ISSUE_STATUSES = (OPEN, RETRY_REQUESTED, RESOLVED)
PROBLEMS = {"rejected": "Rejected", "blocked": "Blocked", "invalid": "Invalid"}
# The same length as every other key field (mappings.profile.KEY_FIELD_LENGTH); longer issue keys (a row key
# and its step) are shortened with a hash (sync.health).
HEALTH_KEY_LENGTH = 80
MESSAGE_LENGTH = 4000

OBJECTS: dict[str, PluginObject] = {
    RUN_OBJECT: PluginObject(
        label="Ignite Sync Run",
        plural_label="Ignite Sync Runs",
        description="One Ignite sync run that wrote to the org: when, what it did, and the API calls it cost.",
        name_label="Run",
        name_format="RUN-{000000}",
    ),
    ISSUE_OBJECT: PluginObject(
        label="Ignite Sync Issue",
        plural_label="Ignite Sync Issues",
        description="A program record the org refused or that waits for a refused parent; set Status to "
        "Retry requested after fixing the cause and the next sync sends it again.",
        name_label="Issue",
        name_format="ISS-{000000}",
    ),
}


def _key(label: str) -> PluginField:
    return PluginField(
        type="Text",
        label=label,
        description="The sync's stable key for this record; it upserts on it.",
        length=HEALTH_KEY_LENGTH,
        external_id=True,
        unique=True,
        case_sensitive=True,
    )


def _count(label: str, description: str = "") -> PluginField:
    return PluginField(type="Number", label=label, description=description, precision=9, scale=0)


def _lookup(to: str) -> PluginField:
    return PluginField(
        type="Lookup",
        label=to,
        description=f"The {to} the issue is about, when the row is one and the org holds it.",
        reference_to=to,
        relationship_name="Ignite_Sync_Issues",
        relationship_label="Ignite Sync Issues",
    )


def fields(key_field: str) -> dict[str, dict[str, PluginField]]:
    """The two objects' fields; `key_field` is the profile's external-ID field name (Ignite_Key__c)."""
    run = {
        key_field: _key("Ignite Key"),
        "Mode__c": PluginField(type="Text", label="Mode", length=40, description="incremental, full or retry."),
        "Started__c": PluginField(type="DateTime", label="Started"),
        "Finished__c": PluginField(type="DateTime", label="Finished"),
        "Outcome__c": PluginField(
            type="Picklist",
            label="Outcome",
            values=("Succeeded", "Partial", "Retry", "Failed", "Interrupted"),
            restricted=False,
            description="Partial: some rows were refused or wait for a refused parent (see Ignite Sync Issues).",
        ),
        "Created__c": _count("Created"),
        "Updated__c": _count("Updated", "Records updated, including people matched by email and adopted."),
        "Unchanged__c": _count("Unchanged"),
        "Rejected__c": _count("Rejected"),
        "Blocked__c": _count("Blocked"),
        "Invalid__c": _count("Invalid"),
        "API_Calls__c": _count("API Calls", "Calls this run made, including writing its issues and this record."),
        "Org_API_Used__c": _count("Org API Requests Used", "The org's daily API requests used when the run ended."),
        "Org_API_Limit__c": _count("Org API Request Limit", "The org's daily API request allowance."),
        "Issues_Not_Written__c": _count(
            "Issues Not Written",
            "Issue records over the per-run limit; they are written by the next runs.",
        ),
    }
    issue = {
        key_field: _key("Ignite Key"),
        "Status__c": PluginField(
            type="Picklist",
            label="Status",
            values=ISSUE_STATUSES,
            description="Open: the sync retries on its own schedule. Retry requested: set by staff after "
            "fixing the cause; the next sync sends it at once. Resolved: the record is in the org.",
        ),
        "Problem__c": PluginField(type="Picklist", label="Problem", values=tuple(PROBLEMS.values())),
        "Object__c": PluginField(type="Text", label="Object", length=80),
        "Step__c": PluginField(type="Text", label="Sync Step", length=80),
        "Record_Key__c": PluginField(
            type="Text",
            label="Program Record Key",
            length=255,
            description="The program record's key (people are keyed by a hash, never by name or email).",
        ),
        "Record__c": PluginField(
            type="Text", label="Program Record", length=255, description="Which program record, without personal data."
        ),
        "CRM_Record_Id__c": PluginField(type="Text", label="CRM Record Id", length=18),
        "CRM_Record__c": PluginField(
            type="Text",
            label="CRM Record",
            formula='IF(ISBLANK(CRM_Record_Id__c), "", HYPERLINK("/" & CRM_Record_Id__c, "Open the record"))',
        ),
        "Contact__c": _lookup("Contact"),
        "Account__c": _lookup("Account"),
        "Opportunity__c": _lookup("Opportunity"),
        "Error_Code__c": PluginField(type="Text", label="Error Code", length=80),
        "Fields__c": PluginField(type="Text", label="Fields", length=255, description="The fields the org named."),
        "Message__c": PluginField(
            type="LongTextArea",
            label="Message",
            length=MESSAGE_LENGTH,
            description="The org's message (left out for survey answers, which it may echo).",
        ),
        "What_To_Do__c": PluginField(type="LongTextArea", label="What To Do", length=MESSAGE_LENGTH),
        "Blocked_By__c": PluginField(
            type="Text", label="Blocked By", length=255, description="The refused parent's key, for a blocked row."
        ),
        "First_Seen__c": PluginField(type="DateTime", label="First Seen"),
        "Last_Tried__c": PluginField(type="DateTime", label="Last Tried"),
        "Next_Retry__c": PluginField(type="DateTime", label="Next Retry"),
        "Attempts__c": _count("Attempts", "Consecutive refusals."),
        "Resolved_On__c": PluginField(type="DateTime", label="Resolved On"),
    }
    return {ISSUE_OBJECT: dict(sorted(issue.items())), RUN_OBJECT: dict(sorted(run.items()))}


# What staff can do about each error code, in plain words.  Salesforce has more codes; `what_to_do` falls back
# to a general hint, and the codes families (INSUFFICIENT_ACCESS_*) share one.
HINTS: dict[str, str] = {
    "REQUIRED_FIELD_MISSING": "The org requires a field the program data leaves empty. Fill it in the program "
    "data (or ask the admin to give the field a default), then set Status to Retry requested.",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "A validation rule in the org refused the record; the message is the "
    "rule's own text. Fix what the rule checks: a related record in Salesforce (such as the program's dates) "
    "or the program data, or ask the admin whether the rule should allow it. Then set Status to Retry "
    "requested.",
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": "The value is not in the field's picklist. Ask the admin to add "
    "the value to the picklist (Setup > Object Manager > the field), or correct the program data, then set "
    "Status to Retry requested.",
    "DUPLICATES_DETECTED": "A duplicate rule matched more than one existing record, so the sync could not tell "
    "which one is this person or organisation. Merge the duplicates in Salesforce, then set Status to Retry "
    "requested.",
    "ENTITY_IS_DELETED": "The record, or a parent it points to, was deleted or merged away in Salesforce. "
    "Undelete it from the Recycle Bin, or leave it deleted and set Status to Retry requested so the sync "
    "creates it again.",
    "INVALID_CROSS_REFERENCE_KEY": "A record this one points to is not in the org (deleted, merged, or never "
    "written). Set Status to Retry requested once the parent's own issue is resolved.",
    "INSUFFICIENT_ACCESS": "The integration user may not write this record or field. Ask the admin to assign "
    "the Ignite Sync permission set (or share the record with the integration user), then set Status to Retry "
    "requested.",
    "STRING_TOO_LONG": "A value is longer than the field allows. Shorten it in the program data, or ask the "
    "admin to lengthen the field, then set Status to Retry requested.",
    "BLOCKED_BY_PARENT": "Not sent because a record it belongs to was refused (see Blocked By). Fix that "
    "record's issue; this one is sent right after it.",
    "FIELD_INTEGRITY_EXCEPTION": "A value breaks a rule of the field itself (a lookup to the wrong kind of "
    "record, a date out of range, a state without its country). Correct the program data or ask the admin, "
    "then set Status to Retry requested.",
    "INVALID_FIELD": "The org lacks a field the sync writes: the plugin is not deployed, or a field was "
    "deleted. Ask the admin to deploy the Ignite plugin, then set Status to Retry requested.",
    "INVALID_EMAIL_ADDRESS": "The email address is not valid. Correct it in the program data; the sync sends "
    "it again when it changes.",
    "UNABLE_TO_LOCK_ROW": "Someone else was editing a related record. The sync tries again by itself.",
    "INVALID_VALUE": "The program data could not be turned into a record (see the message). Correct the program "
    "data; the sync sends it when it changes.",
}
GENERAL_HINT = (
    "The org refused this record; the message says why. Fix the cause in Salesforce or in the program data, "
    "then set Status to Retry requested."
)
# Error codes that mean the same to staff.
_ALIASES = {
    "ENTITY_IS_MERGED": "ENTITY_IS_DELETED",
    "CRM_RECORD_MISSING": "ENTITY_IS_DELETED",
    "CRM_RECORD_MERGED": "ENTITY_IS_DELETED",
    "DUPLICATE_VALUE": "DUPLICATES_DETECTED",
    "MAX_LENGTH_EXCEEDED": "STRING_TOO_LONG",
    "BLOCKED": "BLOCKED_BY_PARENT",
}


def what_to_do(code: str | None) -> str:
    """The plain-language hint for an error code (the INSUFFICIENT_ACCESS_* family shares one)."""
    code = (code or "").upper()
    if code.startswith("INSUFFICIENT_ACCESS"):
        code = "INSUFFICIENT_ACCESS"
    if code.startswith("INVALID_") and code.endswith("_PICKLIST") and code not in HINTS:
        code = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    code = _ALIASES.get(code, code)
    return HINTS.get(code, GENERAL_HINT)
