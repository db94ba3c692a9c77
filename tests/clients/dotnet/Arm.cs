// ARM through Azure.ResourceManager 1.7's generic resources: the served NuGet source has no
// Azure.ResourceManager.Kusto, .KeyVault or .ManagedServiceIdentity, so clusters, vaults and
// identities are GenericResource objects, each type pinned to the api-version its own .NET SDK
// sends (ArmClientOptions.SetApiVersion; otherwise ArmClient would look the newest one up).
using Azure;
using Azure.Core;
using Azure.ResourceManager;
using Azure.ResourceManager.Resources;
using Azure.ResourceManager.Resources.Models;
using System.Text.Json.Nodes;

static class Arm
{
    public const string KustoApi = "2024-04-13";     // Azure.ResourceManager.Kusto 1.6
    public const string KeyVaultApi = "2023-07-01";  // Azure.ResourceManager.KeyVault 1.3
    public const string MsiApi = "2023-01-31";       // Azure.ResourceManager.ManagedServiceIdentity 1.2

    public static ArmClientOptions Options(ArmClientOptions? o = null)
    {
        o ??= new ArmClientOptions();
        o.SetApiVersion(new ResourceType("Microsoft.Kusto/clusters"), KustoApi);
        o.SetApiVersion(new ResourceType("Microsoft.KeyVault/vaults"), KeyVaultApi);
        o.SetApiVersion(new ResourceType("Microsoft.KeyVault/vaults/accessPolicies"), KeyVaultApi);
        o.SetApiVersion(new ResourceType("Microsoft.ManagedIdentity/userAssignedIdentities"), MsiApi);
        return o;
    }

    public static ResourceIdentifier Id(string rg, string type, string name) =>
        new($"/subscriptions/{T.Subscription}/resourceGroups/{rg}/providers/{type}/{name}");

    public static JsonObject Props(GenericResourceData d) =>
        JsonNode.Parse(d.Properties?.ToString() ?? "{}")!.AsObject();

    public static GenericResourceData Data(string location, object properties) =>
        new(new AzureLocation(location)) { Properties = BinaryData.FromObjectAsJson(properties) };

    public static async Task<GenericResource> Put(ArmClient arm, ResourceIdentifier id, GenericResourceData data)
    {
        var op = await arm.GetGenericResources().CreateOrUpdateAsync(WaitUntil.Completed, id, data);
        T.Expect(op.HasCompleted, $"PUT {id}: not completed");
        return op.Value;
    }

    // keyVaultProperties on a cluster: a PATCH, as KustoClusterResource.UpdateAsync sends it.
    public static async Task<JsonObject> PatchCluster(ArmClient arm, ResourceIdentifier id, string location, object keyVaultProperties)
    {
        var op = await arm.GetGenericResource(id).UpdateAsync(WaitUntil.Completed,
            Data(location, new { keyVaultProperties }));
        return Props(op.Value.Data);
    }

    public static async Task<JsonObject> Get(ArmClient arm, ResourceIdentifier id) =>
        Props((await arm.GetGenericResource(id).GetAsync()).Value.Data);

    public static object AccessPolicy(string objectId, params string[] keys) =>
        new { tenantId = T.Tenant, objectId, permissions = new { keys } };
}
