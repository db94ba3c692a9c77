"""A token issued by the emulator verifies against the JWKS it publishes, checked by two
implementations that share no code with the emulator: PyJWT (Debian python3-jwt) and a bare
RS256 check with `cryptography`. The keys are found the way a relying party finds them: OIDC
discovery on the real login host (through the proxy) -> jwks_uri -> the key whose kid the token
names. A token with a changed payload must fail both checks."""
import base64
import hashlib
import json
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_SECRET, TENANT, V1_ISSUER, b64url_decode, expect, fail, header_and_claims  # noqa: E402

import jwt  # noqa: E402  (python3-jwt)
import requests  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402

AUD = "https://management.azure.com"
token = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET).get_token(AUD + "/.default").token
header, claims = header_and_claims(token)

oidc = requests.get(f"https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration", timeout=30)
expect(oidc.status_code == 200, f"openid-configuration: {oidc.status_code} {oidc.text}")
jwks_uri = oidc.json().get("jwks_uri", "")
expect(jwks_uri.startswith("https://login.microsoftonline.com/"), f"jwks_uri {jwks_uri!r}")
jwks = requests.get(jwks_uri, timeout=30)
expect(jwks.status_code == 200, f"JWKS: {jwks.status_code} {jwks.text}")
keys = [k for k in jwks.json().get("keys", []) if k.get("kid") == header.get("kid")]
expect(len(keys) == 1, f"token kid {header.get('kid')!r} not (once) in the JWKS: {jwks.text}")
jwk = keys[0]
expect(jwk.get("kty") == "RSA" and jwk.get("use") == "sig", f"JWK: {jwk}")

# 1. PyJWT: signature, algorithm, audience, issuer, exp/nbf.
key = jwt.PyJWK(jwk, algorithm="RS256").key
decoded = jwt.decode(token, key, algorithms=["RS256"], audience=AUD, issuer=V1_ISSUER)
expect(decoded["tid"] == TENANT and decoded["appid"] == SP_APP_ID, f"decoded claims: {decoded}")

# 2. A bare RS256 verification (RSASSA-PKCS1-v1_5 over SHA-256) with n and e from the JWK.
n = int.from_bytes(b64url_decode(jwk["n"]), "big")
e = int.from_bytes(b64url_decode(jwk["e"]), "big")
pub = rsa.RSAPublicNumbers(e, n).public_key()
signing_input, sig = token.rsplit(".", 1)
pub.verify(b64url_decode(sig), signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())

# The certificate in x5c (when published) carries the same key, and x5t is its SHA-1 thumbprint.
if jwk.get("x5c"):
    der = base64.b64decode(jwk["x5c"][0])
    cert_pub = x509.load_der_x509_certificate(der).public_key().public_numbers()
    expect((cert_pub.n, cert_pub.e) == (n, e), "x5c certificate key differs from n/e")
    if "x5t" in jwk:
        expect(jwk["x5t"] == base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode(),
               "x5t is not the certificate's SHA-1 thumbprint")

# The v1 discovery endpoint publishes the same key.
common = requests.get("https://login.microsoftonline.com/common/discovery/keys", timeout=30)
expect(common.status_code == 200 and any(k.get("kid") == header["kid"] for k in common.json().get("keys", [])),
       f"/common/discovery/keys lacks kid {header['kid']}: {common.status_code} {common.text}")

# A forged token (payload changed, signature kept) fails both checks.
forged_claims = dict(claims, oid="00000000-0000-0000-0000-0000000000ff")
forged_payload = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()
head, _, sig_seg = token.split(".")
forged = f"{head}.{forged_payload}.{sig_seg}"
try:
    jwt.decode(forged, key, algorithms=["RS256"], audience=AUD, issuer=V1_ISSUER)
    fail("PyJWT accepted a forged token")
except jwt.InvalidSignatureError:
    pass
try:
    pub.verify(b64url_decode(sig_seg), f"{head}.{forged_payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    fail("RS256 check accepted a forged token")
except InvalidSignature:
    pass
print("ok")
