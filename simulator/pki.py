"""A test PKI shaped like IGC-Santé's, for the simulator's TLS (``insi-dmp-sim certs``).

One self-signed test CA, clearly marked as the simulator's, signs:

* a server certificate (CN = host; SAN DNS ``localhost``, IP ``127.0.0.1`` and the host);
* two organisation certificates shaped like the INSi mTLS ones (domain brief §2.4):
  CN ``INSI-AUTO`` / ``INSI-MANU``, OU = the structure id (used as ``Emetteur``),
  O = a test organisation;
* a CPS-like personal certificate (CN = an RPPS-like id, title, given name, surname),
  which INSi refuses with ``DESIR_560``;
* a structure signing certificate shaped like IGC-Santé ORG SIGN (CN ``ORG-SIGN``, OU =
  the structure id, KeyUsage digitalSignature + nonRepudiation, no extended key usage),
  the certificate that signs the VIHF and the XAdES lot signature (DMP brief §1.4: a
  separate ``…-ORG-SIGN-….p12`` signs them, the ORG AUTH_CLI one is for TLS). Trust
  ``test-ca-cert.pem`` with ``SIM_DMP_TRUSTED_CAS`` to have the DMP judge its chain.

Real CPS certificates come from another IGC-Santé CA ("PERSONNES"); here one CA signs
everything so that the server verifies every client and the INSi rule decides.
Keys are RSA 2048 without pass-phrase: test material only, never for production.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_STRUCTURE = "10B0152872"
DEFAULT_HOST = "localhost"
CA_COMMON_NAME = "TEST AC IGC-SANTE ELEMENTAIRE ORGANISATIONS (SIMULATED)"
CA_UNIT = "INSI-DMP-SIMULATOR TEST CA - NOT IGC-SANTE"
SIMULATOR_ORG = "INSI-DMP-SIMULATOR"
TEST_ORGANISATION = "CENTRE HOSPITALIER DE TEST (SIMULATED)"
CPS_ID = "899700000001"  # RPPS-like: 8 + 99700000001 (test range)
CPS_TITLE, CPS_GIVEN_NAME, CPS_SURNAME = "MEDECIN", "CAMILLE", "TESTEUR"
ORG_SIGN_CN = "ORG-SIGN"
CA_YEARS, LEAF_YEARS = 10, 3


@dataclass(frozen=True)
class Issued:
    """One certificate's files: key, certificate, and key + certificate together."""

    label: str
    key: Path
    cert: Path
    combined: Path | None = None

    def paths(self) -> list[Path]:
        return [p for p in (self.cert, self.key, self.combined) if p is not None]


@dataclass(frozen=True)
class Pki:
    """The files of a test PKI in ``directory`` (names are fixed)."""

    directory: Path

    def _issued(self, stem: str, label: str, combined: bool = True) -> Issued:
        d = self.directory
        return Issued(label, d / f"{stem}-key.pem", d / f"{stem}-cert.pem",
                      d / f"{stem}.pem" if combined else None)

    @property
    def ca(self) -> Issued:
        return self._issued("test-ca", "test CA (trust it to verify the server and clients)",
                            combined=False)

    @property
    def server(self) -> Issued:
        return self._issued("server", "server certificate (serve --tls)", combined=False)

    @property
    def insi_auto(self) -> Issued:
        return self._issued("client-insi-auto", "organisation client certificate, CN INSI-AUTO")

    @property
    def insi_manu(self) -> Issued:
        return self._issued("client-insi-manu", "organisation client certificate, CN INSI-MANU")

    @property
    def cps(self) -> Issued:
        return self._issued("client-cps-personal",
                            "CPS-like personal certificate (INSi answers DESIR_560)")

    @property
    def org_sign(self) -> Issued:
        return self._issued("org-sign", "structure signing certificate shaped like "
                            "IGC-Santé ORG SIGN (signs the VIHF and the XAdES lot signature)")

    def all(self) -> list[Issued]:
        return [self.ca, self.server, self.insi_auto, self.insi_manu, self.cps, self.org_sign]

    def exists(self) -> bool:
        return all(p.is_file() for issued in self.all() for p in issued.paths())


