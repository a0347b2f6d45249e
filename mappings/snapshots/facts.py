"""What each kind of org has before the plugin is deployed, as describe JSON.

The packaged objects (PMM, NPSP, Nonprofit Cloud), the fields NPSP and PMM add to standard objects, the
standard-field lengths, the State and Country/Territory picklists and NPSP's record types all come from
`org_facts.json`, which `python -m mappings.snapshots.reference` generates from the reference metadata in
`sources/`; never edit those facts here.  What stays in this module is the skeleton of the standard objects the
reference does not describe field by field (system fields, required flags, default picklist values of a new
org, ContentVersion, RecordType, Task, Campaign); the reference's standard.json overlays its types, labels and
lengths on them.  The snapshots in this folder are generated from these facts plus each profile's plugin
(`python -m mappings.snapshots.generate`); tests keep both in step.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from mappings.snapshots.reference import GENERATED
from mappings.snapshots.shape import (
    Describe,
    compound_name,
    field,
    master_record,
    sobject,
    text_name,
)

# --- standard objects -------------------------------------------------------------------------------------


# --- standard objects -------------------------------------------------------------------------------------


def account() -> Describe:
    fields = [
        text_name(255, "Account Name"),
        field(
            "Type",
            "picklist",
            "Account Type",
            length=255,
            values=[
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Channel Partner / Reseller",
                "Installation Partner",
                "Technology Partner",
                "Other",
            ],
        ),
        field("ParentId", "reference", "Parent Account ID", ref="Account", rel="Parent"),
        field("BillingStreet", "textarea", length=255),
        field("BillingCity", "string", length=40),
        field("BillingState", "string", "Billing State/Province", length=80),
        field("BillingPostalCode", "string", "Billing Zip/Postal Code", length=20),
        field("BillingCountry", "string", length=80),
        field("Phone", "phone", "Account Phone"),
        field("Website", "url"),
        field("Description", "textarea", "Account Description", length=32000),
        master_record("Account"),
    ]
    return sobject("Account", "Account", "Accounts", "001", fields)


def contact() -> Describe:
    fields = [
        compound_name(),
        field("FirstName", "string", length=40),
        field("LastName", "string", length=80, required=True),
        field("Email", "email", length=80),
        field("Phone", "phone", "Business Phone"),
        field("MobilePhone", "phone", "Mobile Phone"),
        field("Title", "string", length=128),
        field("AccountId", "reference", "Account ID", ref="Account", rel="Account", child="Contacts"),
        field("MailingCity", "string", length=40),
        field("MailingState", "string", "Mailing State/Province", length=80),
        field("HasOptedOutOfEmail", "boolean", "Email Opt Out"),
        field("DoNotCall", "boolean", "Do Not Call"),
        field("Description", "textarea", "Contact Description", length=32000),
        master_record("Contact"),
    ]
    return sobject("Contact", "Contact", "Contacts", "003", fields)


STANDARD_STAGES = [
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
]


def opportunity() -> Describe:
    fields = [
        text_name(120, "Opportunity Name"),
        field("AccountId", "reference", "Account ID", ref="Account", rel="Account", child="Opportunities"),
        field("Amount", "currency", precision=18, scale=2),
        field(
            "StageName",
            "picklist",
            "Stage",
            length=255,
            required=True,
            restricted=True,
            values=STANDARD_STAGES,
        ),
        field("CloseDate", "date", "Close Date", required=True),
        field("Probability", "percent", "Probability (%)", precision=3, scale=0),
        field("Type", "picklist", "Opportunity Type", values=["New Business", "Existing Business"]),
        field("Description", "textarea", length=32000),
        field("IsClosed", "boolean", "Closed", create=False, update=False),
        field("IsWon", "boolean", "Won", create=False, update=False),
    ]
    return sobject("Opportunity", "Opportunity", "Opportunities", "006", fields)


def lead() -> Describe:
    fields = [
        compound_name(),
        field("FirstName", "string", length=40),
        field("LastName", "string", length=80, required=True),
        field("Company", "string", length=255, required=True),
        field("Email", "email"),
        field("Phone", "phone"),
        field("Title", "string", length=128),
        field("Street", "textarea", length=255),
        field("City", "string", length=40),
        field("State", "string", "State/Province", length=80),
        field("PostalCode", "string", "Zip/Postal Code", length=20),
        field("Country", "string", length=80),
        field(
            "LeadSource",
            "picklist",
            "Lead Source",
            values=["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"],
        ),
        field(
            "Status",
            "picklist",
            "Lead Status",
            required=True,
            picklist_default="Open - Not Contacted",
            values=["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"],
        ),
        field("Description", "textarea", length=32000),
        field("HasOptedOutOfEmail", "boolean", "Email Opt Out"),
        field("IsConverted", "boolean", "Converted", create=False, update=False),
        field("ConvertedContactId", "reference", "Converted Contact ID", ref="Contact", create=False, update=False),
        field("ConvertedAccountId", "reference", "Converted Account ID", ref="Account", create=False, update=False),
        master_record("Lead"),
    ]
    return sobject("Lead", "Lead", "Leads", "00Q", fields)


def task(what: Sequence[str]) -> Describe:
    fields = [
        field("Subject", "combobox", length=255, values=["Call", "Send Letter", "Send Quote", "Other"]),
        field("WhoId", "reference", "Name ID", ref=["Contact", "Lead"], rel="Who"),
        field("WhatId", "reference", "Related To ID", ref=sorted(what), rel="What"),
        field("ActivityDate", "date", "Due Date Only"),
        field(
            "Status",
            "picklist",
            required=True,
            picklist_default="Not Started",
            restricted=False,
            values=["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"],
        ),
        field("Priority", "picklist", required=True, picklist_default="Normal", values=["High", "Normal", "Low"]),
        field("Type", "picklist", values=["Call", "Email", "Meeting", "Other"]),
        field("Description", "textarea", "Comments", length=32000),
        field("IsClosed", "boolean", "Closed", create=False, update=False),
    ]
    return sobject("Task", "Task", "Tasks", "00T", fields)


def record_type(objects: Sequence[str]) -> Describe:
    fields = [
        text_name(80, "Record Type Name"),
        field("DeveloperName", "string", "Record Type Name", length=80, required=True),
        field(
            "SobjectType",
            "picklist",
            "SObject Type Name",
            length=40,
            required=True,
            restricted=True,
            values=sorted(objects),
            update=False,
        ),
        field("IsActive", "boolean", "Active"),
        field("Description", "string", length=255),
        field("NamespacePrefix", "string", length=15, create=False, update=False),
    ]
    return sobject("RecordType", "Record Type", "Record Types", "012", fields, owner=False)


def content_version(links: Sequence[str]) -> Describe:
    fields = [
        field("Title", "string", length=255, required=True),
        field("PathOnClient", "string", "Path On Client", length=500, required=True, update=False),
        field("VersionData", "base64", "Version Data", length=0, required=True, update=False),
        field(
            "ContentDocumentId",
            "reference",
            "ContentDocument ID",
            ref="ContentDocument",
            rel="ContentDocument",
            update=False,
            defaulted=True,
            required=True,
        ),
        field(
            "FirstPublishLocationId",
            "reference",
            "First Publish Location ID",
            ref=sorted(links),
            rel="FirstPublishLocation",
            update=False,
        ),
        field("Description", "textarea", length=1000),
        field("ReasonForChange", "string", "Reason For Change", length=1000),
        field("FileType", "string", "File Type", length=20, required=True, create=False, update=False, defaulted=True),
        field("FileExtension", "string", "File Extension", length=40, create=False, update=False),
        field("ContentSize", "int", "Size", create=False, update=False),
        field("IsLatest", "boolean", "Is Latest", create=False, update=False),
    ]
    return sobject("ContentVersion", "Content Version", "Content Versions", "068", fields)


def content_document_link(links: Sequence[str]) -> Describe:
    fields = [
        field(
            "LinkedEntityId",
            "reference",
            "Linked Entity ID",
            ref=sorted(links),
            rel="LinkedEntity",
            required=True,
            update=False,
        ),
        field(
            "ContentDocumentId",
            "reference",
            "ContentDocument ID",
            ref="ContentDocument",
            rel="ContentDocument",
            required=True,
            update=False,
        ),
        field(
            "ShareType",
            "picklist",
            "Share Type",
            length=40,
            required=True,
            picklist_default="V",
            restricted=True,
            values=["V", "C", "I"],
            value_labels={"V": "Viewer", "C": "Collaborator", "I": "Inferred"},
        ),
        field(
            "Visibility",
            "picklist",
            length=40,
            picklist_default="InternalUsers",
            restricted=True,
            values=["AllUsers", "InternalUsers", "SharedUsers"],
        ),
    ]
    return sobject(
        "ContentDocumentLink",
        "Content Document Link",
        "Content Document Links",
        "06A",
        fields,
        owner=False,
        audit=False,
    )


def campaign() -> Describe:
    fields = [
        text_name(80, "Campaign Name"),
        field("ParentId", "reference", "Parent Campaign ID", ref="Campaign", rel="Parent", child="ChildCampaigns"),
        field(
            "Type",
            "picklist",
            values=[
                "Conference",
                "Webinar",
                "Trade Show",
                "Public Relations",
                "Partners",
                "Referral Program",
                "Advertisement",
                "Banner Ads",
                "Direct Mail",
                "Email",
                "Telemarketing",
                "Other",
            ],
        ),
        field("Status", "picklist", values=["Planned", "In Progress", "Completed", "Aborted"]),
        field("StartDate", "date", "Start Date"),
        field("EndDate", "date", "End Date"),
        field("IsActive", "boolean", "Active"),
        field("Description", "textarea", length=32000),
        field("NumberOfContacts", "int", "Total Contacts in Campaign", create=False, update=False),
        field("NumberOfResponses", "int", "Responses in Campaign", create=False, update=False),
    ]
    return sobject("Campaign", "Campaign", "Campaigns", "701", fields)


def campaign_member() -> Describe:
    fields = [
        field(
            "CampaignId",
            "reference",
            "Campaign ID",
            ref="Campaign",
            rel="Campaign",
            required=True,
            update=False,
            child="CampaignMembers",
        ),
        field(
            "ContactId", "reference", "Contact ID", ref="Contact", rel="Contact", update=False, child="CampaignMembers"
        ),
        field("LeadId", "reference", "Lead ID", ref="Lead", rel="Lead", update=False, child="CampaignMembers"),
        field("Status", "picklist", length=40, defaulted=True, values=["Sent", "Responded"]),
        field("HasResponded", "boolean", "Responded", create=False, update=False),
        field("FirstRespondedDate", "date", "First Responded Date", create=False, update=False),
    ]
    return sobject("CampaignMember", "Campaign Member", "Campaign Members", "00v", fields, owner=False)


def campaign_member_status() -> Describe:
    fields = [
        field("CampaignId", "reference", "Campaign ID", ref="Campaign", rel="Campaign", required=True, update=False),
        field("Label", "string", "Member Status", length=765, required=True),
        field("IsDefault", "boolean", "Default"),
        field("HasResponded", "boolean", "Responded"),
        field("SortOrder", "int", "Sort Order"),
    ]
    return sobject(
        "CampaignMemberStatus", "Campaign Member Status", "Campaign Member Statuses", "01Y", fields, owner=False
    )


FLAVOURS = {"npsp_pmm": "npsp", "nonprofit_cloud": "npc", "salesforce_core": "core"}

# Plugin custom objects get fixed key prefixes, so every profile's snapshot agrees on them.
PLUGIN_KEY_PREFIXES = {
    "Ignite_Measure__c": "a0X",
    "Ignite_Cohort_Outcome__c": "a0Y",
    "Ignite_Session__c": "a0Z",
    "Ignite_Attendance__c": "a10",
    "Ignite_Survey_Response__c": "a11",
    "Ignite_Sync_Issue__c": "a12",
    "Ignite_Sync_Run__c": "a13",
}


@cache
def _org_facts() -> dict[str, Any]:
    return json.loads(GENERATED.read_text("utf-8"))  # type: ignore[no-any-return]


def org_facts() -> dict[str, Any]:
    """The generated facts (a fresh copy: callers may change it)."""
    return copy.deepcopy(_org_facts())


def _overlay(describe: Describe, standard: Sequence[Mapping[str, Any]], added: Sequence[dict[str, Any]]) -> None:
    """standard.json's type/label/length over the skeleton's fields (adding those the skeleton lacks), then
    package and address-picklist fields, in the order a describe lists them."""
    by_name = {f["name"]: f for f in describe["fields"]}
    for entry in standard:
        current = by_name.get(entry["name"])
        if current is None:
            if entry["type"] == "reference":
                continue  # standard.json does not say what a lookup points at; the skeleton must
            extra = {k: entry[k] for k in ("length", "precision", "scale") if k in entry}
            describe["fields"].append(field(entry["name"], entry["type"], entry["label"], **extra))
        else:
            current.update({k: v for k, v in entry.items() if k != "name"})
    for f in added:
        if f["name"] in by_name:
            raise ValueError(f"{describe['name']}.{f['name']} is both a skeleton field and a generated one")
        describe["fields"].append(f)
    system = [f for f in describe["fields"] if not f["custom"]]
    head = [f for f in system if f["name"] in _SYSTEM_ORDER]
    rest = sorted((f for f in system if f["name"] not in _SYSTEM_ORDER), key=lambda f: f["name"])
    custom = sorted((f for f in describe["fields"] if f["custom"]), key=lambda f: f["name"])
    describe["fields"] = head + rest + custom


_SYSTEM_ORDER = frozenset(
    {
        "Id",
        "IsDeleted",
        "CreatedDate",
        "CreatedById",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
        "OwnerId",
    }
)


def base_objects(flavour: str, link_targets: Sequence[str]) -> dict[str, Describe]:
    """Every object an org of this flavour has before the plugin (standard + packaged), by name."""
    facts = org_facts()
    objects = [account(), contact(), opportunity(), lead(), campaign(), campaign_member(), campaign_member_status()]
    if flavour == "npsp":
        objects += list(facts["objects"]["pmm"].values()) + list(facts["objects"]["npsp"].values())
    if flavour == "npc":
        objects += list(facts["objects"]["npc"].values())
    names = sorted({o["name"] for o in objects} | {"Task", "ContentVersion", "ContentDocumentLink", "RecordType"})
    objects += [
        task([t for t in link_targets if t not in ("Contact", "Lead")]),
        record_type([n for n in names if n not in ("RecordType", "ContentDocumentLink", "ContentVersion")]),
        content_version(link_targets),
        content_document_link(link_targets),
    ]
    result = {o["name"]: o for o in objects}
    for name, describe in result.items():
        added: list[dict[str, Any]] = list(facts["addressPicklists"].get(name, []))
        if flavour == "npsp":
            added += facts["packageFields"]["npsp"].get(name, []) + facts["packageFields"]["pmm"].get(name, [])
        standard = facts["standardFields"].get(name, [])
        if standard or added:
            _overlay(describe, standard, added)
    if flavour == "npsp":
        npsp = facts["npsp"]
        for name, infos in npsp["recordTypes"].items():
            _set_record_types(result[name], infos)
        stage = next(f for f in result["Opportunity"]["fields"] if f["name"] == "StageName")
        stage["picklistValues"] = [
            {"value": v, "label": v, "active": True, "defaultValue": False, "validFor": None}
            for v in npsp["opportunityStages"]
        ]
    return result


def _set_record_types(describe: Describe, infos: list[dict[str, Any]]) -> None:
    describe["recordTypeInfos"] = infos
    if not any(f["name"] == "RecordTypeId" for f in describe["fields"]):
        describe["fields"].append(
            field("RecordTypeId", "reference", "Record Type ID", ref="RecordType", rel="RecordType", defaulted=True)
        )
        _overlay(describe, [], [])
