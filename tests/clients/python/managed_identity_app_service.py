"""Python ManagedIdentityCredential, App Service variables (IDENTITY_ENDPOINT + IDENTITY_HEADER):
GET /msi/token?api-version=2019-08-01 with X-IDENTITY-HEADER on the emulator's HTTP port."""
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import HTTP_PORT, check_managed_identity_token, expect_request  # noqa: E402

os.environ["IDENTITY_ENDPOINT"] = f"http://127.0.0.1:{HTTP_PORT}/msi/token"
os.environ["IDENTITY_HEADER"] = "cmk-client-test-header"

from azure.identity import ManagedIdentityCredential  # noqa: E402

tok = ManagedIdentityCredential().get_token("https://management.azure.com/.default")
check_managed_identity_token(tok.token, "https://management.azure.com")
expect_request("GET", f"http://127.0.0.1:{HTTP_PORT}/msi/token?api-version=2019-08-01", 200)
print("ok")
