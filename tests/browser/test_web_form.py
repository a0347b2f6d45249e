"""A person fills the website's form in a real browser; the lead reaches the local CRM exactly once.

The service runs under uvicorn on 127.0.0.1; the pasted snippet is served from other local origins (another
port is another origin), so the Origin checks and CORS are the browser's own, not a test client's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from connector.local import LocalCrm
from mappings.profile import load_profile
from mappings.snapshots import load_describes
from service import create_app
from settings import load_settings
from store.database import make_engine, upgrade_database
from sync.intake import INTAKE_JOB, IntakeHandler
from sync.worker import Worker
from tests.e2e.process import free_port
from tests.web.live_server import serving
from webhooks.form_pages import snippet_html
from wiring import intake_sources

pytestmark = pytest.mark.usefixtures("browser_binaries")


class _Page(BaseHTTPRequestHandler):
    html = ""

    def do_GET(self) -> None:
        body = self.html.encode()
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@dataclass
class Site:
    """A webmaster's page on its own origin holding the pasted snippet."""

    origin: str
    server: ThreadingHTTPServer


def _site(port: int, html: str) -> Site:
    handler = type("Page", (_Page,), {"html": html})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return Site(f"http://127.0.0.1:{port}", server)


@dataclass
class Service:
    url: str
    engine: Engine
    crm_url: str
    sites: dict[str, Site]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    allowed_port, other_port = free_port(), free_port()
    allowed = f"http://127.0.0.1:{allowed_port}"
    sources = {
        "website-form": {"scheme": "browser", "allowed_origins": [allowed], "min_fill_seconds": 1},
        "slow-form": {"scheme": "browser", "allowed_origins": [allowed], "min_fill_seconds": 60},
    }
    database_url = f"sqlite:///{tmp_path / 'service.db'}"
    engine = make_engine(database_url)
    upgrade_database(engine)
    settings = load_settings(database_url=database_url, intake_sources=sources, intake_form_key="f" * 40)
    with serving(create_app(settings, engine=engine), access_log=False) as url:
        snippet = snippet_html("website-form", intake_sources(settings)["website-form"], url)
        page = f"<!doctype html><html lang=en><head><title>Our program</title></head><body>{snippet}</body></html>"
        sites = {"allowed": _site(allowed_port, page), "other": _site(other_port, page)}
        try:
            yield Service(url, engine, f"sqlite:///{tmp_path / 'crm.db'}", sites)
        finally:
            for site in sites.values():
                site.server.shutdown()
                site.server.server_close()
    engine.dispose()


def inbox(service: Service) -> list[tuple[str, str | None]]:
    with service.engine.connect() as conn:
        rows = conn.execute(text("SELECT status, quarantine_reason FROM intake_inbox ORDER BY id"))
        return [(r[0], r[1]) for r in rows]


def fill_as_a_person(browser: Any, email: str) -> None:
    from selenium.webdriver.common.by import By

    for name, value in [
        ("first_name", "Mary"),
        ("last_name", "Seacole"),
        ("email", email),
        ("organization", "Kingston Nursing Collective"),
        ("message", "We would like to join the spring cohort."),
    ]:
        browser.find_element(By.NAME, name).send_keys(value)
    browser.find_element(By.ID, "ignite-consent_to_contact").click()


def deliver(service: Service) -> list[tuple[str, str]]:
    LocalCrm.create_database(service.crm_url, load_describes("npsp_pmm")).close()
    handler = IntakeHandler(
        service.engine, lambda: LocalCrm.open(service.crm_url), load_profile("npsp_pmm"), keep_connector=False
    )
    worker = Worker(service.engine, {INTAKE_JOB: handler}, poll_seconds=0.01)
    while worker.run_one():
        pass
    with LocalCrm.open(service.crm_url) as crm:
        return [(lead["Email"], lead["Company"]) for lead in crm.query_all("SELECT Email, Company FROM Lead")]


def wait_for(condition: Any, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the browser did not get there in time")
        time.sleep(0.05)


def test_a_person_fills_the_hosted_form_lands_on_the_thank_you_page_and_the_lead_reaches_the_crm(
    browser: Any, service: Service, artifacts: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{service.url}/forms/website-form")
    shown = time.monotonic()
    fill_as_a_person(browser, "mary@seacole.example.org")
    browser.save_screenshot(str(artifacts / "hosted-form.png"))
    time.sleep(max(0.0, 1.2 - (time.monotonic() - shown)))  # a person takes longer than min_fill_seconds
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: browser.current_url.endswith("/forms/website-form/thanks"))
    assert "Thank you" in browser.find_element(By.TAG_NAME, "h1").text
    browser.save_screenshot(str(artifacts / "thank-you.png"))
    assert inbox(service) == [("pending", None)]
    assert deliver(service) == [("mary@seacole.example.org", "Kingston Nursing Collective")]
    assert deliver(service) == [("mary@seacole.example.org", "Kingston Nursing Collective")]  # exactly once


def test_a_form_sent_faster_than_a_person_could_is_thanked_but_quarantined(browser: Any, service: Service) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{service.url}/forms/slow-form")
    fill_as_a_person(browser, "fast@example.org")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: browser.current_url.endswith("/forms/slow-form/thanks"))
    assert inbox(service) == [("quarantined", "too_fast")]
    assert deliver(service) == []


