"""Python CertificateClient (Debian python3-azure, azure-keyvault-certificates) in proxy mode with
defaults: a Self-issued certificate through the create poller, its backing key used through
KeyClient and its backing secret (PKCS#12) read with SecretClient and opened with cryptography;
an Unknown-issuer request merged with a chain signed here; PEM and PKCS#12 (with password)
import; list, versions, update, policy, pending cancel/delete, contacts, issuers,
delete/recover/purge and backup/restore."""
import base64
import datetime
import hashlib
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, expect, expect_request  # noqa: E402

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.certificates import (CertificateClient, CertificateContact, CertificateContentType,  # noqa: E402
                                         CertificatePolicy, WellKnownIssuerNames)
from azure.keyvault.keys import KeyClient  # noqa: E402
from azure.keyvault.keys.crypto import CryptographyClient, SignatureAlgorithm  # noqa: E402
from azure.keyvault.secrets import SecretClient  # noqa: E402
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding  # noqa: E402
from cryptography.hazmat.primitives.serialization import pkcs12  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
VAULT = "kv-certs-py"
cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
ResourceManagementClient(cred, SUB).resource_groups.create_or_update("rg-certspy", {"location": "westeurope"})
KeyVaultManagementClient(cred, SUB).vaults.begin_create_or_update("rg-certspy", VAULT, {
    "location": "westeurope",
    "properties": {"tenant_id": TENANT, "sku": {"family": "A", "name": "standard"},
                   "access_policies": [{"tenant_id": TENANT, "object_id": SP_OBJECT_ID,
                                        "permissions": {"certificates": ["all", "purge"], "keys": ["all"],
                                                        "secrets": ["all"]}}]},
}).result()

url = f"https://{VAULT}.vault.azure.net"
certs = CertificateClient(url, cred)
keys = KeyClient(url, cred)
secrets = SecretClient(url, cred)

# Self issuer: the poller waits for the pending operation to complete.
policy = CertificatePolicy(issuer_name=WellKnownIssuerNames.self, subject="CN=app.contoso.com",
                           san_dns_names=["app.contoso.com", "api.contoso.com"], validity_in_months=12)
cert = certs.begin_create_certificate("web", policy).result()
expect(cert.id.startswith(f"{url}/certificates/web/"), f"id {cert.id}")
expect_request("POST", f"{url}/certificates/web/create", 202)
x = x509.load_der_x509_certificate(bytes(cert.cer))
expect(x.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "app.contoso.com", f"{x.subject}")
sans = x.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
expect(sans == ["app.contoso.com", "api.contoso.com"], f"SANs {sans}")
ekus = list(x.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
expect(ekus == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], f"EKUs {ekus}")
expect(cert.properties.x509_thumbprint == x.fingerprint(hashes.SHA1()), "x5t is the SHA-1 thumbprint")
x.public_key().verify(x.signature, x.tbs_certificate_bytes, padding.PKCS1v15(), x.signature_hash_algorithm)
expect(cert.policy.key_type == "RSA" and cert.policy.key_size == 2048, f"{cert.policy.key_type}")

# The backing key signs; the certificate's public key verifies.
key = keys.get_key("web", cert.properties.version)
expect(key.id == cert.key_id, f"kid {key.id} vs {cert.key_id}")
digest = hashlib.sha256(b"payload").digest()
sig = CryptographyClient(key, cred).sign(SignatureAlgorithm.rs256, digest).signature
x.public_key().verify(sig, b"payload", padding.PKCS1v15(), hashes.SHA256())

# The backing secret: a PKCS#12 without password with the private key of the certificate.
secret = secrets.get_secret("web", cert.properties.version)
expect(secret.properties.content_type == "application/x-pkcs12", f"{secret.properties.content_type}")
expect(secret.properties.managed is True and secret.properties.key_id == cert.key_id, "managed secret")
pkey, pcert, _ = pkcs12.load_key_and_certificates(base64.b64decode(secret.value), None)
expect(pcert.fingerprint(hashes.SHA1()) == x.fingerprint(hashes.SHA1()), "PKCS#12 holds the certificate")
expect(pkey.public_key().public_numbers() == x.public_key().public_numbers(), "PKCS#12 holds its key")

# Get, versions, update, policy.
expect(certs.get_certificate("web").id == cert.id, "get latest")
expect(certs.get_certificate_version("web", cert.properties.version).cer == cert.cer, "get version")
expect(len(list(certs.list_properties_of_certificate_versions("web"))) == 1, "one version")
updated = certs.update_certificate_properties("web", tags={"env": "test"}, enabled=False)
expect(updated.properties.tags == {"env": "test"} and updated.properties.enabled is False, "update")
pol = certs.get_certificate_policy("web")
expect(pol.subject == "CN=app.contoso.com" and pol.san_dns_names == ["app.contoso.com", "api.contoso.com"],
       f"policy {pol.subject} {pol.san_dns_names}")
