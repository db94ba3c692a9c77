"""Python ManagedIdentityCredential, Cloud Shell variable (MSI_ENDPOINT only): POST /msi/token
with Metadata: true and a form `resource` on the emulator's HTTP port."""
import os
import sys

sys.path.insert(0, os.environ["CMK_CLIENTS_LIB"])
from clienttest import HTTP_PORT, check_managed_identity_token, expect_request  # noqa: E402

os.environ["MSI_ENDPOINT"] = f"http://127.0.0.1:{HTTP_PORT}/msi/token"

from azure.identity import ManagedIdentityCredential  # noqa: E402

tok = ManagedIdentityCredential().get_token("https://management.azure.com/.default")
check_managed_identity_token(tok.token, "https://management.azure.com")
expect_request("POST", f"http://127.0.0.1:{HTTP_PORT}/msi/token", 200)
print("ok")
