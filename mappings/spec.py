"""The shape of a mapping profile: pydantic models the YAML files are validated into.

These models check what one entry can check on its own (exactly one value origin, a truncate policy needs a
maximum length, a campaign has one default member status…).  Checks that need the whole profile (does the
model have that attribute, does the lookup's step exist, is there a cycle) live in `mappings.profile`, and
checks that need the CRM's describe data live in `mappings.check`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Scalar = str | int | float | bool | None

API_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"
_TEMPLATE_PART = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)(?:\|([a-z_]+))?\}")
TEMPLATE_FILTERS = ("slug",)


class UpdatePolicy(StrEnum):
    """What an update sends for a field once the record exists.

    Three are ownership choices: the sync owns it (`always`), staff own it (`never`), or whoever fills it first
    (`if_blank`).  The fourth, `create_only`, is not a choice but a fact about the CRM: the field is createable
    and not updateable (a master-detail parent, `IndicatorResult.Denominator`), so sending it on an update
    fails with INVALID_FIELD_FOR_INSERT_UPDATE.  It behaves like `never` (sent on create, left out of every
    update), but `check-mapping` holds it to the describe: a `create_only` field the CRM lets change is a
    wrong fact, while `never` on an updateable field is a legitimate decision to leave it to staff.
    """

    ALWAYS = "always"
    IF_BLANK = "if_blank"
    NEVER = "never"
    CREATE_ONLY = "create_only"

    @property
    def sent_on_update(self) -> bool:
        """False for the policies whose field an update leaves out (`if_blank` is decided per record)."""
        return self not in (UpdatePolicy.NEVER, UpdatePolicy.CREATE_ONLY)


class SpecModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def template_parts(template: str) -> list[tuple[str, str | None]]:
    """(path, filter) for each `{path}` or `{path|filter}` placeholder in a template."""
    return [(m.group(1), m.group(2)) for m in _TEMPLATE_PART.finditer(template)]


def _check_template(template: str) -> None:
    stripped = _TEMPLATE_PART.sub("", template)
    if "{" in stripped or "}" in stripped:
        raise ValueError(f"template {template!r} has a brace that is not a {{path}} or {{path|filter}} placeholder")
    for _, filter_name in template_parts(template):
        if filter_name is not None and filter_name not in TEMPLATE_FILTERS:
            raise ValueError(f"unknown template filter {filter_name!r}; known: {', '.join(TEMPLATE_FILTERS)}")


class LookupSpec(SpecModel):
    """The field's value is a key of the records another step writes; sent as an external-ID reference."""

    step: str
    polymorphic: bool = False
    relationship: str | None = Field(default=None, pattern=API_NAME)


