// C# ManagedIdentityCredential, IMDS variant: MSAL.NET sends GET /metadata/identity/oauth2/token
// ?api-version=2018-02-01 with Metadata: true to 169.254.169.254 unless
// AZURE_POD_IDENTITY_AUTHORITY_HOST names another host, here the emulator's HTTP port.
using Azure.Core;
using Azure.Identity;

static partial class Scenarios
{
    public static async Task ManagedIdentityImds()
    {
        Environment.SetEnvironmentVariable("AZURE_POD_IDENTITY_AUTHORITY_HOST", $"http://127.0.0.1:{T.HttpPort}");
        var tok = await new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned)
            .GetTokenAsync(new TokenRequestContext(["https://management.azure.com/.default"]));
        await T.CheckManagedIdentityToken(tok.Token, "https://management.azure.com");
        T.ExpectRequest("GET", $"http://127.0.0.1:{T.HttpPort}/metadata/identity/oauth2/token", 200);
    }
}
