"""The HTML a person sees: the hosted intake form, its thank-you page and readable error pages.

Plain HTML that works with JavaScript off and with a keyboard alone: every input has a `<label>`, required
fields say so in words as well as with `required`, and an error is printed next to its field and tied to it
with `aria-describedby` (plus `aria-invalid`), with a summary at the top that links to each field.  Styling is
one small inline stylesheet (no external assets), so the page can sit in an iframe on the program's site.
Everything from configuration or the request is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from webhooks.form_tokens import FORM_TOKEN_FIELD
from webhooks.sources import CAPTCHA_WIDGETS, IntakeSource

# Label, input type, autocomplete token and whether the submission requires it, per submission field.
_FIELDS: dict[str, tuple[str, str, str, bool]] = {
    "first_name": ("First name", "text", "given-name", False),
    "last_name": ("Last name", "text", "family-name", True),
    "email": ("Email", "email", "email", True),
    "phone": ("Phone", "tel", "tel", False),
    "organization": ("Organization", "text", "organization", True),
    "job_title": ("Job title", "text", "organization-title", False),
    "role": ("Role", "text", "off", False),
    "organization_kind": ("Kind of organization", "text", "off", False),
    "state": ("State (two-letter code)", "text", "address-level1", False),
    "interest": ("", "text", "off", False),
    "message": ("Message", "textarea", "off", False),
    "consent_to_contact": ("", "checkbox", "off", False),
}

STYLE = """
body{font-family:system-ui,sans-serif;line-height:1.5;margin:0;padding:1rem;color:#1a1a1a;background:#fff}
main{max-width:36rem}
label{display:block;font-weight:600;margin-top:1rem}
input[type=text],input[type=email],input[type=tel],textarea,select{display:block;width:100%;box-sizing:border-box;
padding:.5rem;border:1px solid #555;border-radius:4px;font:inherit}
.check label{display:inline;font-weight:400}
.check{margin-top:1rem}
.hint{font-weight:400;color:#444}
.error{color:#a00000;font-weight:600;margin:.25rem 0 0}
[aria-invalid=true]{border:2px solid #a00000}
.summary{border:2px solid #a00000;padding:.5rem 1rem;margin-bottom:1rem}
button{margin-top:1.5rem;padding:.6rem 1.2rem;font:inherit;border:2px solid #1a1a1a;background:#1a1a1a;color:#fff;
border-radius:4px;cursor:pointer}
:focus-visible{outline:3px solid #0050c8;outline-offset:2px}
"""
# Inline, so the honeypot stays off-screen in a pasted snippet on a page without this stylesheet.
_TRAP_STYLE = "position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden"


def _page(title: str, body: str, *, lang: str = "en") -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>"
    )


def form_fields_html(
    config: IntakeSource,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    id_prefix: str = "ignite",
) -> str:
    """The inputs of a source's form (shared by the hosted page and the pasted snippet)."""
    values = values or {}
    errors = errors or {}
    wording = config.form
    parts: list[str] = []
    for target, name in config.form_fields.items():
        label, kind, autocomplete, required = _FIELDS[target]
        if target == "interest":
            label = wording.interest_label
        field_id = f"{id_prefix}-{escape(name)}"
        described = []
        error = errors.get(target)
        error_html = ""
        if error:
            described.append(f"{field_id}-error")
            error_html = f'<p class="error" id="{field_id}-error">{escape(error)}</p>'
        value = values.get(name, "")
        attrs = f'id="{field_id}" name="{escape(name)}"'
        if described:
            attrs += f' aria-describedby="{" ".join(described)}" aria-invalid="true"'
        if required:
            attrs += ' required aria-required="true"'
        if kind == "checkbox":
            checked = " checked" if value else ""
            text = wording.consent_label if target == "consent_to_contact" else label
            parts.append(
                f'<div class="check"><input type="checkbox" value="true" {attrs}{checked}> '
                f'<label for="{field_id}">{escape(text)}</label>{error_html}</div>'
            )
            continue
        suffix = ' <span class="hint">(required)</span>' if required else ""
        parts.append(f'<label for="{field_id}">{escape(label)}{suffix}</label>')
        if kind == "textarea":
            parts.append(f'<textarea {attrs} rows="5">{escape(value)}</textarea>')
        elif target == "interest" and wording.interest_options:
            options = "".join(
                f'<option value="{escape(o)}"{" selected" if o == value else ""}>{escape(o)}</option>'
                for o in ["", *wording.interest_options]
            )
            parts.append(f"<select {attrs}>{options}</select>")
        else:
            parts.append(f'<input type="{kind}" autocomplete="{autocomplete}" value="{escape(value)}" {attrs}>')
        parts.append(error_html)
    trap = config.honeypot_field or "website_url"
    # The honeypot: off-screen (not display:none, which some bots skip), out of the tab order, unlabelled for
    # people; a screen reader that finds it is told to leave it empty.
    parts.append(
        f'<div class="trap" style="{_TRAP_STYLE}" aria-hidden="true"><label for="{id_prefix}-trap">Leave this empty'
        f'</label> <input type="text" id="{id_prefix}-trap" name="{escape(trap)}" tabindex="-1" autocomplete="off">'
        "</div>"
    )
    if config.captcha is not None:
        _script, css_class = CAPTCHA_WIDGETS[config.captcha.provider]
        parts.append(f'<div class="{css_class}" data-sitekey="{escape(config.captcha.site_key)}"></div>')
    return "\n".join(part for part in parts if part)


def _label(config: IntakeSource, field: str) -> str:
    if field == "interest":
        return config.form.interest_label
    if field == "consent_to_contact":
        return "Consent"
    return _FIELDS[field][0] if field in _FIELDS else field


def form_page(
    source: str,
    config: IntakeSource,
    *,
    action: str,
    token: str,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> str:
    wording = config.form
    summary = ""
    if errors:
        items = "".join(
            f'<li><a href="#ignite-{escape(config.form_fields.get(field, field))}">'
            f"{escape(_label(config, field))}: {escape(message)}</a></li>"
            for field, message in errors.items()
        )
        summary = (
            '<div class="summary" role="alert" tabindex="-1" id="ignite-errors">'
            f"<h2>Please correct {len(errors)} {'field' if len(errors) == 1 else 'fields'}</h2><ul>{items}</ul></div>"
        )
    captcha_script = ""
    if config.captcha is not None:
        script, _css = CAPTCHA_WIDGETS[config.captcha.provider]
        captcha_script = f'<script src="{escape(script)}" async defer></script>'
    body = (
        f"<h1>{escape(wording.title)}</h1><p>{escape(wording.intro)}</p>{summary}"
        f'<form method="post" action="{escape(action)}" accept-charset="utf-8">'
        f'<input type="hidden" name="{FORM_TOKEN_FIELD}" value="{escape(token)}">'
        f"{form_fields_html(config, values=values, errors=errors)}"
        f'<button type="submit">{escape(wording.submit_label)}</button></form>{captcha_script}'
    )
    return _page(wording.title, body)


def thank_you_page(config: IntakeSource) -> str:
    return _page(
        config.form.title, f'<h1 tabindex="-1" id="ignite-thanks">Thank you</h1><p>{escape(config.form.thank_you)}</p>'
    )


def error_page(status: int, title: str, detail: str, errors: Sequence[Mapping[str, str]] = ()) -> str:
    items = "".join(f"<li>{escape(e.get('field', ''))}: {escape(e.get('rule', ''))}</li>" for e in errors)
    listing = f"<ul>{items}</ul>" if items else ""
    return _page(
        title,
        f'<h1>{escape(title)}</h1><p role="alert">{escape(detail)}</p>{listing}'
        f"<p>Nothing you sent was kept. Please go back, check the form and send it again "
        f"(error {status}).</p>",
    )


def snippet_html(source: str, config: IntakeSource, service_url: str) -> str:
    """What a webmaster pastes into their own page: a plain `<form>` posting to the service, the honeypot
    included, and a few lines of script that fetch a form token when the page loads.

    The token proves the form was shown (and when) before it was sent.  With scripts off the form still posts,
    without a token, and the submission waits in quarantine (`form_token`) for staff to release: not lost.
    """
    base = service_url.rstrip("/")
    action = f"{base}/webhooks/intake/{source}"
    token_url = f"{base}/forms/{source}/token"
    captcha = ""
    if config.captcha is not None:
        script, _css = CAPTCHA_WIDGETS[config.captcha.provider]
        captcha = f'\n<script src="{escape(script)}" async defer></script>'
    fields = form_fields_html(config).replace("\n", "\n  ")
    return (
        f"<!-- ignite-sync intake form for source {escape(source)}: paste where the form should appear. -->\n"
        f'<form method="post" action="{escape(action)}" accept-charset="utf-8" id="ignite-form-{escape(source)}">\n'
        f'  <input type="hidden" name="{FORM_TOKEN_FIELD}" value="">\n'
        f"  {fields}\n"
        f'  <button type="submit">{escape(config.form.submit_label)}</button>\n'
        "</form>\n"
        "<script>\n"
        "// Fetches a signed form token when the page loads (it records when the form was shown).\n"
        "// Without it the post is still kept, in quarantine for review.\n"
        "(function () {\n"
        f'  var form = document.getElementById("ignite-form-{escape(source)}");\n'
        f'  fetch("{escape(token_url)}", {{credentials: "omit"}})\n'
        "    .then(function (r) { return r.json(); })\n"
        f'    .then(function (d) {{ form.elements["{FORM_TOKEN_FIELD}"].value = d.token; }});\n'
        "})();\n"
        f"</script>{captcha}\n"
    )
