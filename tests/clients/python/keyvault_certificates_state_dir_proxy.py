"""--state-dir keeps Key Vault certificates across a restart, with Python's CertificateClient
(Debian python3-azure) in proxy mode. The scenario runs an emulator of its own with --state-dir
(sharing the harness emulator's CA, so the proxy-mode environment's trust still holds), builds
certificates with the SDKs (a Self-issued one, a PEM import with tags, an Unknown-issuer request
left pending, one deleted), the vault's contacts and an issuer, kills that emulator with SIGKILL
and starts another on the same directory. The SDKs then find everything as it was: the same
versions and X.509, the key and the PKCS #12 secret behind them by kid and sid, the pending
request's CSR, which now merges with a chain signed here (its key survived), the deleted
certificate, which recovers, the contacts and the issuer. Neither emulator's log shows a private
key."""
import datetime
import json
import os
import signal
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, expect  # noqa: E402

from azure.core.exceptions import ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.certificates import (CertificateClient, CertificateContact, CertificateContentType,  # noqa: E402
                                         CertificatePolicy, WellKnownIssuerNames)
from azure.keyvault.keys import KeyClient  # noqa: E402
from azure.keyvault.secrets import SecretClient  # noqa: E402
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
SOURCE = os.environ["CMK_SOURCE_DIR"]
BINARY = os.environ.get("CMK_BINARY") or os.path.join(SOURCE, "build", "cmk-emulator")
SCRATCH = os.environ["CMK_SCRATCH"]
STATE = os.path.join(SCRATCH, "state")
VAULT = "kv-certs-restart"
URL = f"https://{VAULT}.vault.azure.net"


class Emulator:
    """An emulator on --state-dir STATE; the SDKs of this process talk to it through its proxy."""

    def __init__(self, name):
        self.log_path = os.path.join(SCRATCH, f"{name}.log")
        self.proc = subprocess.Popen(
            [BINARY, "--https-port", "0", "--http-port", "0", "--log-level", "info",
             "--certs-dir", os.path.dirname(os.environ["CMK_CA_FILE"]), "--state-dir", STATE,
             "--lro-policy", "immediate"],
            cwd=SCRATCH, stdout=subprocess.PIPE, stderr=open(self.log_path, "w"), text=True)
        ready = json.loads(self.proc.stdout.readline() or "{}")
        expect(ready.get("event") == "ready", f"{name} did not start: {ready}; log:\n{self.log()[-2000:]}")
        self.http_port = ready["http_port"]
        for var in ("HTTPS_PROXY", "https_proxy"):
            os.environ[var] = f"http://127.0.0.1:{self.http_port}"

    def admin(self, path):
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{self.http_port}/_emulator/{path}", timeout=30) as r:
            return json.load(r)

    def log(self):
        with open(self.log_path, encoding="utf-8") as f:
            return f.read()

    def check_hermetic(self):
        refusals = self.admin("proxy/refusals")
        expect(refusals["count"] == 0, f"the proxy refused: {refusals}")


def clients():
    cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
    return cred, CertificateClient(URL, cred), KeyClient(URL, cred), SecretClient(URL, cred)


# --- the first emulator: the SDKs build the certificates
first = Emulator("first")
cred, certs, keys, secrets = clients()
ResourceManagementClient(cred, SUB).resource_groups.create_or_update("rg-restart", {"location": "westeurope"})
KeyVaultManagementClient(cred, SUB).vaults.begin_create_or_update("rg-restart", VAULT, {
    "location": "westeurope",
    "properties": {"tenant_id": TENANT, "sku": {"family": "A", "name": "standard"},
                   "access_policies": [{"tenant_id": TENANT, "object_id": SP_OBJECT_ID,
                                        "permissions": {"certificates": ["all", "purge"], "keys": ["all"],
                                                        "secrets": ["all"]}}]},
}).result()

web = certs.begin_create_certificate("web", CertificatePolicy(
    issuer_name=WellKnownIssuerNames.self, subject="CN=web.contoso.com", validity_in_months=12)).result()
web_secret = secrets.get_secret("web", web.properties.version)

now = datetime.datetime.now(datetime.timezone.utc)
imp_key = ec.generate_private_key(ec.SECP256R1())
imp_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imported.contoso.com")])
imp_cert = (x509.CertificateBuilder().subject_name(imp_name).issuer_name(imp_name).public_key(imp_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=90)).sign(imp_key, hashes.SHA256()))
pem = imp_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()) + imp_cert.public_bytes(serialization.Encoding.PEM)
imported = certs.import_certificate("imported", pem, tags={"source": "pem"}, policy=CertificatePolicy(
    issuer_name="Unknown", subject="CN=imported.contoso.com", content_type=CertificateContentType.pem))

