# PowerShell 7.6 in proxy mode (HTTPS_PROXY, SSL_CERT_FILE as docs/clients.md has them): a token
# from the emulator's login with Invoke-RestMethod (client credentials on the real host name), and
# with Azure.Identity loaded into the session (Add-Type of the assemblies the C# scenarios build:
# ClientSecretCredential.GetToken, MSAL.NET inside pwsh); both carry the service principal's ids.
. "$env:CMK_CLIENTS_LIB/clienttest.ps1"

$tok = Get-SpToken
$c = Get-Claims $tok
Expect ($c.aud -eq $Arm -and $c.tid -eq $Tenant -and $c.appid -eq $AppId -and $c.oid -eq $ObjectId) "claims: $($c | ConvertTo-Json -Compress)"
Expect-Request POST "https://login.microsoftonline.com/$Tenant/oauth2/v2.0/token" 200

# A wrong secret: 401 with AADSTS7000215 in the error body.
try {
  Invoke-RestMethod -Method Post -Uri "https://login.microsoftonline.com/$Tenant/oauth2/v2.0/token" `
    -Body @{ grant_type = 'client_credentials'; client_id = $AppId; client_secret = 'nope'; scope = "$Arm/.default" } | Out-Null
  Fail 'a wrong secret got a token'
} catch [Microsoft.PowerShell.Commands.HttpResponseException] {
  Expect ([int]$_.Exception.Response.StatusCode -eq 401) "wrong secret: $($_.Exception.Response.StatusCode)"
  Expect ($_.ErrorDetails.Message -match 'AADSTS7000215') "wrong secret: $($_.ErrorDetails.Message)"
}

# Azure.Identity in the session.
$bin = Join-Path $env:CMK_DOTNET_CLIENTS 'bin/Release'
foreach ($a in 'Azure.Core', 'Microsoft.Identity.Client', 'Azure.Identity') { Add-Type -Path (Join-Path $bin "$a.dll") }
$cred = [Azure.Identity.ClientSecretCredential]::new($Tenant, $AppId, $Secret)
$ctx = [Azure.Core.TokenRequestContext]::new([string[]]@('https://vault.azure.net/.default'))
$at = $cred.GetToken($ctx, [Threading.CancellationToken]::None)
$c2 = Get-Claims $at.Token
Expect ($c2.aud -eq 'https://vault.azure.net' -and $c2.appid -eq $AppId) "Azure.Identity token claims: $($c2 | ConvertTo-Json -Compress)"
"ok"
