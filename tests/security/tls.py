"""Throw-away TLS material for a test broker: a CA, a server certificate for 127.0.0.1.

Python clients get PEM files (the CA certificate for NICHEWATCH_KAFKA_SSL_CAFILE);
the broker gets a PKCS12 keystore. Generated with ``openssl`` and checked with
``keytool`` (JDK), so the JVM is known to read the keystore before a broker uses it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

KEYSTORE_PASSWORD = "nw-keystore-pass"

_CA_EXT = """[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

_SERVER_EXT = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class TlsFiles:
    ca_cert: Path
    """PEM: what clients trust."""
    keystore: Path
    """PKCS12: the broker's key and certificate chain."""
    keystore_password: str = KEYSTORE_PASSWORD

    def listener_properties(self, listener: str) -> dict[str, str]:
        """Broker properties that put this keystore on ``listener``."""
        prefix = f"listener.name.{listener.lower()}."
        return {
            prefix + "ssl.keystore.type": "PKCS12",
            prefix + "ssl.keystore.location": str(self.keystore),
            prefix + "ssl.keystore.password": self.keystore_password,
            prefix + "ssl.key.password": self.keystore_password,
            prefix + "ssl.client.auth": "none",
        }


def _run(*args: str, cwd: Path) -> None:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def make_tls(directory: Path) -> TlsFiles:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ca.cnf").write_text(
        "[req]\ndistinguished_name = dn\n[dn]\n" + _CA_EXT
    )
    (directory / "server.ext").write_text(_SERVER_EXT)
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=nichewatch test CA",
         "-config", "ca.cnf", "-extensions", "v3_ca", cwd=directory)
    _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key",
         "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=directory)
    _run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "server.ext", cwd=directory)
    _run("openssl", "pkcs12", "-export", "-in", "server.pem", "-inkey", "server.key",
         "-certfile", "ca.pem", "-name", "kafka", "-out", "server.p12",
         "-passout", f"pass:{KEYSTORE_PASSWORD}", cwd=directory)
    _run("keytool", "-list", "-keystore", "server.p12", "-storetype", "PKCS12",
         "-storepass", KEYSTORE_PASSWORD, cwd=directory)
    return TlsFiles(ca_cert=directory / "ca.pem", keystore=directory / "server.p12")
