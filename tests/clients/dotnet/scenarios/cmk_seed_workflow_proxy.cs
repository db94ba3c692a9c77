// The seed's C# tab in proxy mode, as closely as the served packages allow (docs/cmk.md, "C#"):
// ClientSecretCredential -> new ArmClient(credential, subscriptionId) -> GetDefaultSubscriptionAsync
// -> a resource group -> GetResourceGroupAsync; a user-assigned identity, a vault (soft delete,
// purge protection, an access policy for the test principal) and a cluster with the identity,
// each a GenericResource PUT awaited with WaitUntil.Completed; an RSA-2048 key created, wrapped
// and unwrapped with Microsoft.Azure.KeyVault 3.0.5 (KeyVaultClient); the identity's grant
// (vaults/accessPolicies/add, an ArmOperation); the cluster's keyVaultProperties PATCH awaited
// with WaitUntil.Completed and provisioningState Succeeded read back; a new key version followed
// at the next key refresh (virtual clock); an RSA-3072 key: the operation fails and the SDK
// throws RequestFailedException with ErrorCode UnsupportedKeyType; {} turns CMK off.
using System.Text;
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.ResourceManager;
using Azure.ResourceManager.Models;
using Azure.ResourceManager.Resources;
using Azure.ResourceManager.Resources.Models;
using Microsoft.Azure.KeyVault;
using Microsoft.Azure.KeyVault.WebKey;

