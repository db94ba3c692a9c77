// Node ClientSecretCredential with default settings (real login.microsoftonline.com through the
// emulator's proxy) gets an ARM token for the fixture's service principal; a wrong secret is
// refused with AADSTS7000215.
import { ClientSecretCredential } from "@azure/identity";
import { SP_APP_ID, SP_OBJECT_ID, SP_SECRET, TENANT, V1_ISSUER, checkClaims, expect, expectRequest, fail } from "../lib/clienttest.mjs";

const scope = "https://management.azure.com/.default";
const tok = await new ClientSecretCredential(TENANT, SP_APP_ID, SP_SECRET).getToken(scope);
checkClaims(tok.token, {
  aud: "https://management.azure.com", tid: TENANT, iss: V1_ISSUER,
  oid: SP_OBJECT_ID, appid: SP_APP_ID, appidacr: "1", idtyp: "app",
});
expect(tok.expiresOnTimestamp > 0, `expiresOnTimestamp ${tok.expiresOnTimestamp}`);
expectRequest("POST", `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`, 200);

try {
  await new ClientSecretCredential(TENANT, SP_APP_ID, "not-the-secret").getToken(scope);
  fail("a wrong secret got a token");
} catch (e) {
  expect(String(e.message).includes("AADSTS7000215"), `wrong secret: unexpected error: ${e}`);
}
console.log("ok");
