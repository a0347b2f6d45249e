"""Intake sources as configuration: who may post, how each proves it, and how its payload becomes a submission.

Read from `IGNITE_INTAKE_SOURCES` (a JSON object, or the path of a file holding one) by settings.py as plain
data, and checked here when the composition root builds the sources (`wiring.intake_sources`).  Pure pydantic,
no web framework.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from models.keys import SLUG

Scheme = Literal["standard-webhooks", "typeform", "tally", "token", "none", "browser"]
CaptchaProvider = Literal["turnstile", "hcaptcha", "recaptcha"]
PayloadFormat = Literal["json", "typeform", "tally", "form"]

SUBMISSION_FIELDS = frozenset(
    {
        "first_name",
        "last_name",
        "email",
        "phone",
        "organization",
        "job_title",
        "role",
        "organization_kind",
        "state",
        "interest",
        "message",
        "consent_to_contact",
    }
)
_TOKEN_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_RATE = re.compile(r"^\d+/(second|minute|hour)$")


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMap(_Config):
    """Data, not code: which part of the sender's payload fills each IntakeSubmission field.

    Selectors by format:
    - `json`: a dotted path into the JSON body (`data.contact.email`; digits index arrays).
    - `typeform`: an answer's `field.ref` in `form_response.answers`, or `hidden.<name>` for hidden fields.
    - `tally`: a field's `key` or `label` in `data.fields`.
    - `form`: the name of a form-encoded field.
    """

    format: PayloadFormat
    fields: dict[str, str] = Field(min_length=1)
    constants: dict[str, str | bool] = Field(default_factory=dict)

    @field_validator("fields", "constants")
    @classmethod
    def _known_targets(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - SUBMISSION_FIELDS)
        if unknown:
            raise ValueError(f"unknown submission field(s) {unknown}; allowed: {sorted(SUBMISSION_FIELDS)}")
        return value


# Each provider's documented siteverify endpoint; a source may name another (tests use a local fake).
CAPTCHA_VERIFY_URLS: dict[str, str] = {
    "turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
    "hcaptcha": "https://api.hcaptcha.com/siteverify",
    "recaptcha": "https://www.google.com/recaptcha/api/siteverify",
}
# The form field each provider's widget fills with its response token.
CAPTCHA_FIELDS: dict[str, str] = {
    "turnstile": "cf-turnstile-response",
    "hcaptcha": "h-captcha-response",
    "recaptcha": "g-recaptcha-response",
}
# The widget script a page loads, and the class of the element it renders into.
CAPTCHA_WIDGETS: dict[str, tuple[str, str]] = {
    "turnstile": ("https://challenges.cloudflare.com/turnstile/v0/api.js", "cf-turnstile"),
    "hcaptcha": ("https://js.hcaptcha.com/1/api.js", "h-captcha"),
    "recaptcha": ("https://www.google.com/recaptcha/api.js", "g-recaptcha"),
}
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")


class Captcha(_Config):
    """Optional CAPTCHA check for a browser source: the widget's token is verified server-side."""

    provider: CaptchaProvider
    site_key: str
    secret: SecretStr
    verify_url: str | None = None  # default: the provider's siteverify endpoint
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)

    @property
    def endpoint(self) -> str:
        return self.verify_url or CAPTCHA_VERIFY_URLS[self.provider]

    @property
    def field(self) -> str:
        return CAPTCHA_FIELDS[self.provider]


class FormWording(_Config):
    """What the hosted form and the snippet say; the defaults suit most programs."""

    title: str = "Get in touch"
    intro: str = "Tell us about yourself and we will be in touch."
    interest_label: str = "What are you interested in?"
    interest_options: list[str] = Field(default_factory=list)  # empty: a free-text field
    consent_label: str = "You may contact me about this program."
    submit_label: str = "Send"
    thank_you: str = "We have received your details and will be in touch."


# The submission fields a browser form shows when its source has no field map (form names = field names).
BROWSER_DEFAULT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "organization",
    "job_title",
    "interest",
    "message",
    "consent_to_contact",
)