def generate_pki(directory: Path, structure: str = DEFAULT_STRUCTURE,
                 host: str = DEFAULT_HOST, now: dt.datetime | None = None) -> Pki:
    """Write a fresh test PKI into ``directory`` (created; existing files replaced)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(directory)
    # Real time, not the simulated clock: TLS stacks check validity against the wall clock.
    # A day back absorbs clock skew between the machines.
    now = (now or dt.datetime.now(dt.timezone.utc)) - dt.timedelta(days=1)

    ca_key = _new_key()
    ca_name = _name([(NameOID.COUNTRY_NAME, "FR"), (NameOID.ORGANIZATION_NAME, SIMULATOR_ORG),
                     (NameOID.ORGANIZATIONAL_UNIT_NAME, CA_UNIT),
                     (NameOID.COMMON_NAME, CA_COMMON_NAME)])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (_builder(ca_name, ca_name, ca_key, now, CA_YEARS)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(_key_usage(cert_sign=True), critical=True)
               .add_extension(ca_ski, critical=False)
               .sign(ca_key, hashes.SHA256()))
    _write(pki.ca, ca_key, ca_cert)

    def issue(issued: Issued, subject: x509.Name, usage, san=None, signing=False):
        key = _new_key()
        builder = (_builder(subject, ca_name, key, now, LEAF_YEARS)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(_key_usage(signing=signing), critical=True))
        if usage is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        builder = (builder
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                                  critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                       ca_ski), critical=False))
        if san is not None:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        _write(issued, key, builder.sign(ca_key, hashes.SHA256()))

    issue(pki.server, _name([(NameOID.COUNTRY_NAME, "FR"),
                             (NameOID.ORGANIZATION_NAME, SIMULATOR_ORG),
                             (NameOID.COMMON_NAME, host)]),
          ExtendedKeyUsageOID.SERVER_AUTH, _server_san(host))
    for issued, cn in ((pki.insi_auto, "INSI-AUTO"), (pki.insi_manu, "INSI-MANU")):
        issue(issued, organisation_subject(cn, structure), ExtendedKeyUsageOID.CLIENT_AUTH)
    issue(pki.cps, _name([(NameOID.COUNTRY_NAME, "FR"),
                          (NameOID.ORGANIZATION_NAME, TEST_ORGANISATION),
                          (NameOID.ORGANIZATIONAL_UNIT_NAME, structure),
                          (NameOID.TITLE, CPS_TITLE), (NameOID.SURNAME, CPS_SURNAME),
                          (NameOID.GIVEN_NAME, CPS_GIVEN_NAME),
                          (NameOID.COMMON_NAME, CPS_ID)]),
          ExtendedKeyUsageOID.CLIENT_AUTH)
    issue(pki.org_sign, organisation_subject(ORG_SIGN_CN, structure), None, signing=True)
    (directory / "README.txt").write_text(describe(pki, structure, host) + "\n",
                                          encoding="utf-8")
    return pki


def ensure_pki(directory: Path, structure: str = DEFAULT_STRUCTURE,
               host: str = DEFAULT_HOST) -> tuple[Pki, bool]:
    """The PKI in ``directory``, generated when incomplete; (pki, generated now)."""
    pki = Pki(Path(directory))
    if pki.exists():
        return pki, False
    return generate_pki(directory, structure, host), True


def organisation_subject(cn: str, structure: str) -> x509.Name:
    """An organisation certificate's subject as IGC-Santé shapes it: OU = structure id."""
    return _name([(NameOID.COUNTRY_NAME, "FR"), (NameOID.ORGANIZATION_NAME, TEST_ORGANISATION),
                  (NameOID.ORGANIZATIONAL_UNIT_NAME, structure), (NameOID.COMMON_NAME, cn)])


def describe(pki: Pki, structure: str, host: str) -> str:
    """What each file is, for the command's output and the directory's README.txt."""
    lines = [f"Test PKI of insi-dmp-simulator in {pki.directory} (NOT for production):",
             f"  CA {CA_COMMON_NAME!r}; server CN {host!r}; structure (OU) {structure!r}"]
    for issued in pki.all():
        lines.append(f"  {issued.label}:")
        lines += [f"    {p.name}" for p in issued.paths()]
    lines.append("  *-key.pem: private key, *-cert.pem: certificate, "
                 "client-*.pem: key + certificate (curl --cert, requests cert=)")
    return "\n".join(lines)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(attributes) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def _builder(subject, issuer, key, now, years) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365 * years)))


def _key_usage(cert_sign: bool = False, signing: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not cert_sign, content_commitment=signing,
                         key_encipherment=not (cert_sign or signing), data_encipherment=False,
                         key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
                         encipher_only=False, decipher_only=False)


def _server_san(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            names.insert(1, x509.DNSName(host))
    else:
        if not address.is_unspecified and str(address) != "127.0.0.1":
            names.append(x509.IPAddress(address))
    return names


def _write(issued: Issued, key, cert: x509.Certificate) -> None:
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    _write_private(issued.key, key_pem)
    issued.cert.write_bytes(cert_pem)
    if issued.combined is not None:
        _write_private(issued.combined, key_pem + cert_pem)


def _write_private(path: Path, data: bytes) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
