# An injected 429 (PUT /_emulator/faults, throttle with Retry-After: 1 on the first two reads of a
# resource group) handled by Invoke-RestMethod's -MaximumRetryCount/-RetryIntervalSec: the third
# try answers 200; without the retry parameters the 429 surfaces as an HttpResponseException
# with the ARM error code TooManyRequests and the Retry-After header.
. "$env:CMK_CLIENTS_LIB/clienttest.ps1"

$script:ArmToken = Get-SpToken
$rg = 'rg-pwsh-faults'
$url = "/subscriptions/$Sub/resourceGroups/${rg}?api-version=2021-04-01"
Invoke-Arm PUT $url @{ location = 'westeurope' } | Out-Null
$rule = @{ name = 'throttle-group-reads'; limit = @{ first = 2 }; action = @{ type = 'throttle'; retryAfter = 1 }
  match = @{ surface = 'arm'; method = 'GET'; operation = 'Microsoft.Resources/subscriptions/resourceGroups/read' } }

Invoke-Admin PUT faults $rule | Out-Null
$g = Invoke-Arm GET $url $null @{ MaximumRetryCount = 3; RetryIntervalSec = 1 }
Expect ($g.name -eq $rg) "group: $($g | ConvertTo-Json -Compress)"
Expect ((Count-Requests GET "$Arm/subscriptions/$Sub/resourceGroups/$rg" 429) -eq 2) 'expected two 429s before the 200'

Invoke-Admin PUT faults $rule | Out-Null
try {
  Invoke-Arm GET $url | Out-Null
  Fail 'the 429 was not seen'
} catch [Microsoft.PowerShell.Commands.HttpResponseException] {
  $r = $_.Exception.Response
  Expect ([int]$r.StatusCode -eq 429) "status $($r.StatusCode)"
  Expect ((($_.ErrorDetails.Message | ConvertFrom-Json).error.code) -eq 'TooManyRequests') "body: $($_.ErrorDetails.Message)"
  Expect ($r.Headers.RetryAfter.Delta.TotalSeconds -eq 1) "Retry-After: $($r.Headers.RetryAfter)"
}
Invoke-Admin DELETE faults | Out-Null
"ok"
