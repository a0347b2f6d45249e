"""What each kind of org has before the plugin is deployed, restated from the reference as describe JSON.

Sources: ../shared/reference/salesforce-nonprofit-model.md (§1 PMM, §2 NPSP, §3 Nonprofit Cloud, §5 the
describe shape) and pmm-fields.json.  Standard-object field lengths follow Salesforce's field reference; facts
the reference marks unconfirmed (most Nonprofit Cloud picklist values, some NPC field names, key prefixes of
NPC objects) are best guesses here and are flagged `unconfirmed` in the profile, so `check-mapping --live`
settles them against a real org.  The snapshots in this folder are generated from these facts plus each
profile's plugin (`python -m mappings.snapshots.generate`); a test keeps them in step.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Describe = dict[str, Any]

# Metadata API field types → describe `type`.
METADATA_TYPES = {
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Number": "double",
    "Percent": "percent",
    "Currency": "currency",
    "Date": "date",
    "DateTime": "datetime",
    "Checkbox": "boolean",
    "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist",
    "Lookup": "reference",
    "Email": "email",
    "Phone": "phone",
    "Url": "url",
}
_DEFAULT_LENGTH = {
    "string": 255,
    "textarea": 255,
    "picklist": 255,
    "multipicklist": 4099,
    "reference": 18,
    "id": 18,
    "email": 80,
    "phone": 40,
    "url": 255,
    "combobox": 255,
}


def field(
    name: str,
    type_: str,
    label: str | None = None,
    *,
    length: int | None = None,
    precision: int | None = None,
    scale: int | None = None,
    required: bool = False,
    create: bool = True,
    update: bool = True,
    defaulted: bool = False,
    default: Any = None,
    ref: str | Sequence[str] | None = None,
    rel: str | None = None,
    child: str | None = None,
    values: Sequence[str] = (),
    value_labels: dict[str, str] | None = None,
    picklist_default: str | None = None,
    restricted: bool = False,
    formula: bool = False,
    external: bool = False,
    unique: bool = False,
    case_sensitive: bool = False,
    id_lookup: bool = False,
    auto_number: bool = False,
    name_field: bool = False,
    restrict_delete: bool = False,
    cascade_delete: bool = False,
) -> dict[str, Any]:
    """One describe field.  `required` means nillable false; a checkbox is never nillable and defaults."""
    kind = METADATA_TYPES.get(type_, type_)
    if kind == "boolean":
        required, defaulted = True, True
        default = bool(default) if default is not None else False
    if formula:
        create = update = False
    refs = [ref] if isinstance(ref, str) else list(ref or [])
    result: dict[str, Any] = {
        "name": name,
        "label": label or _label(name),
        "type": kind,
        "length": length if length is not None else _DEFAULT_LENGTH.get(kind, 0),
        "precision": precision if precision is not None else (18 if kind in ("double", "currency", "percent") else 0),
        "scale": scale if scale is not None else 0,
        "digits": 9 if kind == "int" else 0,
        "nillable": not required,
        "createable": create,
        "updateable": update,
        "defaultedOnCreate": defaulted or picklist_default is not None or default is not None,
        "defaultValue": default if default is not None else picklist_default,
        "calculated": formula,
        "autoNumber": auto_number,
        "custom": name.endswith("__c"),
        "nameField": name_field,
        "externalId": external,
        "unique": unique,
        "caseSensitive": case_sensitive,
        "idLookup": id_lookup or external or kind == "id",
        "restrictedPicklist": restricted,
        "picklistValues": [
            {
                "value": v,
                "label": (value_labels or {}).get(v, v),
                "active": True,
                "defaultValue": v == picklist_default,
                "validFor": None,
            }
            for v in values
        ],
        "referenceTo": refs,
        "relationshipName": rel if rel is not None else (_relationship(name) if refs else None),
        "polymorphicForeignKey": len(refs) > 1,
        "cascadeDelete": cascade_delete,
        "restrictedDelete": restrict_delete,
    }
    if child is not None:
        result["x_childRelationshipName"] = child
    return result


def _label(name: str) -> str:
    base = name.split("__")[1] if name.count("__") == 2 else name.removesuffix("__c")
    base = base.removesuffix("Id") if base.endswith("Id") and base != "Id" else base
    words: list[str] = []
    for part in base.replace("_", " ").split():
        out = ""
        for i, ch in enumerate(part):
            if i and ch.isupper() and not part[i - 1].isupper():
                out += " "
            out += ch
        words.append(out)
    return " ".join(words)


def _relationship(name: str) -> str:
    if name.endswith("__c"):
        return name[:-3] + "__r"
    return name[:-2] if name.endswith("Id") else name


def system_fields(*, owner: bool = True, audit: bool = True) -> list[dict[str, Any]]:
    """Fields every object has (Id, IsDeleted, SystemModstamp) and most have (audit fields, OwnerId)."""
    result = [
        field("Id", "id", "Record ID", required=True, create=False, update=False, defaulted=True),
        field("IsDeleted", "boolean", "Deleted", create=False, update=False),
    ]
    if audit:
        result += [
            field("CreatedDate", "datetime", "Created Date", required=True, create=False, update=False, defaulted=True),
            field(
                "CreatedById",
                "reference",
                "Created By ID",
                required=True,
                create=False,
                update=False,
                defaulted=True,
                ref="User",
                rel="CreatedBy",
            ),
            field(
                "LastModifiedDate",
                "datetime",
                "Last Modified Date",
                required=True,
                create=False,
                update=False,
                defaulted=True,
            ),
            field(
                "LastModifiedById",
                "reference",
                "Last Modified By ID",
                required=True,
                create=False,
                update=False,
                defaulted=True,
                ref="User",
                rel="LastModifiedBy",
            ),
        ]
    result.append(
        field(
            "SystemModstamp", "datetime", "System Modstamp", required=True, create=False, update=False, defaulted=True
        )
    )
    if owner:
        result.append(
            field("OwnerId", "reference", "Owner ID", required=True, defaulted=True, ref=["Group", "User"], rel="Owner")
        )
    return result


def text_name(
    length: int = 80, label: str = "Name", *, required: bool = True, defaulted: bool = False
) -> dict[str, Any]:
    return field(
        "Name", "string", label, length=length, required=required, defaulted=defaulted, name_field=True, id_lookup=True
    )


def custom_name(label: str = "Name") -> dict[str, Any]:
    """A custom object's Text Name: required in describe, but filled with the record Id when left out."""
    return text_name(80, label, defaulted=True)


