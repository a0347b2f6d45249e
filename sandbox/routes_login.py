"""SOAP login (`/services/Soap/u/{version}`): how simple-salesforce turns username, password and token into a
session id, which the front then requires on every REST call.

The sandbox answers only the parts of the partner WSDL's loginResponse that clients read, and a
`LoginFault` in Salesforce's shape for wrong credentials.
"""

from __future__ import annotations

import html
import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sandbox.state import ORG_ID, USER_ID, SandboxState


def login_router(state: SandboxState) -> APIRouter:
    router = APIRouter()

    @router.post("/services/Soap/u/{version}")
    async def soap_login(version: str, request: Request) -> Response:
        body = (await request.body()).decode("utf-8", errors="replace")
        username = _xml_value(body, "username")
        password = _xml_value(body, "password")
        cfg = state.config
        if username != cfg.username or password != cfg.password + cfg.security_token:
            return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        sid = state.new_session()
        base = str(request.base_url).rstrip("/")
        return Response(
            _soap_login_response(sid, f"{base}/services/Soap/u/{version}/{ORG_ID}", username),
            200,
            media_type="text/xml",
        )

    return router


def _xml_value(body: str, tag: str) -> str | None:
    match = re.search(rf"<(?:\w+:)?{tag}>(.*?)</(?:\w+:)?{tag}>", body, re.DOTALL)
    return html.unescape(match.group(1)) if match else None


def _soap_fault(code: str, message: str) -> Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com">'
        f"<soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {html.escape(message)}"
        f"</faultstring><detail><sf:LoginFault><sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>"
        f"{html.escape(message)}</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>"
        "</soapenv:Envelope>"
    )
    return Response(xml, 500, media_type="text/xml")


def _soap_login_response(session_id: str, server_url: str, username: str | None) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com">'
        "<soapenv:Body><loginResponse><result>"
        f"<metadataServerUrl>{html.escape(server_url)}</metadataServerUrl><passwordExpired>false</passwordExpired>"
        f"<sandbox>true</sandbox><serverUrl>{html.escape(server_url)}</serverUrl>"
        f"<sessionId>{html.escape(session_id)}</sessionId><userId>{USER_ID}</userId>"
        f"<userInfo><organizationId>{ORG_ID}</organizationId><userName>{html.escape(username or '')}</userName>"
        "</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )
