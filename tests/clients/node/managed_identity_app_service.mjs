// Node ManagedIdentityCredential, App Service variables (IDENTITY_ENDPOINT + IDENTITY_HEADER):
// GET /msi/token?api-version=2019-08-01 with X-IDENTITY-HEADER on the emulator's HTTP port.
import { HTTP_PORT, checkManagedIdentityToken, expectRequest } from "../lib/clienttest.mjs";

process.env.IDENTITY_ENDPOINT = `http://127.0.0.1:${HTTP_PORT}/msi/token`;
process.env.IDENTITY_HEADER = "cmk-client-test-header";
const { ManagedIdentityCredential } = await import("@azure/identity");

const tok = await new ManagedIdentityCredential().getToken("https://management.azure.com/.default");
await checkManagedIdentityToken(tok.token, "https://management.azure.com");
expectRequest("GET", `http://127.0.0.1:${HTTP_PORT}/msi/token?api-version=2019-08-01`, 200);
console.log("ok");