def auto_name(label: str = "Name") -> dict[str, Any]:
    return field(
        "Name",
        "string",
        label,
        length=80,
        required=True,
        create=False,
        update=False,
        defaulted=True,
        auto_number=True,
        name_field=True,
        id_lookup=True,
    )


def compound_name(length: int = 121) -> dict[str, Any]:
    return field(
        "Name",
        "string",
        "Full Name",
        length=length,
        required=True,
        create=False,
        update=False,
        defaulted=True,
        name_field=True,
    )


MASTER_RECORD_TYPE = "012000000000000AAA"


def record_type_infos(types: Iterable[tuple[str, str, str]] = (), default: str | None = None) -> list[dict[str, Any]]:
    """(developer name, label, id) per record type; Master is always present, as in a real describe."""
    infos = [
        {
            "name": label,
            "developerName": dev,
            "recordTypeId": rt_id,
            "active": True,
            "available": True,
            "defaultRecordTypeMapping": dev == default,
            "master": False,
        }
        for dev, label, rt_id in types
    ]
    infos.append(
        {
            "name": "Master",
            "developerName": "Master",
            "recordTypeId": MASTER_RECORD_TYPE,
            "active": True,
            "available": not infos,
            "defaultRecordTypeMapping": not infos,
            "master": True,
        }
    )
    return infos


def sobject(
    name: str,
    label: str,
    plural: str,
    key_prefix: str,
    fields: Iterable[dict[str, Any]],
    *,
    owner: bool = True,
    audit: bool = True,
    record_types: list[dict[str, Any]] | None = None,
    createable: bool = True,
) -> Describe:
    own = list(fields)
    if record_types is not None and len(record_types) > 1:
        own.append(
            field("RecordTypeId", "reference", "Record Type ID", ref="RecordType", rel="RecordType", defaulted=True)
        )
    all_fields = system_fields(owner=owner, audit=audit) + sorted(own, key=lambda f: f["name"])
    names = [f["name"] for f in all_fields]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{name} declares {sorted(duplicates)} twice")
    return {
        "name": name,
        "label": label,
        "labelPlural": plural,
        "keyPrefix": key_prefix,
        "custom": name.endswith("__c"),
        "createable": createable,
        "updateable": createable,
        "deletable": createable,
        "queryable": True,
        "fields": all_fields,
        "recordTypeInfos": record_types if record_types is not None else record_type_infos(),
        "childRelationships": [],
    }


def master_record(object_name: str) -> dict[str, Any]:
    """Objects staff can merge (Account, Contact, Lead) keep each merged-away record, deleted, pointing here."""
    return field(
        "MasterRecordId",
        "reference",
        "Master Record ID",
        ref=object_name,
        rel="MasterRecord",
        create=False,
        update=False,
    )


# --- standard objects -------------------------------------------------------------------------------------

US_STATE_NOTE = "State is plain text: State and Country picklists are off in the reference org."


def account(flavour: str) -> Describe:
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
    record_types = None
    if flavour == "npsp":
        fields += [
            field("npe01__One2OneContact__c", "Lookup", "Primary Contact", ref="Contact"),
            field("npe01__SYSTEMIsIndividual__c", "Checkbox", "_SYSTEM: IsIndividual"),
            field("npe01__SYSTEM_AccountType__c", "Text", "_SYSTEM: AccountType", length=100),
            field("npsp__Grantmaker__c", "Checkbox", "Grantmaker"),
            field(
                "npsp__Number_of_Household_Members__c", "Number", "Number of Household Members", precision=10, scale=0
            ),
        ]
        record_types = record_type_infos(
            [
                ("HH_Account", "Household Account", "012000000000001AAA"),
                ("Organization", "Organization", "012000000000002AAA"),
            ],
            default="Organization",
        )
    return sobject("Account", "Account", "Accounts", "001", fields, record_types=record_types)


