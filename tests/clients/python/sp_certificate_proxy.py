"""Python CertificateCredential with default settings in proxy mode: a certificate made here
(python3-cryptography), an application id the default fixture does not know (non-strict mode
admits it on the fly, docs/identity.md). MSAL signs a client assertion with the key; the token
says so (appidacr 2) and ARM accepts it. Then DefaultAzureCredential from the environment
(AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_CERTIFICATE_PATH: its EnvironmentCredential)."""
import datetime
import os
import sys
import uuid

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import TENANT, V1_ISSUER, check_claims, expect, expect_request  # noqa: E402

from azure.identity import CertificateCredential, DefaultAzureCredential  # noqa: E402
from azure.mgmt.resource import SubscriptionClient  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cmk-emulator client test")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
pem_path = os.path.join(os.environ["CMK_SCRATCH"], "client.pem")
with open(pem_path, "wb") as f:
    f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))
    f.write(cert.public_bytes(serialization.Encoding.PEM))

app_id = str(uuid.uuid4())
cred = CertificateCredential(TENANT, app_id, certificate_path=pem_path)
tok = cred.get_token("https://management.azure.com/.default")
check_claims(tok.token, aud="https://management.azure.com", tid=TENANT, iss=V1_ISSUER, appid=app_id,
             appidacr="2", idtyp="app")
expect_request("POST", f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token", 200)

subs = list(SubscriptionClient(cred).subscriptions.list())
expect(len(subs) >= 1 and subs[0].tenant_id == TENANT, f"subscriptions: {subs}")

os.environ.update(AZURE_TENANT_ID=TENANT, AZURE_CLIENT_ID=app_id, AZURE_CLIENT_CERTIFICATE_PATH=pem_path)
tok = DefaultAzureCredential().get_token("https://management.azure.com/.default")
check_claims(tok.token, aud="https://management.azure.com", tid=TENANT, appid=app_id, appidacr="2")
print("ok")
