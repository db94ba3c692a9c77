"""Python ClientSecretCredential with default settings (real login.microsoftonline.com through the
emulator's proxy; MSAL does its instance discovery and OIDC discovery there) gets an ARM token
for the fixture's service principal; a wrong secret is refused with AADSTS7000215."""
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, V1_ISSUER, check_claims, expect, expect_request, fail  # noqa: E402

from azure.core.exceptions import ClientAuthenticationError  # noqa: E402
from azure.identity import ClientSecretCredential  # noqa: E402

cred = ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET)
tok = cred.get_token("https://management.azure.com/.default")
check_claims(tok.token, aud="https://management.azure.com", tid=TENANT, iss=V1_ISSUER,
             oid=SP_OBJECT_ID, appid=SP_APP_ID, appidacr="1", idtyp="app")
expect(tok.expires_on > 0, f"expires_on {tok.expires_on}")
# It really went to the real login host through the proxy.
expect_request("GET", "https://login.microsoftonline.com/common/discovery/instance", 200)
expect_request("POST", f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token", 200)

try:
    ClientSecretCredential(TENANT, SP_APP_ID, "not-the-secret").get_token("https://management.azure.com/.default")
    fail("a wrong secret got a token")
except ClientAuthenticationError as e:
    expect("AADSTS7000215" in str(e), f"wrong secret: unexpected error: {e}")
print("ok")