def contact(flavour: str) -> Describe:
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
    if flavour == "npsp":
        fields += [
            field("npe01__HomeEmail__c", "Email", "Personal Email"),
            field("npe01__WorkEmail__c", "Email", "Work Email"),
            field("npe01__AlternateEmail__c", "Email", "Alternate Email"),
            field(
                "npe01__Preferred_Email__c",
                "Picklist",
                "Preferred Email",
                values=["Personal", "Work", "Alternate"],
                picklist_default="Personal",
            ),
            field(
                "npe01__PreferredPhone__c",
                "Picklist",
                "Preferred Phone",
                values=["Home", "Work", "Mobile", "Other"],
                picklist_default="Home",
            ),
            field("npe01__WorkPhone__c", "Phone", "Work Phone"),
            field("npsp__Primary_Affiliation__c", "Lookup", "Primary Affiliation", ref="Account"),
            field("npsp__Do_Not_Contact__c", "Checkbox", "Do Not Contact"),
            field("npsp__Deceased__c", "Checkbox", "Deceased"),
            # PMM's roll-ups on Contact: maintained by its ServiceDelivery trigger, never by a sync.
            field("pmdm__AttendanceRate__c", "Percent", "Attendance Rate", precision=18, scale=0, formula=True),
            field("pmdm__AttendanceSummary__c", "Text", "Attendance Summary", length=1300, formula=True),
            field("pmdm__ConsecutiveAbsences__c", "Number", "Consecutive Absences", precision=18, scale=0),
            field(
                "pmdm__NumAbsentServiceDeliveries__c",
                "Number",
                "Number of Absent Service Deliveries",
                precision=18,
                scale=0,
            ),
            field(
                "pmdm__NumPresentServiceDeliveries__c",
                "Number",
                "Number of Present Service Deliveries",
                precision=18,
                scale=0,
            ),
            field("pmdm__LastServiceDate__c", "Date", "Last Service Date"),
            field("pmdm__IsClient__c", "Checkbox", "Client"),
        ]
    return sobject("Contact", "Contact", "Contacts", "003", fields)


NPSP_STAGES = [
    "Prospecting",
    "LOI Submitted",
    "Application Submitted",
    "Awarded",
    "Withdrawn",
    "Pledged",
    "Closed Won",
    "Closed Lost",
]
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


def opportunity(flavour: str) -> Describe:
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
            values=NPSP_STAGES if flavour == "npsp" else STANDARD_STAGES,
        ),
        field("CloseDate", "date", "Close Date", required=True),
        field("Probability", "percent", "Probability (%)", precision=3, scale=0),
        field("Type", "picklist", "Opportunity Type", values=["New Business", "Existing Business"]),
        field("Description", "textarea", length=32000),
        field("IsClosed", "boolean", "Closed", create=False, update=False),
        field("IsWon", "boolean", "Won", create=False, update=False),
    ]
    record_types = None
    if flavour == "npsp":
        fields += [
            field("npsp__Grant_Period_Start_Date__c", "Date", "Grant Period Start Date"),
            field("npsp__Grant_Period_End_Date__c", "Date", "Grant Period End Date"),
            field("npsp__Grant_Requirements_Website__c", "Url", "Grant Requirements Website"),
            field("npsp__Grant_Contract_Date__c", "Date", "Grant Contract Date"),
            field("npsp__Grant_Contract_Number__c", "Text", "Grant Contract Number", length=255),
            field("npsp__Grant_Program_Area_s__c", "TextArea", "Program Areas", length=255),
            field("npsp__Is_Grant_Renewal__c", "Checkbox", "Is Grant Renewal"),
            field("npsp__Previous_Grant_Opportunity__c", "Lookup", "Previous Grant Opportunity", ref="Opportunity"),
            field("npsp__Requested_Amount__c", "Currency", "Requested Amount", precision=18, scale=2),
            field("npsp__Next_Grant_Deadline_Due_Date__c", "Date", "Next Deadline Due Date", formula=True),
            field("npsp__Primary_Contact__c", "Lookup", "Primary Contact", ref="Contact"),
        ]
        record_types = record_type_infos(
            [
                ("Donation", "Donation", "012000000000003AAA"),
                ("Grant", "Grant", "012000000000004AAA"),
                ("InKindGift", "In-Kind Gift", "012000000000005AAA"),
                ("MajorGift", "Major Gift", "012000000000006AAA"),
                ("MatchingGift", "Matching Gift", "012000000000007AAA"),
                ("Membership", "Membership", "012000000000008AAA"),
                ("NPSP_Default", "NPSP Default", "012000000000009AAA"),
            ],
            default="Donation",
        )
    return sobject("Opportunity", "Opportunity", "Opportunities", "006", fields, record_types=record_types)


def lead(flavour: str) -> Describe:
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
    if flavour == "npsp":
        fields += [
            field("npe01__Preferred_Email__c", "Picklist", "Preferred Email", values=["Personal", "Work", "Alternate"]),
            field(
                "npe01__Preferred_Phone__c", "Picklist", "Preferred Phone", values=["Home", "Work", "Mobile", "Other"]
            ),
            field("npsp__CompanyCity__c", "Text", "Company City", length=255),
            field("npsp__CompanyState__c", "Text", "Company State", length=255),
            field("npsp__CompanyPostalCode__c", "Text", "Company Postal Code", length=255),
            field("npsp__CompanyCountry__c", "Text", "Company Country", length=255),
            field("npsp__CompanyStreet__c", "TextArea", "Company Street", length=255),
        ]
    return sobject("Lead", "Lead", "Leads", "00Q", fields)


def task(flavour: str, what: Sequence[str]) -> Describe:
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


# --- PMM (pmdm) -----------------------------------------------------------------------------------------

_STATUS4 = ["Planned", "Active", "Completed", "Canceled"]


def _pmm(name: str, label: str, plural: str, prefix: str, fields: list[dict[str, Any]]) -> Describe:
    return sobject(name, label, plural, prefix, [custom_name(f"{label} Name"), *fields])


