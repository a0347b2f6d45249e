"""The website's own form (`browser` sources): no secret, so where a post comes from is checked, spam is
quarantined rather than dropped, and a person gets pages they can read."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from service import create_app
from settings import load_settings
from tests.web.conftest import AppFactory
from tests.web.helpers import SOURCES
from webhooks.form_tokens import FORM_TOKEN_FIELD, FormTokens

KEY = "k" * 40
SITE = "https://www.example.org"
URL = "/webhooks/intake/website-form"
FORM_SOURCES: dict[str, Any] = {
    "website-form": {
        "scheme": "browser",
        "allowed_origins": [SITE],
        "thank_you_url": f"{SITE}/thanks",
        "min_fill_seconds": 3,
    },
    "proxied": {
        "scheme": "browser",
        "allowed_origins": [SITE],
        "min_fill_seconds": 0,
        "trusted_proxies": ["10.0.0.0/8"],
        "client_rate_limit": "2/minute",
    },
}


def token(source: str = "website-form", age: float = 10.0) -> str:
    return FormTokens(KEY.encode()).issue(source, time.time() - age)


def person(**overrides: str) -> dict[str, str]:
    fields = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.org",
        "organization": "Analytical Engines Health",
        "consent_to_contact": "true",
        FORM_TOKEN_FIELD: token(),
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def post(client: TestClient, fields: dict[str, str], *, url: str = URL, **headers: str) -> Any:
    return client.post(
        url,
        content=urlencode(fields),
        headers={"content-type": "application/x-www-form-urlencoded", "origin": SITE, "accept": "text/html", **headers},
        follow_redirects=False,
    )


def rows(engine: Engine, source: str = "website-form") -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        found = conn.execute(
            text("SELECT status, quarantine_reason FROM intake_inbox WHERE source = :s ORDER BY id"), {"s": source}
        )
        return [(r[0], r[1]) for r in found]


@pytest.fixture
def forms(make_client: AppFactory) -> TestClient:
    return make_client({**SOURCES, **FORM_SOURCES}, intake_form_key=KEY)


def test_a_person_posting_from_an_allowed_origin_lands_on_the_thank_you_page_and_the_lead_waits_for_delivery(
    forms: TestClient, web_engine: Engine
) -> None:
    answer = post(forms, person())
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{SITE}/thanks"
    assert rows(web_engine) == [("pending", None)]


def test_a_double_click_is_one_delivery(forms: TestClient, web_engine: Engine) -> None:
    fields = person()
    assert post(forms, fields).status_code == 303
    assert post(forms, fields).status_code == 303
    assert len(rows(web_engine)) == 1


def test_a_post_from_another_site_is_refused_with_a_readable_page_and_nothing_kept(
    forms: TestClient, web_engine: Engine
) -> None:
    answer = post(forms, person(), origin="https://evil.example.com")
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
    assert "cannot be sent from here" in answer.text
    assert "access-control-allow-origin" not in answer.headers
    as_json = post(forms, person(), origin="https://evil.example.com", accept="application/json")
    assert as_json.status_code == 403 and as_json.json()["type"].endswith("origin-not-allowed")
    assert rows(web_engine) == []


def test_referer_stands_in_for_a_missing_origin(forms: TestClient, web_engine: Engine) -> None:
    answer = post(forms, person(), origin="", referer=f"{SITE}/contact?x=1")
    assert answer.status_code == 303
    no_origin = post(forms, person(last_name="Byron"), origin="")
    assert no_origin.status_code == 403


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        (lambda: {FORM_TOKEN_FIELD: None}, "form_token"),
        (lambda: {FORM_TOKEN_FIELD: "v1.1.abc.forged"}, "form_token"),
        (lambda: {FORM_TOKEN_FIELD: token(age=0)}, "too_fast"),
        (lambda: {FORM_TOKEN_FIELD: token(age=3 * 86400)}, "form_token"),
        (lambda: {FORM_TOKEN_FIELD: token(source="proxied")}, "form_token"),
        (lambda: {"website_url": "http://spam.example"}, "honeypot"),
    ],
    ids=["no-token", "forged", "too-fast", "expired", "other-source", "honeypot"],
)
def test_suspected_spam_is_thanked_like_anyone_but_quarantined_without_a_job(
    forms: TestClient, web_engine: Engine, fields: Callable[[], dict[str, str]], reason: str
) -> None:
    answer = post(forms, person(**fields()))  # tokens made now, not when the tests were collected
    assert answer.status_code == 303  # a bot learns nothing; a real person loses nothing
    assert rows(web_engine) == [("quarantined", reason)]
    with web_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar() == 0


def test_a_form_missing_a_required_field_comes_back_with_the_error_tied_to_the_field(
    forms: TestClient, web_engine: Engine
) -> None:
    answer = post(forms, person(email=""))
    assert answer.status_code == 422
    page = answer.text
    assert 'aria-describedby="ignite-email-error"' in page and 'id="ignite-email-error"' in page
    assert 'value="Lovelace"' in page  # what the person typed is kept
    assert answer.headers["content-security-policy"] == f"frame-ancestors 'self' {SITE}"  # framed like the form
    assert rows(web_engine) == []
    as_json = post(forms, person(email=""), accept="application/json")
    assert as_json.status_code == 422 and as_json.json()["errors"][0]["field"] == "email"


def test_fetch_clients_get_json_receipts_and_cors_for_allowed_origins_only(forms: TestClient) -> None:
    answer = post(forms, person(), accept="application/json")
    assert answer.status_code == 202 and answer.json()["status"] == "accepted"
    assert answer.headers["access-control-allow-origin"] == SITE
    preflight = forms.options(URL, headers={"origin": SITE, "access-control-request-method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == SITE
    assert "POST" in preflight.headers["access-control-allow-methods"]
    refused = forms.options(URL, headers={"origin": "https://evil.example.com"})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers


def test_the_hosted_form_carries_a_token_and_may_be_framed_only_by_allowed_origins(forms: TestClient) -> None:
    page = forms.get("/forms/website-form")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == f"frame-ancestors 'self' {SITE}"
    assert f'name="{FORM_TOKEN_FIELD}" value="v1.' in page.text
    assert '<label for="ignite-email">' in page.text
    fresh = forms.get("/forms/website-form/token", headers={"origin": SITE})
    assert fresh.headers["access-control-allow-origin"] == SITE and fresh.json()["token"].startswith("v1.")
    assert forms.get("/forms/wix").status_code == 404  # only browser sources have a hosted form


def test_per_client_limit_keys_on_the_address_the_trusted_proxy_reports(
    make_client: AppFactory, web_engine: Engine
) -> None:
    config = load_settings(
        database_url=web_engine.url.render_as_string(hide_password=False),
        intake_sources=FORM_SOURCES,
        intake_form_key=KEY,
    )
    proxy = TestClient(create_app(config, engine=web_engine), client=("10.1.2.3", 40000))
    with proxy:

        def from_client(address: str, n: int) -> int:
            fields = person(last_name=f"L{address}{n}", **{FORM_TOKEN_FIELD: token("proxied")})
            return post(proxy, fields, url="/webhooks/intake/proxied", **{"x-forwarded-for": address}).status_code

        assert [from_client("203.0.113.7", n) for n in range(3)] == [303, 303, 429]
        assert from_client("198.51.100.9", 0) == 303  # another person behind the same proxy is not limited
        # A client cannot escape its limit by prepending addresses: the rightmost untrusted hop counts.
        assert from_client("1.1.1.1, 203.0.113.7", 9) == 429
    # A client that is not a trusted proxy is keyed by its own address, whatever X-Forwarded-For it sends.
    direct = TestClient(create_app(config, engine=web_engine), client=("192.0.2.44", 40000))
    with direct:
        spoofed = [
            post(
                direct,
                person(last_name=f"S{n}", **{FORM_TOKEN_FIELD: token("proxied")}),
                url="/webhooks/intake/proxied",
                **{"x-forwarded-for": f"198.18.0.{n}"},
            ).status_code
            for n in range(3)
        ]
        assert spoofed == [303, 303, 429]


class _FakeVerifier(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        form = parse_qs(self.rfile.read(int(self.headers["content-length"])).decode())
        success = form.get("response") == ["good"] and form.get("secret") == ["captcha-secret"]
        body = json.dumps({"success": success, "error-codes": [] if success else ["invalid-input-response"]})
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def fake_verifier() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _FakeVerifier)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/siteverify"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("provider", ["turnstile", "hcaptcha", "recaptcha"])
def test_captcha_is_verified_server_side_and_a_failure_or_an_unreachable_verifier_quarantines(
    make_client: AppFactory, web_engine: Engine, fake_verifier: str, provider: str
) -> None:
    field = {"turnstile": "cf-turnstile-response", "hcaptcha": "h-captcha-response"}.get(
        provider, "g-recaptcha-response"
    )
    captcha = {"provider": provider, "site_key": "site", "secret": "captcha-secret", "verify_url": fake_verifier}
    down = {**captcha, "verify_url": "http://127.0.0.1:9/siteverify", "timeout_seconds": 2}
    sources = {
        "captcha": {**FORM_SOURCES["website-form"], "captcha": captcha},
        "captcha-down": {**FORM_SOURCES["website-form"], "captcha": down},
    }
    client = make_client(sources, intake_form_key=KEY)
    url = "/webhooks/intake/captcha"
    assert post(client, person(**{field: "good", FORM_TOKEN_FIELD: token("captcha")}), url=url).status_code == 303
    bad = person(last_name="Bot", **{field: "bad", FORM_TOKEN_FIELD: token("captcha")})
    assert post(client, bad, url=url).status_code == 303
    assert rows(web_engine, "captcha") == [("pending", None), ("quarantined", "captcha")]
    lost = person(**{field: "good", FORM_TOKEN_FIELD: token("captcha-down")})
    assert post(client, lost, url="/webhooks/intake/captcha-down").status_code == 303
    assert rows(web_engine, "captcha-down") == [("quarantined", "captcha_unavailable")]


def test_browser_source_configuration_needs_allowed_origins() -> None:
    from settings import SettingsError, load_settings
    from wiring import intake_sources

    with pytest.raises(SettingsError, match="allowed_origins"):
        intake_sources(load_settings(intake_sources={"f": {"scheme": "browser"}}))
    with pytest.raises(SettingsError, match="not an origin"):
        intake_sources(
            load_settings(intake_sources={"f": {"scheme": "browser", "allowed_origins": ["www.example.org"]}})
        )
    with pytest.raises(SettingsError, match="32"):
        load_settings(intake_form_key="short")


def test_the_pasted_snippet_is_a_plain_form_posting_to_the_service_with_honeypot_and_token_script() -> None:
    from typer.testing import CliRunner

    from cli.app import app
    from cli.context import AppContext

    context = AppContext(load_settings(intake_sources=FORM_SOURCES, database_url="sqlite:///:memory:"))
    result = CliRunner().invoke(
        app, ["intake", "form-snippet", "website-form", "--url", "https://intake.example.org/"], obj=context
    )
    assert result.exit_code == 0, result.output
    html = result.output
    assert '<form method="post" action="https://intake.example.org/webhooks/intake/website-form"' in html
    assert f'name="{FORM_TOKEN_FIELD}" value=""' in html
    assert 'name="website_url" tabindex="-1"' in html and "left:-10000px" in html  # hidden even unstyled
    assert 'fetch("https://intake.example.org/forms/website-form/token"' in html
    assert "<textarea" in html and "></textarea>" in html  # no stray whitespace as a default message
    refused = CliRunner().invoke(app, ["intake", "form-snippet", "nope"], obj=context)
    assert refused.exit_code == 2 and "website-form" in refused.output


def test_a_form_quarantined_for_its_token_is_released_by_staff_into_the_ordinary_job(
    forms: TestClient, web_engine: Engine
) -> None:
    from sync.intake import release_quarantined

    assert post(forms, person(**{FORM_TOKEN_FIELD: None})).status_code == 303  # a page that ran no script
    with web_engine.connect() as conn:
        inbox_id = conn.execute(text("SELECT id FROM intake_inbox WHERE source = 'website-form'")).scalar_one()
    result = release_quarantined(web_engine, inbox_id)
    assert result.released, result.problems
    assert [status for status, _reason in rows(web_engine)] == ["pending"]  # the reason stays as history
    with web_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM jobs")).scalar() == 1
