// C# Azure.Identity 1.21 (MSAL.NET underneath) ClientSecretCredential in proxy mode: MSAL talks to
// the real authority https://login.microsoftonline.com (instance discovery included), which the
// emulator answers through HTTPS_PROXY; the CA is trusted through SSL_CERT_FILE. A token for ARM
// and one for Key Vault carry the service principal's ids; a wrong secret is refused with
// AADSTS7000215 as an AuthenticationFailedException.
using Azure.Core;
using Azure.Identity;

static partial class Scenarios
{
    public static async Task SpSecretProxy()
    {
        var cred = new ClientSecretCredential(T.Tenant, T.AppId, T.Secret);
        var arm = await cred.GetTokenAsync(new TokenRequestContext(["https://management.azure.com/.default"]));
        T.CheckClaims(arm.Token, ("aud", "https://management.azure.com"), ("tid", T.Tenant), ("appid", T.AppId), ("oid", T.ObjectId));
        T.Expect(arm.ExpiresOn > DateTimeOffset.UtcNow.AddMinutes(5), $"expires {arm.ExpiresOn}");
        var kv = await cred.GetTokenAsync(new TokenRequestContext(["https://vault.azure.net/.default"]));
        T.CheckClaims(kv.Token, ("aud", "https://vault.azure.net"), ("appid", T.AppId));
        T.ExpectRequest("POST", $"https://login.microsoftonline.com/{T.Tenant}/oauth2/v2.0/token", 200);

        var wrong = new ClientSecretCredential(T.Tenant, T.AppId, "not-the-secret");
        await T.Throws<AuthenticationFailedException, bool>(
            () => wrong.GetTokenAsync(new TokenRequestContext(["https://management.azure.com/.default"])).AsTask(),
            e => { T.Expect(e.ToString().Contains("AADSTS7000215"), $"wrong secret: {e.Message}"); return true; },
            "a wrong secret");
    }
}
