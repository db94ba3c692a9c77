// Helpers for the C# scenarios (run by tests/clients/run_client_test.sh, which has exported the
// proxy-mode environment and the CMK_* variables), the counterpart of lib/clienttest.py and .mjs.
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

static class T
{
    public static string Env(string name) =>
        Environment.GetEnvironmentVariable(name) ?? throw new Failure($"{name} is not set (run through run_client_test.sh)");
    public static string Tenant => Env("CMK_TENANT");
    public static string Subscription => Env("CMK_SUBSCRIPTION");
    public static string AppId => Env("CMK_SP_APP_ID");
    public static string ObjectId => Env("CMK_SP_OBJECT_ID");
    public static string Secret => Env("CMK_SP_SECRET");
    public static int HttpPort => int.Parse(Env("CMK_HTTP_PORT"));
    public static int HttpsPort => int.Parse(Env("CMK_HTTPS_PORT"));
    public static string V1Issuer => $"https://sts.windows.net/{Tenant}/";

    public sealed class Failure(string message) : Exception(message);

    public static void Expect(bool cond, string message)
    {
        if (!cond) throw new Failure(message);
    }

    public static async Task<T2> Throws<TEx, T2>(Func<Task> action, Func<TEx, T2> check, string what) where TEx : Exception
    {
        try { await action(); }
        catch (TEx e) { return check(e); }
        throw new Failure($"{what}: no {typeof(TEx).Name}");
    }

    // The claims of a JWS compact token; each of `expected` must be equal.
    public static JsonObject CheckClaims(string token, params (string claim, string value)[] expected)
    {
        var parts = token.Split('.');
        Expect(parts.Length == 3, $"access token is not a JWS compact token ({parts.Length} parts)");
        var header = JsonNode.Parse(B64Url(parts[0]))!.AsObject();
        var c = JsonNode.Parse(B64Url(parts[1]))!.AsObject();
        Expect((string?)header["alg"] == "RS256", $"alg is {header["alg"]}");
        foreach (var (k, v) in expected)
            Expect(c[k]?.GetValueKind() == JsonValueKind.String && (string?)c[k] == v,
                $"claim {k} is {c[k]?.ToJsonString()}, expected {v}; claims: {c.ToJsonString()}");
        return c;
    }

    static string B64Url(string s)
    {
        s = s.Replace('-', '+').Replace('_', '/');
        return Encoding.UTF8.GetString(Convert.FromBase64String(s.PadRight(s.Length + (4 - s.Length % 4) % 4, '=')));
    }

    // The emulator's access log shows `method urlPrefix...` answered with `status`.
    public static void ExpectRequest(string method, string urlPrefix, int status)
    {
        var log = File.ReadAllText(Env("CMK_EMULATOR_LOG"));
        var re = new Regex($" {Regex.Escape(method)} {Regex.Escape(urlPrefix)}\\S* -> {status} ");
        Expect(re.IsMatch(log), $"no '{method} {urlPrefix}... -> {status}' in the emulator's access log:\n{Tail(log, 3000)}");
    }

    public static int CountRequests(string method, string urlPrefix, int status) =>
        new Regex($" {Regex.Escape(method)} {Regex.Escape(urlPrefix)}\\S* -> {status} ")
            .Matches(File.ReadAllText(Env("CMK_EMULATOR_LOG"))).Count;

    static string Tail(string s, int n) => s.Length <= n ? s : s[^n..];

    // Endpoint mode must not touch the real Azure host names (the proxy would serve them).
    public static void OnlyLoopbackRequests(params string[] allowedHosts)
    {
        var log = File.ReadAllText(Env("CMK_EMULATOR_LOG"));
        var hosts = Regex.Matches(log, @" (?:GET|POST|PUT|PATCH|DELETE|HEAD) https?://([^/: ]+)")
            .Select(m => m.Groups[1].Value.ToLowerInvariant()).Where(h => h != "localhost" && h != "127.0.0.1" && !allowedHosts.Contains(h)).Distinct().ToList();
        Expect(hosts.Count == 0, $"endpoint mode reached other hosts: {string.Join(" ", hosts)}");
    }

    // The emulator's admin API on its HTTP port, not through the proxy.
    static readonly HttpClient admin = new(new HttpClientHandler { UseProxy = false });

    public static async Task<JsonNode> Admin(HttpMethod method, string path, object? body = null)
    {
        var req = new HttpRequestMessage(method, $"http://127.0.0.1:{HttpPort}/_emulator/{path}");
        if (body != null) req.Content = JsonContent.Create(body);
        var r = await admin.SendAsync(req);
        var text = await r.Content.ReadAsStringAsync();
        Expect((int)r.StatusCode == 200, $"{method} /_emulator/{path}: {(int)r.StatusCode} {text}");
        return JsonNode.Parse(text.Length == 0 ? "{}" : text)!;
    }

    public static Task AdvanceClock(int seconds = 61) =>
        Admin(HttpMethod.Post, "clock/advance", new { seconds });

    // The managed identity the emulator's MSI endpoints speak for (GET /_emulator/msi).
    public static async Task CheckManagedIdentityToken(string token, string aud)
    {
        var mi = (await Admin(HttpMethod.Get, "msi"))["resolved"]!;
        CheckClaims(token, ("aud", aud), ("tid", Tenant), ("iss", V1Issuer), ("idtyp", "app"),
            ("oid", (string)mi["principalId"]!), ("appid", (string)mi["clientId"]!), ("xms_mirid", (string)mi["resourceId"]!));
    }
}
