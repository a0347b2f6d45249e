"""`ignite-sync sandbox`: a Salesforce-compatible HTTPS server over a local CRM, with optional injected faults.

It prints (and writes to `<dir>/sandbox.env`) the settings that point the real Salesforce adapter at it, so
`IGNITE_CRM=salesforce` runs the production code path end to end with no org.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from cli.context import console, get_context


def sandbox_command(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="HTTPS port on the loopback interface.")] = 8443,
    host: Annotated[str, typer.Option(help="Address to listen on (keep it on loopback).")] = "127.0.0.1",
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the sandbox keeps its CRM database, CA and env file.")
    ] = Path(".ignite-sandbox"),
    seed: Annotated[int, typer.Option(help="Seed for fault injection: same seed and rules, same faults.")] = 0,
    fault: Annotated[
        list[str] | None,
        typer.Option(help="ENDPOINT:FAULT[:PROBABILITY[:TIMES]], e.g. collections:503:0.2 (repeatable)."),
    ] = None,
    script: Annotated[
        list[str] | None,
        typer.Option(help="ENDPOINT:FAULT,FAULT,… played in order on matching requests, e.g. bulk.poll:500,ok,reset."),
    ] = None,
    daily_limit: Annotated[int, typer.Option(help="Daily API allocation reported in Sforce-Limit-Info.")] = 100_000,
    slow_seconds: Annotated[float, typer.Option(help="How long a `slow` fault holds its answer.")] = 3.0,
) -> None:
    """Serve the Salesforce REST API (and SOAP login, Bulk 2.0) over HTTPS on top of a local CRM."""
    from sandbox.app import SandboxConfig, create_sandbox_app
    from sandbox.faults import FaultPlan, parse_fault_flag, parse_script_flag
    from sandbox.server import serve_forever
    from sandbox.tls import make_tls_files

    context = get_context(ctx)
    settings = context.settings
    try:
        fault, script = fault or [], script or []
        rules = [parse_fault_flag(f) for f in fault] + [parse_script_flag(s) for s in script]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    directory = directory.resolve()
    crm = context.wiring.local_crm(f"sqlite:///{directory / 'sandbox-crm.db'}")
    config = SandboxConfig(session_id=secrets.token_urlsafe(24), daily_limit=daily_limit, slow_seconds=slow_seconds)
    app = create_sandbox_app(crm, config, FaultPlan(seed=seed, rules=rules))
    tls = make_tls_files(directory / "tls")
    shown = "localhost" if host in ("0.0.0.0", "::") else host  # noqa: S104 - only used to print a URL
    env = {
        "IGNITE_CRM": "salesforce",
        "IGNITE_SF_AUTH": "session",
        "IGNITE_SF_INSTANCE_URL": f"https://{shown}:{port}",
        "IGNITE_SF_SESSION_ID": config.session_id or "",
        "IGNITE_SF_CA_BUNDLE": str(tls.ca_bundle),
    }
    env_file = directory / "sandbox.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    env_file.chmod(0o600)
    console.print(f"[bold]Salesforce sandbox[/bold] on https://{shown}:{port} (profile {settings.profile})")
    console.print(f"CA bundle: {tls.ca_bundle}")
    console.print(f"SOAP login: {config.username} / {config.password} + token {config.security_token}")
    if rules:
        console.print(f"faults (seed {seed}): " + "; ".join(fault + script))
    console.print(f"Point ignite-sync at it (also in {env_file}):")
    for key, value in env.items():
        console.print(f"  export {key}={value}", highlight=False, soft_wrap=True)
    serve_forever(app, tls, host, port)
