"""A throwaway certificate authority and a loopback server certificate, so the sandbox is real HTTPS.

simple-salesforce only speaks `https://`; instead of bending its URLs, the sandbox serves TLS with a cert
from a CA made on the spot (trustme), and clients trust that CA through IGNITE_SF_CA_BUNDLE.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import trustme


@dataclass(frozen=True)
class TlsFiles:
    ca_bundle: Path  # give this to clients (IGNITE_SF_CA_BUNDLE / requests' verify)
    cert_chain: Path
    private_key: Path


def make_tls_files(directory: Path, hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")) -> TlsFiles:
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="ignite-sync sandbox")
    cert = ca.issue_cert(*hosts)
    files = TlsFiles(directory / "sandbox-ca.pem", directory / "sandbox-cert.pem", directory / "sandbox-key.pem")
    ca.cert_pem.write_to_path(str(files.ca_bundle))
    cert.private_key_pem.write_to_path(str(files.private_key))
    files.private_key.chmod(0o600)
    with files.cert_chain.open("wb") as out:
        for blob in cert.cert_chain_pems:
            out.write(blob.bytes())
    return files