static partial class Scenarios
{
    public static async Task CmkSeedWorkflowProxy()
    {
        const string RG = "rg-cmkdotnet", LOC = "westeurope", VAULT = "kv-cmk-dotnet", CLUSTER = "kccmkdotnet01";
        var vaultUri = $"https://{VAULT}.vault.azure.net/";
        var cred = new ClientSecretCredential(T.Tenant, T.AppId, T.Secret);
        var arm = new ArmClient(cred, T.Subscription, Arm.Options());

        SubscriptionResource sub = await arm.GetDefaultSubscriptionAsync();
        T.Expect(sub.Data.SubscriptionId == T.Subscription, $"default subscription {sub.Data.SubscriptionId}");
        await sub.GetResourceGroups().CreateOrUpdateAsync(WaitUntil.Completed, RG, new ResourceGroupData(new AzureLocation(LOC)));
        ResourceGroupResource rg = await sub.GetResourceGroupAsync(RG);
        T.Expect(rg.Data.Location == new AzureLocation(LOC), $"group location {rg.Data.Location}");

        // The identity.
        var ident = await Arm.Put(arm, Arm.Id(RG, "Microsoft.ManagedIdentity/userAssignedIdentities", "id-cmkdotnet"),
            new GenericResourceData(new AzureLocation(LOC)));
        var identProps = Arm.Props(ident.Data);
        var principalId = (string)identProps["principalId"]!;
        T.Expect(Guid.TryParse(principalId, out _), $"identity: {identProps.ToJsonString()}");

        // The vault: soft delete + purge protection; the test principal may manage keys.
        var vaultId = Arm.Id(RG, "Microsoft.KeyVault/vaults", VAULT);
        var vault = await Arm.Put(arm, vaultId, Arm.Data(LOC, new {
            tenantId = T.Tenant, sku = new { family = "A", name = "standard" },
            accessPolicies = new[] { Arm.AccessPolicy(T.ObjectId, "all") },
            enableSoftDelete = true, enablePurgeProtection = true }));
        var vp = Arm.Props(vault.Data);
        T.Expect((string?)vp["vaultUri"] == vaultUri && (bool?)vp["enablePurgeProtection"] == true, $"vault: {vp.ToJsonString()}");

        // The key, with the older Key Vault client (Azure.Security.KeyVault.Keys is not served).
        var kv = new KeyVaultClient(async (authority, resource, scope) =>
            (await cred.GetTokenAsync(new TokenRequestContext([resource + "/.default"]), default)).Token);
        var key = await kv.CreateKeyAsync(vaultUri, "cmk1", JsonWebKeyType.Rsa, keySize: 2048);
        var v1 = key.KeyIdentifier.Version;
        T.Expect(key.Key.N.Length == 256, $"RSA-2048: modulus of {key.Key.N.Length} bytes");
        var secret = Encoding.UTF8.GetBytes("a data encryption key, 32 bytes");
        var wrapped = await kv.WrapKeyAsync(key.Key.Kid, JsonWebKeyEncryptionAlgorithm.RSAOAEP, secret);
        T.Expect(wrapped.Result.Length == 256 && wrapped.Kid == key.Key.Kid, $"wrapKey: {wrapped.Result.Length} bytes, kid {wrapped.Kid}");
        var unwrapped = await kv.UnwrapKeyAsync(key.Key.Kid, JsonWebKeyEncryptionAlgorithm.RSAOAEP, wrapped.Result);
        T.Expect(unwrapped.Result.SequenceEqual(secret), "unwrapKey did not give back the wrapped bytes");

        // The cluster with the identity.
        var clusterId = Arm.Id(RG, "Microsoft.Kusto/clusters", CLUSTER);
        var clusterData = new GenericResourceData(new AzureLocation(LOC)) {
            Sku = new ResourcesSku { Name = "Standard_E8ads_v5", Tier = "Standard", Capacity = 2 },
            Identity = new ManagedServiceIdentity(ManagedServiceIdentityType.UserAssigned),
            Properties = BinaryData.FromObjectAsJson(new { }) };
        clusterData.Identity.UserAssignedIdentities[ident.Id] = new UserAssignedIdentity();
        var cluster = await Arm.Put(arm, clusterId, clusterData);
        var cp = Arm.Props(cluster.Data);
        T.Expect((string?)cp["provisioningState"] == "Succeeded" && (string?)cp["state"] == "Running", $"after create: {cp.ToJsonString()}");
        T.Expect(cluster.Data.Identity?.UserAssignedIdentities.ContainsKey(ident.Id) == true, "the cluster lacks its identity");

        // The identity may use the key: vaults/accessPolicies/add, an ArmOperation.
        var grant = Arm.AccessPolicy(principalId, "get", "wrapKey", "unwrapKey");
        await Arm.Put(arm, new ResourceIdentifier($"{vaultId}/accessPolicies/add"), Arm.Data(LOC, new { accessPolicies = new[] { grant } }));
        var policies = Arm.Props((await arm.GetGenericResource(vaultId).GetAsync()).Value.Data)["accessPolicies"]!.AsArray();
        T.Expect(policies.Any(p => (string?)p!["objectId"] == principalId), $"grant not in the vault: {policies.ToJsonString()}");

        // CMK on: keyVaultProperties with an empty keyVersion (follow the newest).
        var cmk = new { keyVaultUri = vaultUri, keyName = "cmk1", keyVersion = "", userIdentity = ident.Id.ToString() };
        var updated = await Arm.PatchCluster(arm, clusterId, LOC, cmk);
        T.Expect((string?)updated["provisioningState"] == "Succeeded" && (string?)updated["state"] == "Running",
            $"after enabling CMK: {updated.ToJsonString()}");
        var kvp = updated["keyVaultProperties"]!;
        T.Expect((string?)kvp["keyName"] == "cmk1" && (string?)kvp["keyVaultUri"] == vaultUri && string.IsNullOrEmpty((string?)kvp["keyVersion"]),
            $"keyVaultProperties: {kvp.ToJsonString()}");
        T.ExpectRequest("PATCH", $"https://management.azure.com{clusterId}?api-version={Arm.KustoApi}", 200);
        T.ExpectRequest("POST", $"https://{VAULT}.vault.azure.net/keys/cmk1/{v1}/wrapkey", 200);

        // Rotation: a new version (KeyVaultClient 3.0.5 has no rotate: a create makes it) is
        // followed at the next refresh.
        var v2 = (await kv.CreateKeyAsync(vaultUri, "cmk1", JsonWebKeyType.Rsa, keySize: 2048)).KeyIdentifier.Version;
        T.Expect(v2 != v1, "no new version");
        await T.AdvanceClock();
        var got = await Arm.Get(arm, clusterId);
        T.Expect((string?)got["state"] == "Running" && got["stateReason"] == null, $"after rotation: {got.ToJsonString()}");
        T.ExpectRequest("POST", $"https://{VAULT}.vault.azure.net/keys/cmk1/{v2}/wrapkey", 200);

        // A CMK failure: an RSA-3072 key. As a PUT of the whole cluster (GenericResourceCollection
        // .CreateOrUpdateAsync), Azure.Core follows Azure-AsyncOperation and throws
        // RequestFailedException with the operation's error code. As a PATCH (GenericResource
        // .UpdateAsync), Azure.Core 1.65 polls the resource itself (a 200 answer to a PATCH):
        // it throws RequestFailedException when provisioningState turns Failed, without a code;
        // the code is then the operation's (GET /_emulator/operations?status=Failed).
        await kv.CreateKeyAsync(vaultUri, "cmk3072", JsonWebKeyType.Rsa, keySize: 3072);
        var bad = cmk with { keyName = "cmk3072" };
        var putData = new GenericResourceData(new AzureLocation(LOC)) {
            Sku = clusterData.Sku, Identity = clusterData.Identity,
            Properties = BinaryData.FromObjectAsJson(new { keyVaultProperties = bad }) };
        var e1 = await T.Throws<RequestFailedException, RequestFailedException>(
            () => arm.GetGenericResources().CreateOrUpdateAsync(WaitUntil.Completed, clusterId, putData), e => e, "an RSA-3072 key (PUT)");
        T.Expect(e1.ErrorCode == "UnsupportedKeyType", $"PUT: ErrorCode {e1.ErrorCode}: {e1.Message}");
        T.ExpectRequest("GET", $"https://management.azure.com/subscriptions/{T.Subscription}/providers/Microsoft.Kusto/locations/{LOC}/operationResults/", 200);
        var got2 = await Arm.Get(arm, clusterId);
        T.Expect((string?)got2["provisioningState"] == "Failed", $"provisioningState after the failure: {got2["provisioningState"]}");
        T.Expect((string?)got2["keyVaultProperties"]?["keyName"] == "cmk1", $"keyVaultProperties after the failure: {got2["keyVaultProperties"]?.ToJsonString()}");

        var e2 = await T.Throws<RequestFailedException, RequestFailedException>(
            () => Arm.PatchCluster(arm, clusterId, LOC, bad), e => e, "an RSA-3072 key (PATCH)");
        T.Expect(e2.Status == 200 && e2.ErrorCode == null, $"PATCH: {e2.Status} {e2.ErrorCode}: {e2.Message}");
        var failed = (await T.Admin(HttpMethod.Get, "operations?status=Failed"))["value"]!.AsArray();
        T.Expect(failed.Count == 2 && failed.All(o => (string?)o!["error"]?["code"] == "UnsupportedKeyType"),
            $"failed operations: {failed.ToJsonString()}");
        got = await Arm.Get(arm, clusterId);
        T.Expect((string?)got["provisioningState"] == "Failed", $"provisioningState after the failure: {got["provisioningState"]}");

        // CMK off: keyVaultProperties {}.
        var off = await Arm.PatchCluster(arm, clusterId, LOC, new { });
        T.Expect((string?)off["provisioningState"] == "Succeeded" && (string?)off["state"] == "Running", $"after {{}}: {off.ToJsonString()}");
        T.Expect(string.IsNullOrEmpty((string?)(await Arm.Get(arm, clusterId))["keyVaultProperties"]?["keyName"]), "keyVaultProperties still shown");
    }
}
