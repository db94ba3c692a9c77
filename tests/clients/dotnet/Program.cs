// The C# client scenarios: `dotnet CmkClients.dll <scenario>` runs one (tests/clients/dotnet/
// scenarios.txt lists them; CMakeLists.txt registers each as `client: dotnet <scenario>`).
using System.Reflection;

var scenarios = typeof(Scenarios).GetMethods(BindingFlags.Public | BindingFlags.Static)
    .ToDictionary(m => Snake(m.Name), m => m);
if (args.Length != 1 || !scenarios.TryGetValue(args[0], out var method))
{
    Console.Error.WriteLine($"usage: CmkClients <scenario>; scenarios: {string.Join(" ", scenarios.Keys.Order())}");
    return 2;
}
try
{
    await (Task)method.Invoke(null, null)!;
    Console.WriteLine("ok");
    return 0;
}
catch (Exception e)
{
    var inner = e is TargetInvocationException { InnerException: { } ie } ? ie : e;
    Console.Error.WriteLine(inner is T.Failure ? $"FAIL: {inner.Message}" : $"FAIL: {inner}");
    return 1;
}

// SpSecretProxy -> sp_secret_proxy
static string Snake(string name) =>
    string.Concat(name.Select((ch, i) => char.IsUpper(ch) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(ch) : ch.ToString()));

static partial class Scenarios { }
