// C# ManagedIdentityCredential (Azure.Identity 1.21 -> MSAL.NET's managed identity), App Service
// variables IDENTITY_ENDPOINT + IDENTITY_HEADER: GET /msi/token?api-version=2019-08-01 with
// X-IDENTITY-HEADER on the emulator's HTTP port.
using Azure.Core;
using Azure.Identity;

static partial class Scenarios
{
    public static async Task ManagedIdentityAppService()
    {
        Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", $"http://127.0.0.1:{T.HttpPort}/msi/token");
        Environment.SetEnvironmentVariable("IDENTITY_HEADER", "cmk-client-test-header");
        var tok = await new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
            .GetTokenAsync(new TokenRequestContext(["https://management.azure.com/.default"]));
        await T.CheckManagedIdentityToken(tok.Token, "https://management.azure.com");
        T.ExpectRequest("GET", $"http://127.0.0.1:{T.HttpPort}/msi/token?api-version=2019-08-01", 200);
    }
}