def test_the_pasted_snippet_works_from_an_allowed_origin_and_is_refused_from_another(
    browser: Any, service: Service, artifacts: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(service.sites["allowed"].origin + "/")
    token = browser.find_element(By.NAME, "_ignite_form_token")
    wait_for(lambda: token.get_attribute("value"))  # fetched across origins: CORS let the page read it
    fill_as_a_person(browser, "pasted@example.org")
    time.sleep(1.1)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: browser.current_url.endswith("/forms/website-form/thanks"))
    assert inbox(service) == [("pending", None)]

    browser.get(service.sites["other"].origin + "/")
    fill_as_a_person(browser, "elsewhere@example.org")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: "cannot be sent from here" in browser.page_source)
    browser.save_screenshot(str(artifacts / "wrong-origin.png"))
    assert inbox(service) == [("pending", None)]  # nothing kept from the other site


def test_the_form_can_be_filled_and_sent_with_the_keyboard_alone(
    browser: Any, service: Service, artifacts: Path
) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{service.url}/forms/website-form")
    shown = time.monotonic()
    keys = ActionChains(browser)
    typed = {
        "first_name": "Ida",
        "last_name": "Wells",
        "email": "ida@wells.example.org",
        "phone": "",
        "organization": "Wells Clinic",
        "job_title": "",
        "interest": "Spring cohort",
        "message": "Hello",
    }
    order = []
    for value in typed.values():
        keys.send_keys(Keys.TAB).perform()
        order.append(browser.switch_to.active_element.get_attribute("name"))
        if value:
            keys.send_keys(value).perform()
    assert order == list(typed)  # every field in reading order, nothing skipped
    keys.send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.get_attribute("name") == "consent_to_contact"
    keys.send_keys(Keys.SPACE).perform()
    keys.send_keys(Keys.TAB).perform()
    focused = browser.switch_to.active_element
    assert focused.tag_name == "button"  # the honeypot is out of the tab order
    browser.save_screenshot(str(artifacts / "keyboard-focus.png"))
    time.sleep(max(0.0, 1.2 - (time.monotonic() - shown)))
    keys.send_keys(Keys.ENTER).perform()
    wait_for(lambda: browser.current_url.endswith("/forms/website-form/thanks"))
    assert inbox(service) == [("pending", None)]
    assert deliver(service) == [("ida@wells.example.org", "Wells Clinic")]


def test_a_missing_field_comes_back_with_its_error_announced_and_tied_to_the_field(
    browser: Any, service: Service, artifacts: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{service.url}/forms/website-form")
    fill_as_a_person(browser, "not-an-email")
    browser.execute_script("document.querySelector('form').noValidate = true")  # as a browser without checks
    time.sleep(1.1)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: "Please correct" in browser.page_source)
    field = browser.find_element(By.NAME, "email")
    error = browser.find_element(By.ID, field.get_attribute("aria-describedby"))
    assert error.text and field.get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.NAME, "last_name").get_attribute("value") == "Seacole"
    browser.save_screenshot(str(artifacts / "form-errors.png"))
    assert inbox(service) == []


def test_with_javascript_off_the_hosted_form_delivers_and_the_pasted_one_is_kept_for_review(
    browser_without_javascript: Any, service: Service
) -> None:
    from selenium.webdriver.common.by import By

    browser = browser_without_javascript
    browser.get(f"{service.url}/forms/website-form")
    fill_as_a_person(browser, "nojs@example.org")
    time.sleep(1.1)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: browser.current_url.endswith("/forms/website-form/thanks"))
    assert inbox(service) == [("pending", None)]  # the hosted form's token is in the HTML, no script needed

    browser.get(service.sites["allowed"].origin + "/")
    assert browser.find_element(By.NAME, "_ignite_form_token").get_attribute("value") == ""  # no script ran
    fill_as_a_person(browser, "nojs-pasted@example.org")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(lambda: browser.current_url.endswith("/forms/website-form/thanks"))
    assert inbox(service) == [("pending", None), ("quarantined", "form_token")]  # kept for staff, not lost
