// Node ManagedIdentityCredential, IMDS redirected with AZURE_POD_IDENTITY_AUTHORITY_HOST:
// GET /metadata/identity/oauth2/token/ (trailing slash) ?api-version=2018-02-01, Metadata: true.
import { HTTP_PORT, checkManagedIdentityToken, expectRequest } from "../lib/clienttest.mjs";

process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = `http://127.0.0.1:${HTTP_PORT}`;
const { ManagedIdentityCredential } = await import("@azure/identity");

const tok = await new ManagedIdentityCredential().getToken("https://management.azure.com/.default");
await checkManagedIdentityToken(tok.token, "https://management.azure.com");
expectRequest("GET", `http://127.0.0.1:${HTTP_PORT}/metadata/identity/oauth2/token`, 200);
console.log("ok");
