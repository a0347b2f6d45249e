"""Compact describe fixtures: the shapes of Salesforce describe JSON the contract suite builds its CRM from.

Small on purpose, but each field carries the properties the CRM must enforce (nillable, createable,
updateable, length, unique, externalId, restrictedPicklist, referenceTo/relationshipName, calculated).
"""

from __future__ import annotations

from typing import Any


def fld(name: str, ftype: str = "string", **props: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": name,
        "label": name.replace("__c", "").replace("_", " "),
        "type": ftype,
        "length": 255 if ftype in ("string", "picklist", "email", "textarea") else (18 if ftype == "reference" else 0),
        "nillable": True,
        "createable": True,
        "updateable": True,
        "defaultedOnCreate": False,
        "externalId": False,
        "idLookup": False,
        "unique": False,
        "caseSensitive": False,
        "calculated": False,
        "custom": name.endswith("__c"),
        "restrictedPicklist": False,
        "picklistValues": [],
        "referenceTo": [],
        "relationshipName": None,
    }
    base.update(props)
    return base


def key_field(name: str = "Ignite_Key__c", *, unique: bool = True) -> dict[str, Any]:
    return fld(name, length=80, externalId=True, idLookup=True, unique=unique)


def picklist(name: str, values: list[str], *, restricted: bool = True, **props: Any) -> dict[str, Any]:
    return fld(
        name,
        "picklist",
        restrictedPicklist=restricted,
        picklistValues=[{"value": v, "label": v, "active": True, "defaultValue": False} for v in values],
        **props,
    )


def lookup(name: str, target: str, relationship: str, **props: Any) -> dict[str, Any]:
    return fld(name, "reference", referenceTo=[target], relationshipName=relationship, **props)


def obj(name: str, key_prefix: str | None, fields: list[dict[str, Any]]) -> dict[str, Any]:
    describe: dict[str, Any] = {
        "name": name,
        "label": name.replace("__c", ""),
        "custom": name.endswith("__c"),
        "createable": True,
        "updateable": True,
        "deletable": True,
        "queryable": True,
        "fields": [
            fld(
                "Id",
                "id",
                length=18,
                nillable=False,
                createable=False,
                updateable=False,
                defaultedOnCreate=True,
                idLookup=True,
            ),
            *fields,
        ],
    }
    if key_prefix:
        describe["keyPrefix"] = key_prefix
    return describe


def contract_describes() -> dict[str, dict[str, Any]]:
    return {
        "Account": obj(
            "Account",
            "001",
            [
                fld("Name", nillable=False),
                picklist("Type", ["Hospital", "Health System", "Foundation"], restricted=False),
                fld("NumberOfEmployees", "int"),
                fld("AnnualRevenue", "currency"),
                key_field(),
                fld("Legacy_Code__c", length=20, externalId=True, idLookup=True, unique=False),
                fld("Description", "textarea", length=32000),
            ],
        ),
        "Contact": obj(
            "Contact",
            "003",
            [
                fld("FirstName", length=40),
                fld("LastName", length=80, nillable=False),
                fld("Name", length=121, createable=False, updateable=False, calculated=True),
                fld("Email", "email", length=80),
                lookup("AccountId", "Account", "Account"),
                fld("Birthdate", "date"),
                fld("HasOptedOutOfEmail", "boolean", nillable=False, defaultedOnCreate=True, defaultValue=False),
                fld("Clinical_Role__c", length=40),
                fld("Years_In_Role__c", "double"),
                key_field(),
                fld("Badge_Number__c", length=20, unique=True),
            ],
        ),
        "Lead": obj(
            "Lead",
            "00Q",
            [
                fld("LastName", length=80, nillable=False),
                fld("FirstName", length=40),
                fld("Company", nillable=False),
                fld("Email", "email", length=80),
                picklist(
                    "Status",
                    ["Open - Not Contacted", "Working - Contacted", "Closed - Converted"],
                    nillable=False,
                    defaultedOnCreate=True,
                ),
                key_field("Intake_Id__c"),
            ],
        ),
        "Program__c": obj(
            "Program__c",
            None,  # a custom object without a prefix gets one (a0…) from the CRM
            [
                fld("Name", length=80, nillable=False),
                picklist("Status__c", ["Planned", "Active", "Completed", "Canceled"], nillable=False),
                fld("Start_Date__c", "date"),
                fld("Summary__c", length=10),
                key_field(),
            ],
        ),
        "Engagement__c": obj(
            "Engagement__c",
            "a0E",
            [
                fld("Name", length=80, nillable=False),
                lookup("Program__c", "Program__c", "Program__r", nillable=False),
                lookup("Contact__c", "Contact", "Contact__r"),
                picklist("Stage__c", ["Applied", "Enrolled", "Active", "Completed", "Withdrawn"]),
                lookup("Cohort_Owner__c", "User", "Cohort_Owner__r"),
                fld("Enrolled_At__c", "datetime"),
                fld("Attendance_Rate__c", "percent", createable=False, updateable=False, calculated=True),
                fld("Origin__c", length=40, updateable=False),
                key_field(),
            ],
        ),
    }


def with_tasks(describes: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The contract objects plus a Task whose `WhoId` is polymorphic (a Contact or a Lead)."""
    return {
        **describes,
        "Task": obj(
            "Task",
            "00T",
            [
                fld("Subject"),
                fld("WhoId", "reference", referenceTo=["Contact", "Lead"], relationshipName="Who"),
                lookup("WhatId", "Account", "What"),
                key_field(),
            ],
        ),
    }