# Unknown issuer: the request stays pending (the poller stops at once) until a merge.
certs.begin_create_certificate("csr", CertificatePolicy(
    issuer_name=WellKnownIssuerNames.unknown, subject="CN=csr.contoso.com")).result()
csr_before = bytes(certs.get_certificate_operation("csr").csr)

gone = certs.begin_create_certificate("gone", CertificatePolicy(
    issuer_name=WellKnownIssuerNames.self, subject="CN=gone.contoso.com")).result()
certs.begin_delete_certificate("gone").result()

certs.set_contacts([CertificateContact(email="ops@contoso.com", name="Ops", phone="555-0100")])
certs.create_issuer("test-ca", "Test", account_id="acct-1", password="issuer-password-5a")
first.check_hermetic()

# --- SIGKILL: every acknowledged write must already be on disk
first.proc.send_signal(signal.SIGKILL)
first.proc.wait()

# --- the second emulator on the same directory: the SDKs find everything as it was
second = Emulator("second")
cred, certs, keys, secrets = clients()

back = certs.get_certificate("web")
expect(back.properties.version == web.properties.version and bytes(back.cer) == bytes(web.cer),
       "web: the same version and X.509 after the restart")
expect(keys.get_key(back.key_id.split("/")[-2], back.key_id.split("/")[-1]).id == web.key_id,
       "web: its kid resolves")
expect(secrets.get_secret("web", back.properties.version).value == web_secret.value,
       "web: its sid resolves to the same PKCS #12")
expect(len(list(certs.list_properties_of_certificate_versions("web"))) == 1, "web: one version")

imp_back = certs.get_certificate("imported")
expect(bytes(imp_back.cer) == imp_cert.public_bytes(serialization.Encoding.DER), "imported: the same X.509")
expect(imp_back.properties.tags == {"source": "pem"}, f"imported: tags {imp_back.properties.tags}")
expect(imp_back.policy.content_type == CertificateContentType.pem, "imported: PEM content type")
expect(secrets.get_secret("imported").value.startswith("-----BEGIN PRIVATE KEY-----"), "imported: PEM secret")

op = certs.get_certificate_operation("csr")
expect(op.status == "inProgress" and bytes(op.csr) == csr_before, f"csr: still pending, same CSR ({op.status})")
csr = x509.load_der_x509_csr(csr_before)
ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
leaf = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca_name).public_key(csr.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30)).sign(ca_key, hashes.SHA256()))
merged = certs.merge_certificate("csr", [leaf.public_bytes(serialization.Encoding.DER)])
expect(bytes(merged.cer) == leaf.public_bytes(serialization.Encoding.DER), "csr: merges after the restart")

deleted = certs.get_deleted_certificate("gone")
expect(deleted.properties.version == gone.properties.version and deleted.scheduled_purge_date,
       "gone: still deleted, same version")
try:
    certs.get_certificate("gone")
    expect(False, "gone: readable while deleted")
except ResourceNotFoundError:
    pass
recovered = certs.begin_recover_deleted_certificate("gone").result()
expect(bytes(recovered.cer) == bytes(gone.cer), "gone: recovers with its X.509")
expect(secrets.get_secret("gone").properties.version == gone.properties.version, "gone: its secret recovers")

contacts = certs.get_contacts()
expect([(c.email, c.name, c.phone) for c in contacts] == [("ops@contoso.com", "Ops", "555-0100")],
       f"contacts {contacts}")
issuer = certs.get_issuer("test-ca")
expect(issuer.provider == "Test" and issuer.account_id == "acct-1", f"issuer {issuer.provider}")

# The saved state is the state a public export shows: no private material in it, nor in a log.
public = json.dumps(second.admin("state"))
expect('"material"' not in public and "PRIVATE KEY" not in public and "issuer-password-5a" not in public,
       "the public export carries no private material")
second.check_hermetic()
second.proc.send_signal(signal.SIGTERM)
expect(second.proc.wait(timeout=60) == 0, "the second emulator stops cleanly")
for e in (first, second):
    expect("PRIVATE KEY" not in e.log() and "issuer-password-5a" not in e.log(), f"{e.log_path}: private material")
    expect(" -> 500 " not in e.log(), f"{e.log_path}: a 500")
print("ok")