def _rollups() -> list[dict[str, Any]]:
    return [
        field("pmdm__AttendanceRate__c", "Percent", "Attendance Rate", precision=18, scale=0, formula=True),
        field("pmdm__AttendanceSummary__c", "Text", "Attendance Summary", length=1300, formula=True),
        field(
            "pmdm__NumAbsentServiceDeliveries__c",
            "Number",
            "Number of Absent Service Deliveries",
            precision=18,
            scale=0,
        ),
        field(
            "pmdm__NumPresentServiceDeliveries__c",
            "Number",
            "Number of Present Service Deliveries",
            precision=18,
            scale=0,
        ),
    ]


def pmm_objects() -> list[Describe]:
    return [
        _pmm(
            "pmdm__Program__c",
            "Program",
            "Programs",
            "a0A",
            [
                field("pmdm__Description__c", "LongTextArea", "Description", length=32768),
                field("pmdm__EndDate__c", "Date", "End Date"),
                field(
                    "pmdm__ProgramIssueArea__c",
                    "Picklist",
                    "Program Issue Area",
                    restricted=True,
                    values=[
                        "Housing",
                        "Employment",
                        "Education",
                        "Legal",
                        "Counseling",
                        "Food and Nutrition",
                        "Advocacy",
                    ],
                ),
                field("pmdm__ShortSummary__c", "Text", "Short Summary", length=255),
                field("pmdm__StartDate__c", "Date", "Start Date"),
                field("pmdm__Status__c", "Picklist", "Status", required=True, restricted=True, values=_STATUS4),
                field("pmdm__TargetPopulation__c", "LongTextArea", "Target Population", length=32768),
            ],
        ),
        _pmm(
            "pmdm__ProgramCohort__c",
            "Program Cohort",
            "Program Cohorts",
            "a0B",
            [
                field("pmdm__Description__c", "LongTextArea", "Description", length=32768),
                field("pmdm__EndDate__c", "Date", "End Date"),
                field(
                    "pmdm__Program__c",
                    "Lookup",
                    "Program",
                    required=True,
                    ref="pmdm__Program__c",
                    child="pmdm__ProgramCohorts__r",
                    restrict_delete=True,
                ),
                field("pmdm__StartDate__c", "Date", "Start Date"),
                field("pmdm__Status__c", "Picklist", "Status", required=True, restricted=True, values=_STATUS4),
            ],
        ),
        _pmm(
            "pmdm__ProgramEngagement__c",
            "Program Engagement",
            "Program Engagements",
            "a0C",
            [
                field("pmdm__Account__c", "Lookup", "Account", ref="Account", child="pmdm__Program_Engagements__r"),
                field("pmdm__ApplicationDate__c", "Date", "Application Date"),
                field("pmdm__AutoName_Override__c", "Checkbox", "AutoName Override"),
                field("pmdm__ConsecutiveAbsences__c", "Number", "Consecutive Absences", precision=18, scale=0),
                field(
                    "pmdm__Contact__c",
                    "Lookup",
                    "Contact",
                    ref="Contact",
                    child="pmdm__Program_Engagements__r",
                    restrict_delete=True,
                ),
                field("pmdm__CurrentUserOwner__c", "Checkbox", "Current User Owner", formula=True),
                field("pmdm__EndDate__c", "Date", "End Date"),
                field("pmdm__LastServiceDate__c", "Date", "Last Service Date"),
                field(
                    "pmdm__ProgramCohort__c",
                    "Lookup",
                    "Program Cohort",
                    ref="pmdm__ProgramCohort__c",
                    child="pmdm__ProgramEngagements__r",
                ),
                field(
                    "pmdm__Program__c",
                    "Lookup",
                    "Program",
                    required=True,
                    ref="pmdm__Program__c",
                    child="pmdm__Program_Engagements__r",
                    restrict_delete=True,
                ),
                field(
                    "pmdm__Role__c",
                    "Picklist",
                    "Role",
                    restricted=True,
                    values=["Client", "Volunteer", "Service Provider"],
                ),
                field(
                    "pmdm__Stage__c",
                    "Picklist",
                    "Stage",
                    restricted=True,
                    values=[
                        "Applied",
                        "Application Denied",
                        "Waitlisted",
                        "Enrolled",
                        "Active",
                        "Completed",
                        "Withdrawn",
                    ],
                ),
                field("pmdm__StartDate__c", "Date", "Start Date"),
                *_rollups(),
            ],
        ),
        _pmm(
            "pmdm__Service__c",
            "Service",
            "Services",
            "a0D",
            [
                field(
                    "pmdm__AttendanceFieldSet__c",
                    "Picklist",
                    "Attendance Field Set",
                    restricted=True,
                    values=["Attendance_Service_Deliveries"],
                    picklist_default="Attendance_Service_Deliveries",
                    value_labels={"Attendance_Service_Deliveries": "Attendance Service Deliveries"},
                ),
                field("pmdm__Description__c", "Text", "Description", length=255),
                field(
                    "pmdm__Program__c",
                    "Lookup",
                    "Program",
                    required=True,
                    ref="pmdm__Program__c",
                    child="pmdm__Services__r",
                    restrict_delete=True,
                ),
                field(
                    "pmdm__ServiceDeliveryFieldSet__c",
                    "Picklist",
                    "Service Delivery Field Set",
                    restricted=True,
                    values=["Bulk_Service_Deliveries"],
                    picklist_default="Bulk_Service_Deliveries",
                    value_labels={"Bulk_Service_Deliveries": "Bulk Service Deliveries"},
                ),
                field(
                    "pmdm__Status__c", "Picklist", "Status", restricted=True, values=_STATUS4, picklist_default="Active"
                ),
                field("pmdm__UnitOfMeasurement__c", "Text", "Unit of Measurement", length=255),
                *_rollups(),
            ],
        ),
        _pmm(
            "pmdm__ServiceSchedule__c",
            "Service Schedule",
            "Service Schedules",
            "a0E",
            [
                field("pmdm__AllDay__c", "Checkbox", "All Day"),
                field(
                    "pmdm__CreateServiceSessionRecords__c", "Checkbox", "Create Service Session Records", default=True
                ),
                field(
                    "pmdm__DaysOfWeek__c",
                    "MultiselectPicklist",
                    "Days of Week",
                    restricted=True,
                    values=["1", "2", "3", "4", "5", "6", "7"],
                    value_labels={"1": "Sun", "2": "Mon", "3": "Tue", "4": "Wed", "5": "Thu", "6": "Fri", "7": "Sat"},
                ),
                field("pmdm__DefaultServiceQuantity__c", "Number", "Default Service Quantity", precision=16, scale=2),
                field("pmdm__FirstSessionEnd__c", "DateTime", "First Session End"),
                field("pmdm__FirstSessionStart__c", "DateTime", "First Session Start", defaulted=True),
                field(
                    "pmdm__Frequency__c",
                    "Picklist",
                    "Frequency",
                    restricted=True,
                    values=["Daily", "Weekly", "Monthly", "One Time"],
                    picklist_default="One Time",
                ),
                field("pmdm__Interval__c", "Number", "Interval", precision=4, scale=0, default=1),
                field(
                    "pmdm__MonthlyRecurrenceOption__c",
                    "Picklist",
                    "Monthly Recurrence Option",
                    restricted=True,
                    values=["LastDayOfMonth"]
                    + [f"{n}{d}" for d in ("MO", "TU", "WE", "TH", "FR", "SA", "SU") for n in range(1, 6)],
                ),
                field("pmdm__NumberOfServiceSessions__c", "Number", "Number of Service Sessions", precision=4, scale=0),
                field(
                    "pmdm__OtherServiceProvider__c",
                    "Lookup",
                    "Other Service Provider",
                    ref="Contact",
                    child="pmdm__OtherServiceProviderSchedules__r",
                ),
                field("pmdm__ParticipantCapacity__c", "Number", "Participant Capacity", precision=18, scale=0),
                field("pmdm__ParticipantsEnrolled__c", "Number", "Participants Enrolled", precision=18, scale=0),
                field(
                    "pmdm__PrimaryServiceProvider__c",
                    "Lookup",
                    "Primary Service Provider",
                    ref="Contact",
                    child="pmdm__PrimaryServiceProviderSchedules__r",
                ),
                field("pmdm__ServiceScheduleEndDate__c", "Date", "Service Schedule End Date"),
                field("pmdm__ServiceScheduleEnds__c", "Picklist", "Service Schedule Ends", values=["On", "After"]),
                field(
                    "pmdm__Service__c", "Lookup", "Service", ref="pmdm__Service__c", child="pmdm__ServiceSchedules__r"
                ),
                *_rollups(),
            ],
        ),
        _pmm(
            "pmdm__ServiceSession__c",
            "Service Session",
            "Service Sessions",
            "a0F",
            [
                field("pmdm__OmittedContactIds__c", "LongTextArea", "Omitted Contact Ids", length=131072),
                field(
                    "pmdm__OtherServiceProvider__c",
                    "Lookup",
                    "Other Service Provider",
                    ref="Contact",
                    child="pmdm__OtherServiceProviderSessions__r",
                ),
                field(
                    "pmdm__PrimaryServiceProvider__c",
                    "Lookup",
                    "Primary Service Provider",
                    ref="Contact",
                    child="pmdm__PrimaryServiceProviderSessions__r",
                ),
                field("pmdm__ServiceLink__c", "Text", "Service", length=1300, formula=True),
                field(
                    "pmdm__ServiceSchedule__c",
                    "Lookup",
                    "Service Schedule",
                    ref="pmdm__ServiceSchedule__c",
                    child="pmdm__ServiceSessions__r",
                ),
                field("pmdm__SessionEnd__c", "DateTime", "Session End"),
                field("pmdm__SessionStart__c", "DateTime", "Session Start"),
                field(
                    "pmdm__Status__c",
                    "Picklist",
                    "Status",
                    restricted=True,
                    values=["Pending", "Complete", "Canceled"],
                    picklist_default="Pending",
                ),
                *_rollups(),
            ],
        ),
        _pmm(
            "pmdm__ServiceParticipant__c",
            "Service Participant",
            "Service Participants",
            "a0G",
            [
                field("pmdm__Contact__c", "Lookup", "Contact", ref="Contact", child="pmdm__ServiceParticipants__r"),
                field(
                    "pmdm__ProgramEngagement__c",
                    "Lookup",
                    "Program Engagement",
                    ref="pmdm__ProgramEngagement__c",
                    child="pmdm__ServiceParticipants__r",
                ),
                field(
                    "pmdm__ServiceSchedule__c",
                    "Lookup",
                    "Service Schedule",
                    ref="pmdm__ServiceSchedule__c",
                    child="pmdm__ServiceParticipants__r",
                ),
                field(
                    "pmdm__Service__c",
                    "Lookup",
                    "Service",
                    ref="pmdm__Service__c",
                    child="pmdm__ServiceParticipants__r",
                ),
                field("pmdm__SignUpDate__c", "Date", "Sign Up Date", defaulted=True),
                field(
                    "pmdm__Status__c",
                    "Picklist",
                    "Status",
                    restricted=True,
                    values=["Waitlisted", "Enrolled", "Withdrawn"],
                    picklist_default="Enrolled",
                ),
            ],
        ),
        _pmm(
            "pmdm__ServiceDelivery__c",
            "Service Delivery",
            "Service Deliveries",
            "a0H",
            [
                field("pmdm__Account__c", "Lookup", "Account", ref="Account", child="pmdm__ServiceDeliveries__r"),
                field(
                    "pmdm__AttendanceStatus__c",
                    "Picklist",
                    "Attendance Status",
                    restricted=True,
                    values=["Present", "Unexcused Absence", "Excused Absence"],
                ),
                field("pmdm__AutonameOverride__c", "Checkbox", "Autoname Override"),
                field(
                    "pmdm__Contact__c",
                    "Lookup",
                    "Client",
                    ref="Contact",
                    child="pmdm__Service_Deliveries__r",
                    restrict_delete=True,
                ),
                field("pmdm__DeliveryDate__c", "Date", "Delivery Date", defaulted=True),
                field("pmdm__HouseholdBenefit__c", "Checkbox", "Household Benefit", formula=True),
                field(
                    "pmdm__ProgramEngagement__c",
                    "Lookup",
                    "Program Engagement",
                    ref="pmdm__ProgramEngagement__c",
                    child="pmdm__ServiceDeliveries__r",
                    restrict_delete=True,
                ),
                field("pmdm__Quantity__c", "Number", "Quantity", precision=16, scale=2),
                field("pmdm__ServiceSchedule__c", "Text", "Service Schedule", length=1300, formula=True),
                field(
                    "pmdm__ServiceSession__c",
                    "Lookup",
                    "Service Session",
                    ref="pmdm__ServiceSession__c",
                    child="pmdm__ServiceDeliveries__r",
                ),
                field(
                    "pmdm__Service_Provider__c",
                    "Lookup",
                    "Service Provider",
                    ref="Contact",
                    child="pmdm__ServiceDeliveries__r",
                ),
                field(
                    "pmdm__Service__c",
                    "Lookup",
                    "Service",
                    required=True,
                    ref="pmdm__Service__c",
                    child="pmdm__ServiceDeliveries__r",
                    restrict_delete=True,
                ),
                field("pmdm__UnitOfMeasurement__c", "Text", "Unit of Measurement", length=1300, formula=True),
            ],
        ),
    ]


