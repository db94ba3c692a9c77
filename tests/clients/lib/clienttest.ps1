# Helpers for the PowerShell scenarios (dot-sourced; run by run_client_test.sh, which has exported
# the proxy-mode environment: HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE, and the CMK_* variables).
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$ProgressPreference = 'SilentlyContinue'
$PSStyle.OutputRendering = 'PlainText'

$Tenant = $env:CMK_TENANT; $Sub = $env:CMK_SUBSCRIPTION
$AppId = $env:CMK_SP_APP_ID; $ObjectId = $env:CMK_SP_OBJECT_ID; $Secret = $env:CMK_SP_SECRET
$HttpPort = $env:CMK_HTTP_PORT
$Arm = 'https://management.azure.com'

function Fail([string]$msg) { [Console]::Error.WriteLine("FAIL: $msg"); exit 1 }
function Expect([bool]$cond, [string]$msg) { if (-not $cond) { Fail $msg } }

# The claims of a JWS compact token.
function Get-Claims([string]$token) {
  $p = $token.Split('.')[1].Replace('-', '+').Replace('_', '/')
  $p = $p.PadRight($p.Length + (4 - $p.Length % 4) % 4, '=')
  [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($p)) | ConvertFrom-Json
}

# The service principal's token from the emulator's login (proxy mode: the real host name).
function Get-SpToken([string]$scope = "$Arm/.default") {
  $r = Invoke-RestMethod -Method Post -Uri "https://login.microsoftonline.com/$Tenant/oauth2/v2.0/token" `
    -Body @{ grant_type = 'client_credentials'; client_id = $AppId; client_secret = $Secret; scope = $scope }
  $r.access_token
}

# ARM through the proxy with a bearer token; -Url is the path after the host.
function Invoke-Arm([string]$Method, [string]$Url, $Body = $null, [hashtable]$Extra = @{}) {
  $args = @{ Method = $Method; Uri = "$Arm$Url"; Headers = @{ Authorization = "Bearer $script:ArmToken" } }
  if ($null -ne $Body) { $args.Body = ($Body | ConvertTo-Json -Depth 20 -Compress); $args.ContentType = 'application/json' }
  Invoke-RestMethod @args @Extra
}

# The emulator's admin API (127.0.0.1 is in NO_PROXY).
function Invoke-Admin([string]$Method, [string]$Path, $Body = $null) {
  $args = @{ Method = $Method; Uri = "http://127.0.0.1:$HttpPort/_emulator/$Path" }
  if ($null -ne $Body) { $args.Body = ($Body | ConvertTo-Json -Depth 20 -Compress); $args.ContentType = 'application/json' }
  Invoke-RestMethod @args
}

# The emulator's access log shows `method urlPrefix...` answered with `status`: how many times.
function Count-Requests([string]$Method, [string]$UrlPrefix, [int]$Status) {
  $log = Get-Content -Raw $env:CMK_EMULATOR_LOG
  ([regex]::Matches($log, " $([regex]::Escape($Method)) $([regex]::Escape($UrlPrefix))\S* -> $Status ")).Count
}
function Expect-Request([string]$Method, [string]$UrlPrefix, [int]$Status) {
  Expect ((Count-Requests $Method $UrlPrefix $Status) -gt 0) "no '$Method $UrlPrefix... -> $Status' in the emulator's access log"
}

# A cluster write (PUT or PATCH) followed to its end through Azure-AsyncOperation, as the SDKs do:
# returns the final operation status object.
function Wait-ArmOperation([string]$Method, [string]$Url, $Body) {
  $h = $null
  $null = Invoke-RestMethod -Method $Method -Uri "$Arm$Url" -Headers @{ Authorization = "Bearer $script:ArmToken" } `
    -Body ($Body | ConvertTo-Json -Depth 20 -Compress) -ContentType 'application/json' -ResponseHeadersVariable h
  $op = @($h['Azure-AsyncOperation'])[0]
  Expect ([bool]$op) "no Azure-AsyncOperation header on $Method $Url"
  for ($i = 0; $i -lt 60; $i++) {
    $s = Invoke-RestMethod -Uri $op -Headers @{ Authorization = "Bearer $script:ArmToken" }
    if ($s.status -notin 'Running', 'InProgress', 'Accepted') { return $s }
    Start-Sleep -Milliseconds 200
  }
  Fail "operation $op did not end"
}
