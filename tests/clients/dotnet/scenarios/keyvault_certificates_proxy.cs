// C# Azure.Security.KeyVault.Certificates 4.10 CertificateClient in proxy mode with defaults: the
// vault is made through ARM (generic resources) with an access policy for certificates and
// secrets; then StartCreateCertificate with the Self issuer polled to completion, the X.509
// checked with System.Security.Cryptography (subject, SAN, thumbprint, self-signature), the
// backing secret (PKCS#12 without password) opened with its private key, DownloadCertificate,
// GetCertificateVersion, the properties of certificates and versions, UpdateCertificateProperties,
// the policy (get, update), ImportCertificate of a PKCS#12 with a password, contacts, issuers,
// StartDeleteCertificate / StartRecoverDeletedCertificate, BackupCertificate, PurgeDeletedCertificate
// and RestoreCertificateBackup.
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Azure;
using Azure.Identity;
using Azure.ResourceManager;
using Azure.Security.KeyVault.Certificates;
using Azure.Security.KeyVault.Secrets;

static partial class Scenarios
{
    public static async Task KeyvaultCertificatesProxy()
    {
        const string RG = "rg-certsdotnet", LOC = "westeurope", VAULT = "kv-certs-dotnet";
        var url = $"https://{VAULT}.vault.azure.net";
        var cred = new ClientSecretCredential(T.Tenant, T.AppId, T.Secret);
        var arm = new ArmClient(cred, T.Subscription, Arm.Options());
        var sub = await arm.GetDefaultSubscriptionAsync();
        await sub.GetResourceGroups().CreateOrUpdateAsync(WaitUntil.Completed, RG,
            new Azure.ResourceManager.Resources.ResourceGroupData(new Azure.Core.AzureLocation(LOC)));
        await Arm.Put(arm, Arm.Id(RG, "Microsoft.KeyVault/vaults", VAULT), Arm.Data(LOC, new {
            tenantId = T.Tenant, sku = new { family = "A", name = "standard" },
            accessPolicies = new[] { new { tenantId = T.Tenant, objectId = T.ObjectId,
                permissions = new { certificates = new[] { "all", "purge" }, secrets = new[] { "all" } } } } }));

        var client = new CertificateClient(new Uri(url), cred);
        var sans = new SubjectAlternativeNames();
        sans.DnsNames.Add("dotnet.contoso.com");
        var policy = new CertificatePolicy("Self", "CN=dotnet.contoso.com", sans) { ValidityInMonths = 12 };
        var op = await client.StartCreateCertificateAsync("web", policy);
        KeyVaultCertificateWithPolicy cert = await op.WaitForCompletionAsync(TimeSpan.FromMilliseconds(200), default);
        T.Expect(cert.Id.ToString().StartsWith($"{url}/certificates/web/"), $"id {cert.Id}");
        T.ExpectRequest("POST", $"{url}/certificates/web/create", 202);
        using var x = X509CertificateLoader.LoadCertificate(cert.Cer);
        T.Expect(x.Subject == "CN=dotnet.contoso.com", $"subject {x.Subject}");
        T.Expect(x.GetNameInfo(X509NameType.DnsName, false) == "dotnet.contoso.com", "SAN");
        T.Expect(Convert.ToHexString(cert.Properties.X509Thumbprint) == x.Thumbprint, "x5t is the thumbprint");
        using (var chain = new X509Chain()) {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(x);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            T.Expect(chain.Build(x), "the certificate verifies against itself");
        }
        T.Expect(cert.Policy.KeyType == CertificateKeyType.Rsa && cert.Policy.KeySize == 2048, "policy key");

        var secrets = new SecretClient(new Uri(url), cred);
        KeyVaultSecret secret = await secrets.GetSecretAsync("web", cert.Properties.Version);
        T.Expect(secret.Properties.ContentType == "application/x-pkcs12" && secret.Properties.Managed, "managed secret");
        using var withKey = X509CertificateLoader.LoadPkcs12(Convert.FromBase64String(secret.Value), null);
        T.Expect(withKey.HasPrivateKey && withKey.Thumbprint == x.Thumbprint, "PKCS#12 with the private key");
        using (var rsa = withKey.GetRSAPrivateKey()!) {
            var data = System.Text.Encoding.UTF8.GetBytes("payload");
            var sig = rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            T.Expect(x.GetRSAPublicKey()!.VerifyData(data, sig, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
                "the secret's key matches the certificate");
        }
        using (var downloaded = (await client.DownloadCertificateAsync("web")).Value)
            T.Expect(downloaded.HasPrivateKey && downloaded.Thumbprint == x.Thumbprint, "download");

        T.Expect((await client.GetCertificateVersionAsync("web", cert.Properties.Version)).Value.Id == cert.Id, "get version");
        var names = new List<string>();
        await foreach (var p in client.GetPropertiesOfCertificatesAsync()) names.Add(p.Name);
        T.Expect(names.SequenceEqual(new[] { "web" }), $"list {string.Join(",", names)}");
        var props = cert.Properties;
        props.Tags["env"] = "test";
        var updated = await client.UpdateCertificatePropertiesAsync(props);
        T.Expect(updated.Value.Properties.Tags["env"] == "test", "update tags");
        CertificatePolicy got = await client.GetCertificatePolicyAsync("web");
        got.ValidityInMonths = 6;
        CertificatePolicy changed = await client.UpdateCertificatePolicyAsync("web", got);
        T.Expect(changed.ValidityInMonths == 6 && changed.Subject == "CN=dotnet.contoso.com", "policy update");

        // Import a PKCS#12 with a password.
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest("CN=imported", ecdsa, HashAlgorithmName.SHA256);
        using var own = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        var pfx = own.Export(X509ContentType.Pkcs12, "s3cret");
        KeyVaultCertificateWithPolicy imported = await client.ImportCertificateAsync(
            new ImportCertificateOptions("imported", pfx) { Password = "s3cret" });
        T.Expect(Convert.ToHexString(imported.Properties.X509Thumbprint) == own.Thumbprint, "import");
        T.Expect(imported.Policy.KeyType == CertificateKeyType.Ec, $"imported key {imported.Policy.KeyType}");

        await client.SetContactsAsync(new[] { new CertificateContact { Email = "ops@contoso.com", Name = "Ops" } });
        var contacts = (await client.GetContactsAsync()).Value;
        T.Expect(contacts.Count == 1 && contacts[0].Email == "ops@contoso.com", "contacts");
        await client.DeleteContactsAsync();
        await client.CreateIssuerAsync(new CertificateIssuer("digi", "Test") { AccountId = "acct", Password = "hidden" });
        T.Expect((await client.GetIssuerAsync("digi")).Value.Provider == "Test", "issuer");
        await client.DeleteIssuerAsync("digi");

        var backup = (await client.BackupCertificateAsync("web")).Value;
        var delete = await client.StartDeleteCertificateAsync("web");
        DeletedCertificate deleted = await delete.WaitForCompletionAsync(TimeSpan.FromMilliseconds(200), default);
        T.Expect(deleted.RecoveryId.ToString() == $"{url}/deletedcertificates/web", $"deleted {deleted.RecoveryId}");
        var recover = await client.StartRecoverDeletedCertificateAsync("web");
        await recover.WaitForCompletionAsync(TimeSpan.FromMilliseconds(200), default);
        T.Expect((await client.GetCertificateAsync("web")).Value.Id == cert.Id, "recovered");
        delete = await client.StartDeleteCertificateAsync("web");
        await delete.WaitForCompletionAsync(TimeSpan.FromMilliseconds(200), default);
        await client.PurgeDeletedCertificateAsync("web");
        KeyVaultCertificateWithPolicy restored = await client.RestoreCertificateBackupAsync(backup);
        T.Expect(restored.Id == cert.Id, "restore");
    }
}