class IntakeSource(_Config):
    scheme: Scheme
    # HMAC secrets (standard-webhooks: `whsec_…`; typeform/tally: the secret as entered in their UI).
    # Several at once while rotating: a request signed with any of them is accepted.
    secrets: list[SecretStr] = Field(default_factory=list)
    # For `token`: hashes (`sha256:<hex>`) of the accepted tokens; `ignite-sync intake new-token` makes a pair.
    token_hashes: list[str] = Field(default_factory=list)
    token_header: str = "X-Ignite-Token"  # noqa: S105 (a header name, not a secret)
    # Required (true) for scheme `none`: unsigned posts are for local development only.
    insecure: bool = False
    field_map: FieldMap | None = None
    # Name (selector, in the field map's language) of a hidden field people leave empty and bots fill.
    honeypot: str | None = None
    # Where the sender's own delivery id is (token / none schemes): a header name; else SHA-256 of the body.
    delivery_id_header: str | None = None
    rate_limit: str = "120/minute"
    # Browser sources (scheme `browser`): posts from web pages, which can keep no secret.
    allowed_origins: list[str] = Field(default_factory=list)  # e.g. "https://www.example.org"
    thank_you_url: str | None = None  # where a person lands after posting (default: a built-in page)
    min_fill_seconds: float = Field(default=3.0, ge=0, le=600)
    form_token_max_age_seconds: int = Field(default=24 * 3600, ge=60)
    # Addresses (or CIDR networks) of the reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: list[str] = Field(default_factory=list)
    client_rate_limit: str = "10/minute"  # per client address, on top of the source's rate_limit
    captcha: Captcha | None = None
    form: FormWording = Field(default_factory=FormWording)

    @field_validator("allowed_origins")
    @classmethod
    def _origin_shape(cls, value: list[str]) -> list[str]:
        cleaned = [item.rstrip("/").lower() for item in value]
        for item in cleaned:
            if not _ORIGIN.match(item):
                raise ValueError(
                    f"{item!r} is not an origin: write scheme and host (and port), e.g. https://www.example.org"
                )
        return cleaned

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_shape(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @field_validator("thank_you_url")
    @classmethod
    def _thank_you_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s]+$", value):
            raise ValueError("thank_you_url must be an absolute http(s) URL")
        return value

    @field_validator("token_hashes")
    @classmethod
    def _hash_shape(cls, value: list[str]) -> list[str]:
        for item in value:
            if not _TOKEN_HASH.match(item):
                raise ValueError("token hashes look like 'sha256:<64 lower-case hex digits>'")
        return value

    @field_validator("token_header", "delivery_id_header")
    @classmethod
    def _header_shape(cls, value: str | None) -> str | None:
        if value is not None and not _HEADER_NAME.match(value):
            raise ValueError("a header name is 1-64 letters, digits or '-'")
        return value

    @field_validator("rate_limit", "client_rate_limit")
    @classmethod
    def _rate_shape(cls, value: str) -> str:
        if not _RATE.match(value):
            raise ValueError("rate limits look like '120/minute' (per second, minute or hour)")
        return value

    @model_validator(mode="after")
    def _scheme_needs(self) -> IntakeSource:
        if self.scheme in ("standard-webhooks", "typeform", "tally") and not self.secrets:
            raise ValueError(f"scheme {self.scheme!r} needs at least one secret")
        if self.scheme == "standard-webhooks":
            for secret in self.secrets:
                _check_whsec(secret.get_secret_value())
        if self.scheme == "token" and not self.token_hashes:
            raise ValueError("scheme 'token' needs at least one entry in token_hashes")
        if self.scheme == "browser" and not self.allowed_origins:
            raise ValueError("scheme 'browser' needs allowed_origins (the sites whose pages may post)")
        if self.scheme == "browser" and self.field_map is not None and self.field_map.format != "form":
            raise ValueError("a browser source needs a field map of format 'form' (or none)")
        if self.scheme == "none" and not self.insecure:
            raise ValueError("scheme 'none' accepts unsigned posts; set insecure: true (local development only)")
        if self.scheme in ("typeform", "tally") and self.field_map is not None and self.field_map.format != self.scheme:
            raise ValueError(f"a {self.scheme} source needs a field map of format {self.scheme!r}")
        return self

    @property
    def accepts_form(self) -> bool:
        return self.scheme == "browser" or (self.field_map is not None and self.field_map.format == "form")

    @property
    def form_fields(self) -> dict[str, str]:
        """Submission field -> form field name, as a form posts them (browser sources without a map: same)."""
        if self.field_map is not None:
            return dict(self.field_map.fields)
        return {name: name for name in BROWSER_DEFAULT_FIELDS}

    @property
    def honeypot_field(self) -> str | None:
        """Browser sources always have one (people never see it; bots fill it)."""
        return self.honeypot or ("website_url" if self.scheme == "browser" else None)

    @property
    def effective_field_map(self) -> FieldMap | None:
        if self.scheme == "browser" and self.field_map is None:
            return FieldMap(format="form", fields=self.form_fields)
        return self.field_map


def _check_whsec(secret: str) -> None:
    raw = secret.removeprefix("whsec_")
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("standard-webhooks secrets are 'whsec_' followed by base64") from None
    if len(key) < 16:
        raise ValueError("standard-webhooks secrets must hold at least 16 random bytes (24-64 recommended)")


def parse_sources(value: Mapping[str, Any]) -> dict[str, IntakeSource]:
    """Check each source of a mapping keyed by source name (a ValueError names the source and the rule)."""
    sources: dict[str, IntakeSource] = {}
    for name, config in value.items():
        if not isinstance(name, str) or not re.fullmatch(SLUG, name):
            raise ValueError(f"source name {name!r} must be a slug (lower-case letters, digits, '-', '_', '.')")
        if isinstance(config, IntakeSource):
            sources[name] = config
            continue
        try:
            sources[name] = IntakeSource.model_validate(config)
        except ValidationError as exc:
            problems = []
            for item in exc.errors(include_url=False, include_input=False):
                where = ".".join(str(p) for p in item["loc"]) or "(source)"
                problems.append(f"{where}: {item['msg'].removeprefix('Value error, ')}")
            raise ValueError(f"source {name!r}: " + "; ".join(problems)) from None
    return sources
