"""Python KeyClient / CryptographyClient (Debian python3-azure, azure-keyvault-keys) in proxy mode with
defaults: the vault is made through ARM with an access policy for the test principal; then the
challenge dance, create RSA and EC keys, get, wrap locally with n/e and unwrap on the server,
encrypt/decrypt, sign/verify, rotate and the rotation policy, disable, delete/recover, backup,
purge and restore, each against the emulator's real OpenSSL keys."""
import hashlib
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, expect, expect_request  # noqa: E402

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402
from azure.keyvault.keys import KeyClient, KeyRotationLifetimeAction, KeyRotationPolicyAction  # noqa: E402
from azure.keyvault.keys.crypto import (CryptographyClient, EncryptionAlgorithm, KeyWrapAlgorithm,  # noqa: E402
                                        SignatureAlgorithm)
from azure.mgmt.keyvault import KeyVaultManagementClient  # noqa: E402
from azure.mgmt.resource import ResourceManagementClient  # noqa: E402

SUB = os.environ["CMK_SUBSCRIPTION"]
VAULT = "kv-keys-py"
cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
ResourceManagementClient(cred, SUB).resource_groups.create_or_update("rg-keyspy", {"location": "westeurope"})
KeyVaultManagementClient(cred, SUB).vaults.begin_create_or_update("rg-keyspy", VAULT, {
    "location": "westeurope",
    "properties": {"tenant_id": TENANT, "sku": {"family": "A", "name": "standard"},
                   "access_policies": [{"tenant_id": TENANT, "object_id": SP_OBJECT_ID,
                                        "permissions": {"keys": ["all", "purge"]}}]},
}).result()

url = f"https://{VAULT}.vault.azure.net"
keys = KeyClient(url, cred)
rsa = keys.create_rsa_key("cmk1", size=2048)
expect(rsa.id.startswith(f"{url}/keys/cmk1/") and len(rsa.properties.version) == 32, f"kid {rsa.id}")
expect(len(rsa.key.n) == 256 and rsa.key.e == b"\x01\x00\x01", "RSA-2048 public key")
expect(rsa.key.d is None, "private member in the bundle")
expect(keys.get_key("cmk1").id == rsa.id, "get latest")
expect_request("POST", f"https://{VAULT}.vault.azure.net/keys/cmk1/create", 401)  # the challenge

crypto = CryptographyClient(rsa.id, cred)
dek = os.urandom(32)
for alg in (KeyWrapAlgorithm.rsa_oaep, KeyWrapAlgorithm.rsa_oaep_256, KeyWrapAlgorithm.rsa1_5):
    wrapped = crypto.wrap_key(alg, dek)  # local, with n/e
    expect(wrapped.key_id == rsa.id, f"wrap kid {wrapped.key_id}")
    unwrapped = crypto.unwrap_key(alg, wrapped.encrypted_key)  # on the server
    expect(unwrapped.key == dek, f"{alg} round trip")
expect_request("POST", f"https://{VAULT}.vault.azure.net/keys/cmk1/{rsa.properties.version}/unwrapkey", 200)

enc = crypto.encrypt(EncryptionAlgorithm.rsa_oaep_256, b"plaintext")
expect(crypto.decrypt(EncryptionAlgorithm.rsa_oaep_256, enc.ciphertext).plaintext == b"plaintext", "decrypt")
digest = hashlib.sha256(b"message").digest()
signed = crypto.sign(SignatureAlgorithm.ps256, digest)
expect(crypto.verify(SignatureAlgorithm.ps256, digest, signed.signature).is_valid, "PS256 verify")
expect(not crypto.verify(SignatureAlgorithm.ps256, hashlib.sha256(b"other").digest(), signed.signature).is_valid,
       "PS256 verify of another digest")

ec = keys.create_ec_key("sig1", curve="P-256K")
ec_crypto = CryptographyClient(ec, cred)
ec_sig = ec_crypto.sign(SignatureAlgorithm.es256_k, digest)
expect(len(ec_sig.signature) == 64, "ES256K signature is r||s")
expect(ec_crypto.verify(SignatureAlgorithm.es256_k, digest, ec_sig.signature).is_valid, "ES256K verify")

rotated = keys.rotate_key("cmk1")
expect(rotated.properties.version != rsa.properties.version, "rotate made a new version")
versions = list(keys.list_properties_of_key_versions("cmk1"))
expect(len(versions) == 2, f"{len(versions)} versions")
policy = keys.get_key_rotation_policy("cmk1")
expect(policy.lifetime_actions and policy.lifetime_actions[0].action == KeyRotationPolicyAction.notify, f"{policy}")
updated_policy = keys.update_key_rotation_policy(
    "cmk1", policy, lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P90D")],
    expires_in="P1Y")
expect(updated_policy.expires_in == "P1Y" and updated_policy.lifetime_actions[0].time_after_create == "P90D",
       f"{updated_policy}")

# The old version still unwraps what it wrapped.
old_wrapped = crypto.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, dek)
expect(CryptographyClient(rsa.id, cred).unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, old_wrapped.encrypted_key).key == dek,
       "unwrap with the older version")

keys.update_key_properties("cmk1", rotated.properties.version, enabled=False)
# Key Vault still reads a disabled key (enabled: false); only its use is refused.
expect(keys.get_key("cmk1").properties.enabled is False, "a disabled key reads as disabled")
try:
    CryptographyClient(rotated.id, cred).unwrap_key(KeyWrapAlgorithm.rsa_oaep_256, old_wrapped.encrypted_key)
    expect(False, "a disabled key unwrapped")
except HttpResponseError as e:
    expect(e.status_code == 403 and "disabled" in str(e), f"disabled: {e}")
keys.update_key_properties("cmk1", rotated.properties.version, enabled=True)

names = sorted(k.name for k in keys.list_properties_of_keys())
expect(names == ["cmk1", "sig1"], f"{names}")

deleted = keys.begin_delete_key("sig1").result()
expect(deleted.recovery_id == f"{url}/deletedkeys/sig1" and deleted.scheduled_purge_date, f"{deleted}")
try:
    keys.create_ec_key("sig1")
    expect(False, "a soft-deleted name was reused")
except ResourceExistsError as e:
    expect("deleted but recoverable" in str(e), f"{e}")
expect(keys.get_deleted_key("sig1").name == "sig1", "get deleted")
recovered = keys.begin_recover_deleted_key("sig1").result()
expect(recovered.id == ec.id, f"recovered {recovered.id}")

backup = keys.backup_key("sig1")
keys.begin_delete_key("sig1").wait()
keys.purge_deleted_key("sig1")
try:
    keys.get_deleted_key("sig1")
    expect(False, "purged key still listed")
except ResourceNotFoundError:
    pass
restored = keys.restore_key_backup(backup)
expect(restored.id == ec.id and restored.key.x == ec.key.x, "restore brought the same key back")
print("ok")
