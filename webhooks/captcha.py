"""Server-side CAPTCHA verification (Cloudflare Turnstile, hCaptcha, reCAPTCHA share one protocol).

Each provider's `siteverify` endpoint takes `secret`, `response` (the widget's token) and optionally
`remoteip` as a form post and answers JSON with `success`.  The endpoint is per-source configuration, so tests
run against a local fake.  Never loses a post: a failed check quarantines it (`captcha`), and a verifier that
cannot be reached or answers nonsense quarantines it too (`captcha_unavailable`), for staff to release.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from webhooks.sources import Captcha

CAPTCHA_FAILED = "captcha"
CAPTCHA_UNAVAILABLE = "captcha_unavailable"


@dataclass(frozen=True, slots=True)
class CaptchaResult:
    problem: str | None  # None: verified; else CAPTCHA_FAILED or CAPTCHA_UNAVAILABLE
    rule: str = ""


async def verify_captcha(config: Captcha, response: str | None, remote_ip: str | None) -> CaptchaResult:
    if not response:
        return CaptchaResult(CAPTCHA_FAILED, f"the form carried no {config.field} (the CAPTCHA was not solved)")
    data = {"secret": config.secret.get_secret_value(), "response": response}
    if remote_ip:
        data["remoteip"] = remote_ip
    try:
        async with httpx.AsyncClient(timeout=config.timeout_seconds) as client:
            answer = await client.post(config.endpoint, data=data)
        verdict = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        verdict = None
    if not isinstance(verdict, dict) or not isinstance(verdict.get("success"), bool):
        return CaptchaResult(
            CAPTCHA_UNAVAILABLE, f"the {config.provider} verifier could not be reached or answered nonsense"
        )
    if not verdict["success"]:
        codes = verdict.get("error-codes")
        detail = ", ".join(str(c) for c in codes[:5]) if isinstance(codes, list) and codes else "no reason given"
        return CaptchaResult(CAPTCHA_FAILED, f"the {config.provider} verifier refused the token ({detail})")
    return CaptchaResult(None)
