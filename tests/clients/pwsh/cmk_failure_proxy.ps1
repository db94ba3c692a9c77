# A CMK failure read from the operation with Invoke-RestMethod in proxy mode: a cluster PATCH
# naming an RSA-3072 key is accepted (200 + Azure-AsyncOperation), the operation ends Failed with
# error.code UnsupportedKeyType, the cluster's provisioningState is Failed and its previous
# keyVaultProperties (none) stay; a keyVaultProperties without the identity is refused at once
# (400 KeyVaultIdentityNotAssigned, read from the error body of the HttpResponseException).
. "$env:CMK_CLIENTS_LIB/clienttest.ps1"

$script:ArmToken = Get-SpToken
$kvHeaders = @{ Authorization = "Bearer $(Get-SpToken 'https://vault.azure.net/.default')" }
$rg = 'rg-pwsh-fail'; $loc = 'westeurope'; $vault = 'kv-pwsh-fail'; $cluster = 'kcpwshfail01'
$vaultUri = "https://$vault.vault.azure.net/"
$base = "/subscriptions/$Sub/resourceGroups/$rg/providers"
Invoke-Arm PUT "/subscriptions/$Sub/resourceGroups/${rg}?api-version=2021-04-01" @{ location = $loc } | Out-Null
$ident = Invoke-Arm PUT "$base/Microsoft.ManagedIdentity/userAssignedIdentities/id-pwsh-fail?api-version=2023-01-31" @{ location = $loc }
$pol = @( @{ tenantId = $Tenant; objectId = $ObjectId; permissions = @{ keys = @('all') } },
          @{ tenantId = $Tenant; objectId = $ident.properties.principalId; permissions = @{ keys = @('get', 'wrapKey', 'unwrapKey') } })
Invoke-Arm PUT "$base/Microsoft.KeyVault/vaults/${vault}?api-version=2023-07-01" @{ location = $loc; properties = @{
  tenantId = $Tenant; sku = @{ family = 'A'; name = 'standard' }; accessPolicies = $pol
  enableSoftDelete = $true; enablePurgeProtection = $true } } | Out-Null
Invoke-RestMethod -Method Post -Uri "${vaultUri}keys/cmk3072/create?api-version=7.4" -Headers $kvHeaders `
  -ContentType 'application/json' -Body '{"kty":"RSA","key_size":3072}' | Out-Null
$clusterUrl = "$base/Microsoft.Kusto/clusters/${cluster}?api-version=2024-04-13"
$s = Wait-ArmOperation PUT $clusterUrl @{ location = $loc; sku = @{ name = 'Standard_E8ads_v5'; tier = 'Standard'; capacity = 2 }
  identity = @{ type = 'UserAssigned'; userAssignedIdentities = @{ $ident.id = @{} } } }
Expect ($s.status -eq 'Succeeded') "create: $($s.status)"

$s = Wait-ArmOperation PATCH $clusterUrl @{ properties = @{ keyVaultProperties = @{
  keyVaultUri = $vaultUri; keyName = 'cmk3072'; keyVersion = ''; userIdentity = $ident.id } } }
Expect ($s.status -eq 'Failed' -and $s.error.code -eq 'UnsupportedKeyType') "operation: $($s | ConvertTo-Json -Compress -Depth 5)"
Expect ($s.error.message -match '2048') "message: $($s.error.message)"
$got = Invoke-Arm GET $clusterUrl
Expect ($got.properties.provisioningState -eq 'Failed') "provisioningState $($got.properties.provisioningState)"
Expect (-not ($got.properties.PSObject.Properties.Name -contains 'keyVaultProperties') -or -not $got.properties.keyVaultProperties.keyName) 'the failed key was kept'

# Refused at once: an identity the cluster does not have.
try {
  Invoke-Arm PATCH $clusterUrl @{ properties = @{ keyVaultProperties = @{ keyVaultUri = $vaultUri; keyName = 'cmk3072'
    userIdentity = "/subscriptions/$Sub/resourceGroups/$rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/other" } } } | Out-Null
  Fail 'a PATCH naming an identity the cluster lacks was accepted'
} catch [Microsoft.PowerShell.Commands.HttpResponseException] {
  $err = $_.ErrorDetails.Message | ConvertFrom-Json
  Expect ([int]$_.Exception.Response.StatusCode -eq 400 -and $err.error.code -eq 'KeyVaultIdentityNotAssigned') "refusal: $($_.ErrorDetails.Message)"
}
"ok"