# --- Nonprofit Cloud (standard objects, no namespace) -----------------------------------------------------
# Key prefixes of NPC objects are not in the reference; these are placeholders that only need to be distinct.


def _npc(
    name: str, label: str, plural: str, prefix: str, fields: list[dict[str, Any]], *, auto: bool = False
) -> Describe:
    name_field = auto_name(f"{label} Name") if auto else text_name(255, f"{label} Name")
    return sobject(name, label, plural, prefix, [name_field, *fields])


def npc_objects() -> list[Describe]:
    return [
        _npc(
            "Program",
            "Program",
            "Programs",
            "1pR",
            [
                field("StartDate", "date", "Start Date"),
                field("EndDate", "date", "End Date"),
                field("Status", "picklist", length=40, values=["Active", "Cancelled", "Completed", "Planned"]),
                field("Summary", "string", length=100),
                field("AdditionalContext", "textarea", "Additional Context", length=5000),
                field("ParentProgramId", "reference", "Parent Program ID", ref="Program", rel="ParentProgram"),
                field("ActiveEnrolleeCount", "int", "Active Enrollee Count", create=False, update=False),
                field("TotalEnrolleeCount", "int", "Total Enrollee Count", create=False, update=False),
            ],
        ),
        _npc(
            "ProgramCohort",
            "Program Cohort",
            "Program Cohorts",
            "1pC",
            [
                field(
                    "ProgramId", "reference", "Program ID", ref="Program", rel="Program", required=True, update=False
                ),
                field("StartDate", "date", "Start Date"),
                field("EndDate", "date", "End Date"),
                field("Description", "textarea", length=32000),
                field("MaximumMemberCount", "int", "Maximum Member Count"),
                field("CurrentMemberCount", "int", "Current Member Count", formula=True),
                field("Status", "picklist", values=_STATUS4, restricted=True),
            ],
        ),
        _npc(
            "ProgramEnrollment",
            "Program Enrollment",
            "Program Enrollments",
            "1pE",
            [
                field(
                    "ProgramId", "reference", "Program ID", ref="Program", rel="Program", required=True, update=False
                ),
                field("ContactId", "reference", "Contact ID", ref="Contact", rel="Contact"),
                field("AccountId", "reference", "Account ID", ref="Account", rel="Account"),
                field("ApplicationDate", "date", "Application Date"),
                field("StartDate", "date", "Start Date"),
                field("EndDate", "date", "End Date"),
                field(
                    "Status",
                    "picklist",
                    length=40,
                    picklist_default="Applied",
                    values=["Applied", "Completed", "Denied", "In Progress", "Waitlisted", "Withdrawn"],
                ),
                field("IsActive", "boolean", "Active", create=False, update=False),
                field(
                    "SessionAttendanceRate",
                    "percent",
                    "Session Attendance Rate",
                    precision=5,
                    scale=2,
                    create=False,
                    update=False,
                ),
            ],
        ),
        _npc(
            "ProgramCohortMember",
            "Program Cohort Member",
            "Program Cohort Members",
            "1pM",
            [
                field(
                    "ProgramCohortId",
                    "reference",
                    "Program Cohort ID",
                    ref="ProgramCohort",
                    rel="ProgramCohort",
                    required=True,
                    update=False,
                ),
                field(
                    "ProgramEnrollmentId",
                    "reference",
                    "Program Enrollment ID",
                    ref="ProgramEnrollment",
                    rel="ProgramEnrollment",
                    required=True,
                ),
                field("IsRemovedFromCohort", "boolean", "Removed From Cohort"),
            ],
            auto=True,
        ),
        _npc(
            "BenefitType",
            "Benefit Type",
            "Benefit Types",
            "1bT",
            [
                field("Description", "string"),
                # Required, and no values ship: an admin adds the org's categories (the profile's "Ignite Forum").
                field("Category", "picklist", required=True),
                field(
                    "ProcessType",
                    "picklist",
                    "Process Type",
                    required=True,
                    restricted=True,
                    values=["Program Management"],
                ),
                field("Type", "picklist", restricted=True, values=["Goods", "Monetary", "Service"]),
            ],
        ),
        _npc(
            "Benefit",
            "Benefit",
            "Benefits",
            "1bB",
            [
                field(
                    "BenefitTypeId",
                    "reference",
                    "Benefit Type ID",
                    ref="BenefitType",
                    rel="BenefitType",
                    required=True,
                    update=False,
                    cascade_delete=True,
                ),
                field("ProgramId", "reference", "Program ID", ref="Program", rel="Program"),
                field(
                    "BenefitStatus",
                    "picklist",
                    "Status",
                    restricted=True,
                    picklist_default="Active",
                    values=["Active", "Cancelled", "Completed", "Planned"],
                ),
                field("Description", "textarea", length=32000),
            ],
        ),
        _npc(
            "BenefitSchedule",
            "Benefit Schedule",
            "Benefit Schedules",
            "1bH",
            [
                field(
                    "BenefitId",
                    "reference",
                    "Benefit ID",
                    ref="Benefit",
                    rel="Benefit",
                    required=True,
                    update=False,
                    cascade_delete=True,
                ),
                field(
                    "DefaultBenefitQuantity", "double", "Default Benefit Quantity", precision=8, scale=2, required=True
                ),
                field("FirstSessionStartDateTime", "datetime", "First Session Start Date Time", required=True),
                field("FirstSessionEndDateTime", "datetime", "First Session End Date Time", required=True),
                field("MaximumParticipantCount", "int", "Maximum Participant Count"),
                field("Description", "textarea", length=1000),
            ],
        ),
        _npc(
            "BenefitSession",
            "Benefit Session",
            "Benefit Sessions",
            "1bS",
            [
                field(
                    "BenefitScheduleId",
                    "reference",
                    "Benefit Schedule ID",
                    ref="BenefitSchedule",
                    rel="BenefitSchedule",
                    required=True,
                    update=False,
                    cascade_delete=True,
                ),
                field("StartDateTime", "datetime", "Start Date Time", required=True),
                field("EndDateTime", "datetime", "End Date Time", required=True),
                field(
                    "Status",
                    "picklist",
                    length=40,
                    required=True,
                    restricted=True,
                    values=["Cancelled", "Completed", "Postponed", "Scheduled"],
                ),
            ],
        ),
        _npc(
            "BenefitAssignment",
            "Benefit Assignment",
            "Benefit Assignments",
            "1bA",
            [
                field("BenefitId", "reference", "Benefit ID", ref="Benefit", rel="Benefit", required=True),
                field(
                    "EnrolleeId", "reference", "Enrollee ID", ref=["Account", "Contact"], rel="Enrollee", required=True
                ),
                field(
                    "ProgramEnrollmentId",
                    "reference",
                    "Program Enrollment ID",
                    ref="ProgramEnrollment",
                    rel="ProgramEnrollment",
                ),
                # Polymorphic in a real org (CarePlan, GoalAssignment, IndividualApplication, ProgramEnrollment);
                # only ProgramEnrollment exists in a Nonprofit Cloud org without those products.
                field(
                    "ParentRecordId",
                    "reference",
                    "Parent Record ID",
                    ref=["ProgramEnrollment"],
                    rel="ParentRecord",
                    required=True,
                ),
                field("EnrollmentCount", "int", "Enrollment Count"),
            ],
            auto=True,
        ),
        _npc(
            "BenefitDisbursement",
            "Benefit Disbursement",
            "Benefit Disbursements",
            "1bD",
            [
                field(
                    "BenefitAssignmentId",
                    "reference",
                    "Benefit Assignment ID",
                    ref="BenefitAssignment",
                    rel="BenefitAssignment",
                    required=True,
                    update=False,
                    cascade_delete=True,
                ),
                field(
                    "BenefitSessionId", "reference", "Benefit Session ID", ref="BenefitSession", rel="BenefitSession"
                ),
                field(
                    "DisbursementStatus",
                    "picklist",
                    "Disbursement Status",
                    restricted=True,
                    picklist_default="Enrolled",
                    values=["Absent", "Completed", "Enrolled", "Excused"],
                ),
                field(
                    "ApprovalStatus",
                    "picklist",
                    "Approval Status",
                    restricted=True,
                    values=["Approved", "In Review", "Not Applicable", "Pending", "Rejected"],
                ),
                field("DisbursedQuantity", "double", "Disbursed Quantity", precision=8, scale=2),
                field("ActualCompletionDate", "datetime", "Actual Completion Date", required=True),
                field("StartDate", "datetime", "Start Date"),
                field("EndDate", "datetime", "End Date"),
                field("Description", "string", length=255),
            ],
            auto=True,
        ),
        _npc(
            "IndicatorDefinition",
            "Indicator Definition",
            "Indicator Definitions",
            "1iD",
            [
                field("Description", "textarea", length=1000),
                field(
                    "Status",
                    "picklist",
                    length=40,
                    required=True,
                    values=["Active", "Canceled", "Completed", "Planned"],
                ),
                field(
                    "UnitOfMeasureId",
                    "reference",
                    "Unit of Measure ID",
                    ref="UnitOfMeasure",
                    rel="UnitOfMeasure",
                    required=True,
                ),
            ],
        ),
        _npc(
            "IndicatorAssignment",
            "Indicator Assignment",
            "Indicator Assignments",
            "1iA",
            [
                field(
                    "IndicatorDefinitionId",
                    "reference",
                    "Indicator Definition ID",
                    ref="IndicatorDefinition",
                    rel="IndicatorDefinition",
                    required=True,
                    update=False,
                ),
                field(
                    "IndicatorAssignmentType",
                    "picklist",
                    "Type",
                    length=40,
                    required=True,
                    values=["Outcome", "Program"],
                ),
                field(
                    "Status",
                    "picklist",
                    length=40,
                    required=True,
                    values=["Active", "Canceled", "Completed", "Planned"],
                ),
                field("ProgramId", "reference", "Program ID", ref="Program", rel="Program"),
                field(
                    "IntendedDirection",
                    "picklist",
                    "Intended Direction",
                    restricted=True,
                    values=["Decrease", "Increase", "Maintain"],
                ),
                field("IndicatorImprvGuideline", "textarea", "Improvement Guideline", length=32000),
            ],
        ),
        _npc(
            "IndicatorPerformancePeriod",
            "Indicator Performance Period",
            "Indicator Performance Periods",
            "1iP",
            [
                field(
                    "IndicatorAssignmentId",
                    "reference",
                    "Indicator Assignment ID",
                    ref="IndicatorAssignment",
                    rel="IndicatorAssignment",
                    required=True,
                    update=False,
                    cascade_delete=True,
                ),
                field("BaselineValue", "double", "Baseline Value", precision=16, scale=2),
                field("BaselineDescription", "textarea", "Baseline Description", length=1000),
                field("Description", "textarea", length=1000),
                field("TimePeriodId", "reference", "Time Period ID", ref="TimePeriod", rel="TimePeriod", required=True),
                field("LastResultValue", "double", "Last Result Value", precision=16, scale=2, formula=True),
                field("LastResultMeasurementDate", "date", "Last Result Measurement Date", formula=True),
            ],
        ),
        _npc(
            "IndicatorResult",
            "Indicator Result",
            "Indicator Results",
            "1iR",
            [
                field(
                    "IndicatorPerformancePeriodId",
                    "reference",
                    "Indicator Performance Period ID",
                    ref="IndicatorPerformancePeriod",
                    rel="IndicatorPerformancePeriod",
                    required=True,
                    update=False,
                ),
                field("ResultValue", "double", "Result Value", precision=16, scale=2, required=True),
                field("MeasurementDate", "date", "Measurement Date", required=True),
                field("Numerator", "double", precision=16, scale=2, update=False),
                field("Denominator", "double", precision=16, scale=2, update=False),
                field(
                    "CalculationMethod",
                    "picklist",
                    "Calculation Method",
                    restricted=True,
                    values=["AutomaticallyCalculated", "Manual"],
                ),
                field("Description", "textarea", length=1000),
                field("Type", "picklist", restricted=True, values=["Final", "Interim"]),
            ],
            auto=True,
        ),
        _npc(
            "TimePeriod",
            "Time Period",
            "Time Periods",
            "1tP",
            [
                field("StartDate", "datetime", "Start Date", required=True),
                field("EndDate", "datetime", "End Date", required=True),
            ],
        ),
        _npc(
            "UnitOfMeasure",
            "Unit of Measure",
            "Units of Measure",
            "0hE",
            [
                field("UnitCode", "string", "Unit Code", required=True),
                field("Description", "string"),
                field("Status", "picklist", restricted=True, values=["Active", "Draft", "Inactive"]),
                field("Type", "picklist"),
                field("ConversionFactor", "double", "Conversion Factor"),
                field("Sequence", "int"),
            ],
        ),
    ]


