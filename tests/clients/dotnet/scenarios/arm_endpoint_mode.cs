// C# endpoint mode (https://localhost:<https-port>, no proxy involved): ClientSecretCredential
// with AuthorityHost on the emulator and DisableInstanceDiscovery (MSAL.NET would otherwise ask
// login.microsoftonline.com about the authority), ArmClient with an ArmEnvironment whose endpoint
// is the emulator and whose audience is ARM's. GetDefaultSubscriptionAsync, a resource group, an
// identity, a vault with access policies and a cluster (GenericResource PUTs); the key created,
// wrapped and unwrapped with KeyVaultClient on https://localhost:<port> (the emulator's Key Vault
// paths on localhost reach the only vault; KeyVaultClient 3.0.5 does not check the challenge's
// resource); the cluster's keyVaultProperties PATCH with WaitUntil.Completed to provisioningState
// Succeeded. Every client request went to localhost.
using System.Text;
using Microsoft.Azure.KeyVault;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.ResourceManager;
using Azure.ResourceManager.Models;
using Azure.ResourceManager.Resources;
using Azure.ResourceManager.Resources.Models;

static partial class Scenarios
{
    public static async Task ArmEndpointMode()
    {
        const string RG = "rg-dotnet-ep", LOC = "westeurope", CLUSTER = "kcdotnetep01";
        var emu = new Uri($"https://localhost:{T.HttpsPort}");
        var cred = new ClientSecretCredential(T.Tenant, T.AppId, T.Secret, new ClientSecretCredentialOptions {
            AuthorityHost = emu, DisableInstanceDiscovery = true });
        var arm = new ArmClient(cred, T.Subscription, Arm.Options(new ArmClientOptions {
            Environment = new ArmEnvironment(emu, "https://management.azure.com/") }));

        SubscriptionResource sub = await arm.GetDefaultSubscriptionAsync();
        T.Expect(sub.Data.SubscriptionId == T.Subscription, $"default subscription {sub.Data.SubscriptionId}");
        await sub.GetResourceGroups().CreateOrUpdateAsync(WaitUntil.Completed, RG, new ResourceGroupData(new AzureLocation(LOC)));
        ResourceGroupResource rg = await sub.GetResourceGroupAsync(RG);
        T.Expect(rg.Data.Name == RG, $"group {rg.Data.Name}");

        var ident = await Arm.Put(arm, Arm.Id(RG, "Microsoft.ManagedIdentity/userAssignedIdentities", "id-dotnet-ep"),
            new GenericResourceData(new AzureLocation(LOC)));
        var principalId = (string)Arm.Props(ident.Data)["principalId"]!;
        const string VAULT = "kv-dotnet-ep";
        var vaultId = Arm.Id(RG, "Microsoft.KeyVault/vaults", VAULT);
        await Arm.Put(arm, vaultId, Arm.Data(LOC, new {
            tenantId = T.Tenant, sku = new { family = "A", name = "standard" },
            accessPolicies = new[] { Arm.AccessPolicy(T.ObjectId, "all"), Arm.AccessPolicy(principalId, "get", "wrapKey", "unwrapKey") },
            enableSoftDelete = true, enablePurgeProtection = true }));
        // The key: KeyVaultClient on https://localhost:<port> (docs/clients.md, "Endpoint mode for
        // Key Vault" (b)), its token for https://vault.azure.net from the same credential.
        var kv = new Microsoft.Azure.KeyVault.KeyVaultClient(async (authority, resource, scope) =>
            (await cred.GetTokenAsync(new TokenRequestContext([resource + "/.default"]), default)).Token);
        var key = await kv.CreateKeyAsync(emu.ToString(), "cmk1", "RSA", keySize: 2048);
        T.Expect(key.Key.Kid.StartsWith($"https://localhost:{T.HttpsPort}/keys/cmk1/"), $"kid {key.Key.Kid}");
        var secret = Encoding.UTF8.GetBytes("a data encryption key");
        var wrapped = await kv.WrapKeyAsync(key.Key.Kid, "RSA-OAEP", secret);
        T.Expect((await kv.UnwrapKeyAsync(key.Key.Kid, "RSA-OAEP", wrapped.Result)).Result.SequenceEqual(secret), "unwrap");

        var data = new GenericResourceData(new AzureLocation(LOC)) {
            Sku = new ResourcesSku { Name = "Standard_E8ads_v5", Tier = "Standard", Capacity = 2 },
            Identity = new ManagedServiceIdentity(ManagedServiceIdentityType.UserAssigned),
            Properties = BinaryData.FromObjectAsJson(new { }) };
        data.Identity.UserAssignedIdentities[ident.Id] = new UserAssignedIdentity();
        var clusterId = Arm.Id(RG, "Microsoft.Kusto/clusters", CLUSTER);
        var cp = Arm.Props((await Arm.Put(arm, clusterId, data)).Data);
        T.Expect((string?)cp["provisioningState"] == "Succeeded", $"after create: {cp.ToJsonString()}");

        var updated = await Arm.PatchCluster(arm, clusterId, LOC, new {
            keyVaultUri = $"https://{VAULT}.vault.azure.net/", keyName = "cmk1", keyVersion = "", userIdentity = ident.Id.ToString() });
        T.Expect((string?)updated["provisioningState"] == "Succeeded" && (string?)updated["state"] == "Running",
            $"after the PATCH: {updated.ToJsonString()}");
        T.Expect((string?)updated["keyVaultProperties"]?["keyName"] == "cmk1", $"keyVaultProperties: {updated["keyVaultProperties"]?.ToJsonString()}");
        T.ExpectRequest("PATCH", $"https://localhost:{T.HttpsPort}{clusterId}?api-version={Arm.KustoApi}", 200);
        T.ExpectRequest("POST", $"https://localhost:{T.HttpsPort}/{T.Tenant}/oauth2/v2.0/token", 200);
        // The cluster's own key calls (the emulator acting as the service) name the vault's host.
        T.OnlyLoopbackRequests($"{VAULT}.vault.azure.net");
    }
}