pol2 = certs.update_certificate_policy("web", CertificatePolicy(issuer_name="Self", subject="CN=app.contoso.com",
                                                                validity_in_months=6))
expect(pol2.validity_in_months == 6, f"validity {pol2.validity_in_months}")

# Unknown issuer: the CSR is signed here by a CA of the test's own, then merged.
unknown = CertificatePolicy(issuer_name=WellKnownIssuerNames.unknown, subject="CN=merged.contoso.com",
                            content_type=CertificateContentType.pem)
# The poller stops at once for the Unknown issuer, with the operation still in progress.
certs.begin_create_certificate("merged", unknown).result()
pending = certs.get_certificate_operation("merged")
expect(pending.status == "inProgress" and pending.csr, f"pending {pending.status}")
csr = x509.load_der_x509_csr(bytes(pending.csr))
ca_key = ec.generate_private_key(ec.SECP256R1())
ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
now = datetime.datetime.now(datetime.timezone.utc)
leaf = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(ca_name).public_key(csr.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30)).sign(ca_key, hashes.SHA256()))
merged = certs.merge_certificate("merged", [leaf.public_bytes(serialization.Encoding.DER)])
expect(bytes(merged.cer) == leaf.public_bytes(serialization.Encoding.DER), "merged certificate")
expect(secrets.get_secret("merged").value.startswith("-----BEGIN PRIVATE KEY-----"), "PEM secret")

# Import: PEM, and PKCS#12 with a password.
imp_key = ec.generate_private_key(ec.SECP384R1())
imp_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "imported")])
imp_cert = (x509.CertificateBuilder().subject_name(imp_name).issuer_name(imp_name).public_key(imp_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=90)).sign(imp_key, hashes.SHA384()))
pem = imp_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()) + imp_cert.public_bytes(serialization.Encoding.PEM)
imported = certs.import_certificate("imported-pem", pem,
                                    policy=CertificatePolicy(issuer_name="Unknown", subject="CN=imported",
                                                             content_type=CertificateContentType.pem))
expect(bytes(imported.cer) == imp_cert.public_bytes(serialization.Encoding.DER), "PEM import")
expect(imported.policy.key_type == "EC" and imported.policy.key_curve_name == "P-384",
       f"{imported.policy.key_type} {imported.policy.key_curve_name}")
pfx = pkcs12.serialize_key_and_certificates(b"imp", imp_key, imp_cert, None,
                                            serialization.BestAvailableEncryption(b"s3cret"))
imported2 = certs.import_certificate("imported-pfx", pfx, password="s3cret")
expect(imported2.properties.x509_thumbprint == imp_cert.fingerprint(hashes.SHA1()), "PKCS#12 import")
try:
    certs.import_certificate("imported-bad", pfx, password="wrong")
    expect(False, "a wrong password was accepted")
except HttpResponseError as e:
    expect(e.status_code == 400, f"wrong password: {e.status_code}")

names = sorted(p.name for p in certs.list_properties_of_certificates())
expect(names == ["imported-pem", "imported-pfx", "merged", "web"], f"list {names}")

# Pending operation: cancel and delete.
certs.begin_create_certificate("cancelled", CertificatePolicy(issuer_name="Unknown", subject="CN=c"))
cancelled = certs.cancel_certificate_operation("cancelled")
expect(cancelled.cancellation_requested is True, "cancellation requested")
certs.delete_certificate_operation("cancelled")
try:
    certs.get_certificate_operation("cancelled")
    expect(False, "the deleted pending operation is still there")
except ResourceNotFoundError:
    pass

# Contacts and issuers.
certs.set_contacts([CertificateContact(email="ops@contoso.com", name="Ops", phone="555")])
expect([c.email for c in certs.get_contacts()] == ["ops@contoso.com"], "contacts")
certs.delete_contacts()
issuer = certs.create_issuer("digi", "Test", account_id="acct", password="hidden")
expect(issuer.provider == "Test" and issuer.account_id == "acct", "issuer")
expect(certs.update_issuer("digi", provider="Other").provider == "Other", "issuer update")
expect([i.name for i in certs.list_properties_of_issuers()] == ["digi"], "issuers")
certs.delete_issuer("digi")

# Delete, recover, backup, purge, restore.
backup = certs.backup_certificate("web")
deleted = certs.begin_delete_certificate("web").result()
expect(deleted.recovery_id == f"{url}/deletedcertificates/web", f"{deleted.recovery_id}")
try:
    keys.get_key("web")
    expect(False, "the key outlived its certificate")
except ResourceNotFoundError:
    pass
certs.begin_recover_deleted_certificate("web").result()
expect(keys.get_key("web").id == cert.key_id, "the key came back")
certs.begin_delete_certificate("web").result()
certs.purge_deleted_certificate("web")
restored = certs.restore_certificate_backup(backup)
expect(restored.id == cert.id and restored.cer == cert.cer, "restore")
print("ok")
