"""TLS of the client listener, and of the node's own calls to its peers.

The listener presents ``JQM_TLS_CERT_FILE`` / ``JQM_TLS_KEY_FILE`` (TLS 1.2 or later); clients need
no certificate. A node calls its peers over HTTPS as soon as it has a certificate itself. With
``JQM_TLS_CA_FILE`` it requires each peer's certificate to chain to that CA; the certificate's names
are not compared with the peer's address (peers are reached by pod IP, which certificates for a
Service name do not carry). Without a CA the connection is encrypted but the peer's certificate is
not verified. Either way, requests are authenticated by their signature (``cluster.peerauth``).
"""

from __future__ import annotations

import ssl

from jqm_node.security_settings import TlsFiles


def server_context(files: TlsFiles) -> ssl.SSLContext:
    """Raises OSError or ssl.SSLError when the certificate or key cannot be loaded."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert, files.key)
    return context


def peer_client_context(files: TlsFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(files.ca) if files.ca else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    if files.ca is None:
        context.verify_mode = ssl.CERT_NONE
    return context
