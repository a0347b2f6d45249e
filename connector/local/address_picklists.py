"""State and Country/Territory Picklists, as an org that has them answers (the reference's standard.json).

An org has them when an object's describe has a `*StateCode` picklist controlled by a `*CountryCode` one
(`BillingStateCode`/`BillingCountryCode`, `MailingStateCode`, Lead's `StateCode`...), which is how NPSP
detects them too.  Then the text fields take only full names (the integration values, ISO names by default):
`BillingState = "NY"` is refused, `BillingStateCode = "NY"` is taken; a state needs a country; a state code
must be one of its country's; writing a code fills the text field and writing a valid name fills the code.
Error codes and texts are the ones standard.json quotes (all FIELD_INTEGRITY_EXCEPTION).

Build a local CRM without them with `LocalCrm.create_database(url, describes, state_country_picklists=False)`: the
code fields are left out, as in an org where the feature is off, and the text fields take any text.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connector.local.checks import Candidate, Connection, Refusal, refuse
from connector.local.schema import ObjectSpec

INTEGRITY = "FIELD_INTEGRITY_EXCEPTION"
BAD_STATE_TEXT = (
    "There's a problem with this state, even though it may appear correct. "
    "Please select a state from the list of valid states."
)
BAD_COUNTRY_TEXT = (
    "There's a problem with this country, even though it may appear correct. "
    "Please select a country from the list of valid countries."
)
STATE_NOT_IN_COUNTRY = "The existing country/territory doesn't recognize the state value for field: {label}"
UNKNOWN_STATE_CODE = (
    "The {field} field contains {value}, which isn't an available state. Your administrator can add it for you."
)
_SUFFIX = "StateCode"


@dataclass(frozen=True)
class AddressPicklist:
    """One address's four fields and the values its picklists allow."""

    state_text: str
    country_text: str
    state_code: str
    country_code: str
    state_label: str
    countries: dict[str, str]  # country code -> name
    country_by_name: dict[str, str]  # lower-case name -> code
    states: dict[str, dict[str, str]]  # country code -> {state code -> name}
    state_by_name: dict[str, dict[str, str]]  # country code -> {lower-case name -> state code}

    @property
    def names(self) -> tuple[str, str, str, str]:
        return (self.state_text, self.country_text, self.state_code, self.country_code)


def _allowed(valid_for: str | None, count: int) -> list[int]:
    if not valid_for:
        return []
    bits = base64.b64decode(valid_for)
    return [i for i in range(min(count, len(bits) * 8)) if bits[i // 8] & (0x80 >> (i % 8))]


def address_picklists(describe: Mapping[str, Any]) -> list[AddressPicklist]:
    fields = {str(f.get("name")): f for f in describe.get("fields") or []}
    result = []
    for name, raw in sorted(fields.items()):
        controller = raw.get("controllerName")
        if not name.endswith(_SUFFIX) or not controller or controller not in fields:
            continue
        prefix = name[: -len(_SUFFIX)]
        if f"{prefix}State" not in fields or f"{prefix}Country" not in fields:
            continue
        country_values = [v for v in fields[controller].get("picklistValues") or [] if v.get("active", True)]
        countries = {str(v["value"]): str(v.get("label") or v["value"]) for v in country_values}
        order = [str(v["value"]) for v in country_values]
        states: dict[str, dict[str, str]] = {}
        for value in raw.get("picklistValues") or []:
            if not value.get("active", True):
                continue
            for i in _allowed(value.get("validFor"), len(order)):
                states.setdefault(order[i], {})[str(value["value"])] = str(value.get("label") or value["value"])
        result.append(
            AddressPicklist(
                state_text=f"{prefix}State",
                country_text=f"{prefix}Country",
                state_code=name,
                country_code=str(controller),
                state_label=str(raw.get("label") or name),
                countries=countries,
                country_by_name={n.lower(): c for c, n in countries.items()},
                states=states,
                state_by_name={c: {n.lower(): s for s, n in by.items()} for c, by in states.items()},
            )
        )
    return result


def without_address_picklists(describes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The describes of the same org with State and Country/Territory Picklists off: no code fields."""
    result = {}
    for name, describe in describes.items():
        copied = copy.deepcopy(dict(describe))
        drop = {n for p in address_picklists(copied) for n in (p.state_code, p.country_code)}
        copied["fields"] = [f for f in copied.get("fields") or [] if f.get("name") not in drop]
        result[name] = copied
    return result


class AddressPicklists:
    """The org behaviour: completes or refuses rows that touch an address's state or country."""

    def applies(self, spec: ObjectSpec) -> bool:
        return any(f.controller_name and f.name.endswith(_SUFFIX) for f in spec.fields.values())

    def check(self, conn: Connection, spec: ObjectSpec, candidates: Sequence[Candidate]) -> None:
        del conn
        for picklist in address_picklists(spec.describe):
            for candidate in candidates:
                if candidate.refusal is None and any(n in candidate.values for n in picklist.names):
                    refusal = _check_one(picklist, candidate)
                    if refusal is not None:
                        refuse(candidate, refusal)


def _check_one(p: AddressPicklist, c: Candidate) -> Refusal | None:
    values = c.values
    country_given = values.get(p.country_code)
    country_text = values.get(p.country_text)
    if country_given is not None:
        values[p.country_text] = p.countries.get(country_given, country_given)
    elif country_text is not None:
        code = p.country_by_name.get(str(country_text).lower())
        if code is None:
            return Refusal(INTEGRITY, BAD_COUNTRY_TEXT, (p.country_text,))
        values[p.country_code], values[p.country_text] = code, p.countries[code]
    elif p.country_code in values or p.country_text in values:
        values[p.country_code] = values[p.country_text] = None
    country = values.get(p.country_code) if p.country_code in values else c.merged.get(p.country_code)
    state_code = values.get(p.state_code)
    state_text = values.get(p.state_text)
    if state_code is not None:
        return _state_code(p, values, country, str(state_code))
    if state_text is not None:
        code = p.state_by_name.get(str(country), {}).get(str(state_text).lower()) if country else None
        if code is None:
            return Refusal(INTEGRITY, BAD_STATE_TEXT, (p.state_text,))
        values[p.state_code], values[p.state_text] = code, p.states[str(country)][code]
        return None
    if p.state_code in values or p.state_text in values:
        values[p.state_code] = values[p.state_text] = None
        return None
    stored_state = c.merged.get(p.state_code)
    if stored_state is not None and p.country_code in values:
        # The country changed under a stored state: the state must belong to the new country.
        return _state_code(p, values, country, str(stored_state))
    return None


def _state_code(p: AddressPicklist, values: dict[str, Any], country: Any, code: str) -> Refusal | None:
    if not any(code in by for by in p.states.values()):
        message = UNKNOWN_STATE_CODE.format(field=p.state_code, value=code)
        return Refusal(INTEGRITY, message, (p.state_code,))
    if country is None or code not in p.states.get(str(country), {}):
        # A state needs a country, and must be one of that country's (standard.json: stateRequiresCountry).
        return Refusal(INTEGRITY, STATE_NOT_IN_COUNTRY.format(label=p.state_label), (p.state_code,))
    if p.state_code in values:
        values[p.state_text] = p.states[str(country)][code]
    return None
