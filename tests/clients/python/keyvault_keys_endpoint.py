"""Python KeyClient / CryptographyClient (Debian python3-azure) in endpoint mode, no proxy for the
emulator's names: ClientSecretCredential against the emulator's login on https://localhost:<port>,
the vault made through ARM there, then the same key scenario twice:
(a) https://<vault>.vault.localhost:<port> with default client settings (the challenge names
    https://vault.localhost:<port>, which passes the SDK's resource check);
(b) https://localhost:<port> with verify_challenge_resource=False (no vault in the host name: the
    emulator serves the only vault there).
Each: create RSA-2048, get, wrap locally with n/e and unwrap on the server, encrypt/decrypt,
sign/verify, delete and recover."""
import hashlib
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import (HTTPS_PORT, SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, bypass_proxy_for,  # noqa: E402
                        expect, expect_request, only_loopback_requests, resolve_to_loopback)

from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.keys import KeyClient  # noqa: E402
from azure.keyvault.keys.crypto import (CryptographyClient, EncryptionAlgorithm, KeyWrapAlgorithm,  # noqa: E402
                                        SignatureAlgorithm)
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa as rsa_keys  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
VAULT = "kv-ep-py"
VAULT_HOST = f"{VAULT}.vault.localhost"
EMU = f"https://localhost:{HTTPS_PORT}"

resolve_to_loopback(VAULT_HOST)  # the /etc/hosts line of the recipe in docs/clients.md
bypass_proxy_for(VAULT_HOST)

# instance_discovery=False: this azure-identity (1.13.0b2) would otherwise ask
# login.microsoftonline.com.
cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET, authority=EMU, instance_discovery=False)
arm = {"base_url": EMU, "credential_scopes": ["https://management.azure.com/.default"]}
ResourceManagementClient(cred, SUB, **arm).resource_groups.create_or_update("rg-keysep", {"location": "westeurope"})
KeyVaultManagementClient(cred, SUB, **arm).vaults.begin_create_or_update("rg-keysep", VAULT, {
    "location": "westeurope",
    "properties": {"tenant_id": TENANT, "sku": {"family": "A", "name": "standard"},
                   "access_policies": [{"tenant_id": TENANT, "object_id": SP_OBJECT_ID,
                                        "permissions": {"keys": ["all"]}}]},
}, polling_interval=0).result()


def scenario(url, name, challenged=True, **client_options):
    keys = KeyClient(url, cred, **client_options)
    created = keys.create_rsa_key(name, size=2048)
    # The kid is on the host the client used, so clients built on it keep talking to it.
    expect(created.id.startswith(f"{url}/keys/{name}/") and len(created.properties.version) == 32,
           f"kid {created.id}")
    expect(len(created.key.n) == 256 and created.key.e == b"\x01\x00\x01", "RSA-2048 public key")
    expect(keys.get_key(name).id == created.id, "get latest")
    if challenged:
        expect_request("POST", f"{url}/keys/{name}/create", 401)  # the challenge

    crypto = CryptographyClient(created.id, cred, **client_options)
    # Wrap locally with the public key alone, as a service holding a DEK would; unwrap remotely.
    public = rsa_keys.RSAPublicNumbers(int.from_bytes(created.key.e, "big"),
                                       int.from_bytes(created.key.n, "big")).public_key()
    dek = os.urandom(32)
    wrapped = public.encrypt(dek, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    unwrapped = crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped)
    expect(unwrapped.key == dek and unwrapped.key_id == created.id, f"unwrap: kid {unwrapped.key_id}")
    expect_request("POST", f"{url}/keys/{name}/{created.properties.version}/unwrapkey", 200)

    enc = crypto.encrypt(EncryptionAlgorithm.rsa_oaep_256, b"plaintext")
    expect(crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, enc.ciphertext).plaintext == b"plaintext", "decrypt")
    expect_request("POST", f"{url}/keys/{name}/{created.properties.version}/decrypt", 200)
    digest = hashlib.sha256(b"message").digest()
    signed = crypto.sign(SignatureAlgorithm.rs256, digest)
    expect(crypto.verify(SignatureAlgorithm.rs256, digest, signed.signature).is_valid, "RS256 verify")
    expect(not crypto.verify(SignatureAlgorithm.rs256, hashlib.sha256(b"other").digest(), signed.signature).is_valid,
           "RS256 verify of another digest")
    expect_request("POST", f"{url}/keys/{name}/{created.properties.version}/sign", 200)

    deleted = keys.begin_delete_key(name).result()
    expect(deleted.recovery_id == f"{url}/deletedkeys/{name}", f"recovery id {deleted.recovery_id}")
    recovered = keys.begin_recover_deleted_key(name).result()
    expect(recovered.id == created.id, f"recovered {recovered.id}")
    expect(crypto.unwrap_key(KeyWrapAlgorithm.rsa_oaep, wrapped).key == dek, "unwrap after recovery")


# (a) the vault's own host name, default settings.
scenario(f"https://{VAULT_HOST}:{HTTPS_PORT}", "cmk-a")
# (b) the emulator's address itself. No parent domain can pass the resource check there:
# with defaults the SDK refuses the challenge, so (b) runs with it off.
try:
    KeyClient(EMU, cred).get_key("cmk-a")
    expect(False, "the SDK accepted the challenge of https://localhost with verification on")
except ValueError as e:
    expect("verify_challenge_resource" in str(e), f"{e}")
expect_request("GET", f"{EMU}/keys/cmk-a/", 401)
# The SDK's challenge cache is per process and host, so (b) reuses that challenge.
scenario(EMU, "cmk-b", challenged=False, verify_challenge_resource=False)

only_loopback_requests(VAULT_HOST)
print("ok")