class FieldSpec(SpecModel):
    source: str | None = None
    constant: Scalar = None
    template: str | None = None
    derive: str | None = None
    convert: str | None = None
    value_map: dict[str, Scalar] | None = None
    format: Literal["date", "datetime"] | None = None
    lookup: LookupSpec | None = None
    max_length: int | None = Field(default=None, ge=1)
    overflow: Literal["reject", "truncate"] = "reject"
    update: UpdatePolicy = UpdatePolicy.ALWAYS
    when: str | None = None
    unless: str | None = None
    unconfirmed: bool = False
    note: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        """`Name: name` is short for `Name: {source: name}`."""
        return {"source": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_origin(self) -> FieldSpec:
        origins = [name for name in ("source", "template", "derive") if getattr(self, name) is not None]
        if "constant" in self.model_fields_set:
            origins.append("constant")
        if len(origins) != 1:
            found = ", ".join(origins) if origins else "none"
            raise ValueError(f"needs exactly one of source, constant, template, derive (found: {found})")
        if self.template is not None:
            _check_template(self.template)
        if self.value_map is not None and self.source is None and self.derive is None:
            raise ValueError("value_map needs a source or derive")
        if self.convert is not None and self.source is None:
            raise ValueError("convert applies to a source attribute only")
        if self.overflow == "truncate" and self.max_length is None:
            raise ValueError("overflow: truncate needs max_length")
        if self.lookup is not None and (self.value_map or self.max_length or self.format or "constant" in origins):
            raise ValueError(
                "a lookup takes its key from source, template or derive, without value_map/format/max_length"
            )
        return self

    @property
    def origin(self) -> str:
        for name in ("source", "template", "derive"):
            if getattr(self, name) is not None:
                return name
        return "constant"


class MemberStatus(SpecModel):
    """A CampaignMemberStatus every campaign of the step needs (the sync ensures it exists)."""

    label: str = Field(min_length=1, max_length=765)
    default: bool = False
    responded: bool = False


class StepSpec(SpecModel):
    model: str
    object: str = Field(pattern=API_NAME)
    key: str = "{key}"
    key_field: str | None = Field(default=None, pattern=API_NAME)
    record_type: str | None = None
    operation: Literal["upsert", "update_existing"] = "upsert"
    after: tuple[str, ...] = ()
    when: str | None = None
    unless: str | None = None
    # A boolean attribute of the record: when true, this step writes nothing for that record (an aggregate
    # suppressed for privacy has no value, and the CRM requires one).  Flags switch a step for every record.
    skip_when: str | None = None
    member_statuses: tuple[MemberStatus, ...] = ()
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    unconfirmed: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> StepSpec:
        _check_template(self.key)
        if not template_parts(self.key):
            raise ValueError("key must contain at least one {path} placeholder")
        if self.member_statuses:
            if self.object != "Campaign":
                raise ValueError("member_statuses apply to Campaign steps only")
            defaults = [s.label for s in self.member_statuses if s.default]
            if len(defaults) != 1:
                raise ValueError(f"member_statuses need exactly one default (found {len(defaults)})")
            if not any(s.responded for s in self.member_statuses):
                raise ValueError("member_statuses need at least one status with responded: true")
            labels = [s.label for s in self.member_statuses]
            if len(set(labels)) != len(labels):
                raise ValueError("member_statuses labels must be unique")
        for name in self.fields:
            if not re.match(API_NAME, name):
                raise ValueError(f"{name!r} is not a CRM field API name")
        return self


PluginFieldType = Literal[
    "Text",
    "TextArea",
    "LongTextArea",
    "Number",
    "Percent",
    "Currency",
    "Date",
    "DateTime",
    "Checkbox",
    "Picklist",
    "Lookup",
    "Email",
    "Phone",
    "Url",
]


class PluginField(SpecModel):
    """A custom field the plugin deploys, in the Metadata API's CustomField terms."""

    type: PluginFieldType
    label: str = Field(min_length=1, max_length=40)
    description: str = ""
    length: int | None = Field(default=None, ge=1, le=131072)
    precision: int | None = Field(default=None, ge=1, le=18)
    scale: int | None = Field(default=None, ge=0, le=17)
    required: bool = False
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    values: tuple[str, ...] | None = None
    restricted: bool = True
    reference_to: str | None = None
    relationship_name: str | None = Field(default=None, pattern=API_NAME)
    relationship_label: str | None = None
    delete_constraint: Literal["SetNull", "Restrict"] = "SetNull"
    default: bool | None = None
    # A formula field: `type` is its return type (Text for a HYPERLINK); the org computes it, nobody writes it.
    formula: str | None = None

    @model_validator(mode="after")
    def _type_attributes(self) -> PluginField:
        if self.formula is not None:
            if self.type not in ("Text", "Number", "Date", "DateTime", "Checkbox"):
                raise ValueError("a formula returns Text, Number, Date, DateTime or Checkbox")
            if self.required or self.external_id or self.unique or self.length is not None:
                raise ValueError("a formula field is never required, unique, an external ID or given a length")
            return self
        if self.type == "Text" and (self.length is None or self.length > 255):
            raise ValueError("a Text field needs length between 1 and 255")
        if self.type == "LongTextArea" and (self.length is None or self.length < 256):
            raise ValueError("a LongTextArea field needs length of at least 256")
        if self.type in ("Number", "Percent", "Currency") and (self.precision is None or self.scale is None):
            raise ValueError(f"a {self.type} field needs precision and scale")
        if self.precision is not None and self.scale is not None and self.scale > self.precision:
            raise ValueError("scale must not exceed precision")
        if self.type == "Picklist" and not self.values:
            raise ValueError("a Picklist field needs values")
        if self.type != "Picklist" and self.values is not None:
            raise ValueError("values apply to Picklist fields only")
        if self.type == "Lookup" and (self.reference_to is None or self.relationship_name is None):
            raise ValueError("a Lookup field needs reference_to and relationship_name")
        if self.type == "Checkbox" and self.required:
            raise ValueError("a Checkbox is never required (it defaults instead)")
        if (self.unique or self.external_id) and self.type not in ("Text", "Number", "Email"):
            raise ValueError("only Text, Number and Email fields can be unique or external IDs")
        return self


class PluginObject(SpecModel):
    """A custom object the plugin deploys (its Name is a Text field unless `name_format` makes it auto-number)."""

    label: str = Field(min_length=1, max_length=40)
    plural_label: str = Field(min_length=1, max_length=40)
    description: str = ""
    name_label: str = "Name"
    name_format: str | None = None


class Plugin(SpecModel):
    objects: dict[str, PluginObject] = Field(default_factory=dict)
    fields: dict[str, dict[str, PluginField]] = Field(default_factory=dict)


class SetupRecordType(SpecModel):
    """A record type (and the business process that lists its stages) an org may lack; the plugin can ship it."""

    object: str = Field(pattern=API_NAME)
    developer_name: str = Field(pattern=API_NAME)
    label: str
    description: str = ""
    business_process: str | None = None
    stages: tuple[str, ...] = ()


class SetupStage(SpecModel):
    """An OpportunityStage value an org may lack, with the meaning Salesforce needs to create it."""

    value: str = Field(min_length=1, max_length=255)
    closed: bool = False
    won: bool = False
    forecast_category: Literal["Omitted", "Pipeline", "BestCase", "Forecast", "Closed"] = "Pipeline"
    probability: int = Field(default=0, ge=0, le=100)


class OrgSetup(SpecModel):
    """Opt-in org configuration a profile relies on but a standard package install does not create.

    `check-mapping --live` names the part when the org lacks what it provides; `plugin export --with NAME`
    writes it as Salesforce DX source so an admin deploys it with the rest.
    """

    description: str
    record_types: tuple[SetupRecordType, ...] = ()
    stages: tuple[SetupStage, ...] = ()
    standard_stages: tuple[str, ...] = ()


class ProfileHeader(SpecModel):
    """Everything in a profile file except its steps and plugin, which are validated one by one."""

    profile: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str
    description: str
    key_field: str = Field(default="Ignite_Key__c", pattern=API_NAME)
    api_version: str = Field(default="62.0", pattern=r"^\d+\.0$")
    flags: dict[str, str] = Field(default_factory=dict)
    detect: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, str] = Field(default_factory=dict)
    org_setup: dict[str, OrgSetup] = Field(default_factory=dict)
    describe_also: tuple[str, ...] = ()
    steps: dict[str, object]
    plugin: dict[str, object] = Field(default_factory=dict)
