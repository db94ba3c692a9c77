// C# Azure.Security.KeyVault.Secrets 4.12 SecretClient in proxy mode with defaults: the vault is
// made through ARM (generic resources) with an access policy for the test principal's secrets;
// then the challenge, SetSecret (new versions), GetSecret latest and by version, the properties
// of secrets (more than one page) and versions without values, UpdateSecretProperties (content
// type, tags, expiry, disable: GetSecret refused with 403 Forbidden, then enable), the
// 25600-character limit, StartDeleteSecret / GetDeletedSecrets / GetDeletedSecret /
// StartRecoverDeletedSecret, BackupSecret, PurgeDeletedSecret and RestoreSecretBackup.
using Azure;
using Azure.Identity;
using Azure.ResourceManager;
using Azure.Security.KeyVault.Secrets;

static partial class Scenarios
{
    public static async Task KeyvaultSecretsProxy()
    {
        const string RG = "rg-secretsdotnet", LOC = "westeurope", VAULT = "kv-secrets-dotnet";
        var url = $"https://{VAULT}.vault.azure.net";
        var cred = new ClientSecretCredential(T.Tenant, T.AppId, T.Secret);
        var arm = new ArmClient(cred, T.Subscription, Arm.Options());
        var sub = await arm.GetDefaultSubscriptionAsync();
        await sub.GetResourceGroups().CreateOrUpdateAsync(WaitUntil.Completed, RG,
            new Azure.ResourceManager.Resources.ResourceGroupData(new Azure.Core.AzureLocation(LOC)));
        await Arm.Put(arm, Arm.Id(RG, "Microsoft.KeyVault/vaults", VAULT), Arm.Data(LOC, new {
            tenantId = T.Tenant, sku = new { family = "A", name = "standard" },
            accessPolicies = new[] { new { tenantId = T.Tenant, objectId = T.ObjectId,
                                           permissions = new { secrets = new[] { "all", "purge" } } } } }));

        var client = new SecretClient(new Uri(url), cred);
        const string VALUE = "Password=dotnet-s3cr3t-4a77";
        KeyVaultSecret s1 = await client.SetSecretAsync(new KeyVaultSecret("db", VALUE) {
            Properties = { ContentType = "text/plain", Tags = { ["owner"] = "dotnet" } } });
        T.Expect(s1.Value == VALUE && s1.Properties.ContentType == "text/plain" && s1.Properties.Tags["owner"] == "dotnet",
            $"set: {s1.Properties.Id}");
        T.Expect(s1.Id.ToString().StartsWith($"{url}/secrets/db/") && s1.Properties.Version.Length == 32, $"id {s1.Id}");
        T.Expect(s1.Properties.RecoveryLevel == "Recoverable+Purgeable" && s1.Properties.RecoverableDays == 90,
            $"recovery {s1.Properties.RecoveryLevel} {s1.Properties.RecoverableDays}");
        T.ExpectRequest("PUT", $"{url}/secrets/db", 401);  // the challenge
        KeyVaultSecret s2 = await client.SetSecretAsync("db", "second");
        T.Expect(s2.Properties.Version != s1.Properties.Version, "a set makes a new version");
        T.Expect((await client.GetSecretAsync("db")).Value.Value == "second", "get latest");
        T.Expect((await client.GetSecretAsync("db", s1.Properties.Version)).Value.Value == VALUE, "get by version");

        for (var i = 0; i < 26; i++) await client.SetSecretAsync($"item-{i:D2}", $"v{i}");
        var names = new List<string>();
        await foreach (var p in client.GetPropertiesOfSecretsAsync()) names.Add(p.Name);
        T.Expect(names.Count == 27 && names.Contains("db") && names.Contains("item-25"), $"{names.Count} names");
        var versions = new List<string>();
        await foreach (var p in client.GetPropertiesOfSecretVersionsAsync("db")) versions.Add(p.Version);
        T.Expect(versions.Count == 2 && versions.Contains(s1.Properties.Version), $"versions {string.Join(",", versions)}");

        var expires = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 30 * 86400);
        var props = s2.Properties;
        props.ContentType = "application/json";
        props.ExpiresOn = expires;
        props.Tags["tier"] = "gold";
        SecretProperties updated = await client.UpdateSecretPropertiesAsync(props);
        T.Expect(updated.ContentType == "application/json" && updated.ExpiresOn == expires && updated.Tags["tier"] == "gold",
            $"update {updated.ContentType} {updated.ExpiresOn}");
        updated.Enabled = false;
        await client.UpdateSecretPropertiesAsync(updated);
        await T.Throws<RequestFailedException, bool>(() => client.GetSecretAsync("db"), e => {
            T.Expect(e.Status == 403 && e.ErrorCode == "Forbidden" && e.Message.Contains("Operation get is not allowed on a disabled secret."),
                $"disabled: {e.Message}");
            return true;
        }, "a disabled secret");
        updated.Enabled = true;
        await client.UpdateSecretPropertiesAsync(updated);
        T.Expect((await client.GetSecretAsync("db")).Value.Value == "second", "enabled again");

        await T.Throws<RequestFailedException, bool>(() => client.SetSecretAsync("huge", new string('x', 25601)), e => {
            T.Expect(e.Status == 400 && e.ErrorCode == "BadParameter" && e.Message.Contains("25600"), $"limit: {e.Message}");
            return true;
        }, "a value over 25600 characters");

        var delete = await client.StartDeleteSecretAsync("db");
        DeletedSecret deleted = await delete.WaitForCompletionAsync();
        T.Expect(deleted.RecoveryId.ToString() == $"{url}/deletedsecrets/db" && deleted.ScheduledPurgeDate != null,
            $"deleted {deleted.RecoveryId}");
        await T.Throws<RequestFailedException, bool>(() => client.SetSecretAsync("db", "again"), e => {
            T.Expect(e.Status == 409 && e.Message.Contains("deleted but recoverable"), $"reuse: {e.Message}");
            return true;
        }, "a soft-deleted name reused");
        var deletedNames = new List<string>();
        await foreach (var d in client.GetDeletedSecretsAsync()) deletedNames.Add(d.Name);
        T.Expect(deletedNames.SequenceEqual(new[] { "db" }), $"deleted {string.Join(",", deletedNames)}");
        T.Expect((await client.GetDeletedSecretAsync("db")).Value.Name == "db", "get deleted");
        var recover = await client.StartRecoverDeletedSecretAsync("db");
        await recover.WaitForCompletionAsync();
        T.Expect((await client.GetSecretAsync("db")).Value.Value == "second", "recovered");

        byte[] backup = await client.BackupSecretAsync("db");
        T.Expect(!System.Text.Encoding.Latin1.GetString(backup).Contains("second"), "the backup is sealed");
        await (await client.StartDeleteSecretAsync("db")).WaitForCompletionAsync();
        await client.PurgeDeletedSecretAsync("db");
        await T.Throws<RequestFailedException, bool>(() => client.GetDeletedSecretAsync("db"), e => {
            T.Expect(e.Status == 404 && e.ErrorCode == "SecretNotFound", $"purged: {e.ErrorCode}");
            return true;
        }, "a purged secret");
        SecretProperties restored = await client.RestoreSecretBackupAsync(backup);
        T.Expect(restored.Name == "db" && restored.Version == s2.Properties.Version, $"restored {restored.Version}");
        T.Expect((await client.GetSecretAsync("db", s1.Properties.Version)).Value.Value == VALUE, "restored versions");
    }
}
