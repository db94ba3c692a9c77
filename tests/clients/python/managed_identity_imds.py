"""Python ManagedIdentityCredential, IMDS redirected with AZURE_POD_IDENTITY_AUTHORITY_HOST:
GET /metadata/identity/oauth2/token?api-version=2018-02-01 with Metadata: true."""
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import HTTP_PORT, check_managed_identity_token, expect_request  # noqa: E402

os.environ["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = f"http://127.0.0.1:{HTTP_PORT}"

from azure.identity import ManagedIdentityCredential  # noqa: E402

tok = ManagedIdentityCredential().get_token("https://management.azure.com/.default")
check_managed_identity_token(tok.token, "https://management.azure.com")
expect_request("GET", f"http://127.0.0.1:{HTTP_PORT}/metadata/identity/oauth2/token", 200)
print("ok")