FLAVOURS = {"npsp_pmm": "npsp", "nonprofit_cloud": "npc", "salesforce_core": "core"}

# Plugin custom objects get fixed key prefixes, so every profile's snapshot agrees on them.
PLUGIN_KEY_PREFIXES = {
    "Ignite_Measure__c": "a0X",
    "Ignite_Cohort_Outcome__c": "a0Y",
    "Ignite_Session__c": "a0Z",
    "Ignite_Attendance__c": "a10",
    "Ignite_Survey_Response__c": "a11",
}


def base_objects(flavour: str, link_targets: Sequence[str]) -> dict[str, Describe]:
    """Every object an org of this flavour has before the plugin (standard + packaged), by name."""
    objects = [
        account(flavour),
        contact(flavour),
        opportunity(flavour),
        lead(flavour),
        campaign(),
        campaign_member(),
        campaign_member_status(),
    ]
    if flavour == "npsp":
        objects += pmm_objects()
    if flavour == "npc":
        objects += npc_objects()
    names = sorted({o["name"] for o in objects} | {"Task", "ContentVersion", "ContentDocumentLink", "RecordType"})
    objects += [
        task(flavour, [t for t in link_targets if t not in ("Contact", "Lead")]),
        record_type([n for n in names if n not in ("RecordType", "ContentDocumentLink", "ContentVersion")]),
        content_version(link_targets),
        content_document_link(link_targets),
    ]
    return {o["name"]: o for o in objects}
