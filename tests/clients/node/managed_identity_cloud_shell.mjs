// Node ManagedIdentityCredential, Cloud Shell variable (MSI_ENDPOINT only): POST /msi/token with
// Metadata: true and a form `resource` on the emulator's HTTP port.
import { HTTP_PORT, checkManagedIdentityToken, expectRequest } from "../lib/clienttest.mjs";

process.env.MSI_ENDPOINT = `http://127.0.0.1:${HTTP_PORT}/msi/token`;
const { ManagedIdentityCredential } = await import("@azure/identity");

const tok = await new ManagedIdentityCredential().getToken("https://management.azure.com/.default");
await checkManagedIdentityToken(tok.token, "https://management.azure.com");
expectRequest("POST", `http://127.0.0.1:${HTTP_PORT}/msi/token`, 200);
console.log("ok");
