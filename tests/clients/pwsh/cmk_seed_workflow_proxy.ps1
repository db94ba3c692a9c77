# The CMK seed workflow with Invoke-RestMethod in proxy mode (what a PowerShell user without the
# Az modules does): a token from the emulator's login; resource group, user-assigned identity,
# vault (soft delete, purge protection, an access policy) by ARM PUTs; an RSA-2048 key on the
# vault's data plane; a cluster with the identity; the identity's grant (accessPolicies/add); the
# cluster PATCH with keyVaultProperties, Azure-AsyncOperation followed to Succeeded and the
# cluster's provisioningState Succeeded; a rotation followed at the next key refresh (virtual
# clock); keyVaultProperties {} turns CMK off.
. "$env:CMK_CLIENTS_LIB/clienttest.ps1"

$script:ArmToken = Get-SpToken
$kvToken = Get-SpToken 'https://vault.azure.net/.default'
$rg = 'rg-cmkpwsh'; $loc = 'westeurope'; $vault = 'kv-cmk-pwsh'; $cluster = 'kccmkpwsh01'
$vaultUri = "https://$vault.vault.azure.net/"
$base = "/subscriptions/$Sub/resourceGroups/$rg/providers"

Invoke-Arm PUT "/subscriptions/$Sub/resourceGroups/${rg}?api-version=2021-04-01" @{ location = $loc } | Out-Null
$ident = Invoke-Arm PUT "$base/Microsoft.ManagedIdentity/userAssignedIdentities/id-cmkpwsh?api-version=2023-01-31" @{ location = $loc }
$policy = { param($oid, $perms) @{ tenantId = $Tenant; objectId = $oid; permissions = @{ keys = @($perms) } } }
$v = Invoke-Arm PUT "$base/Microsoft.KeyVault/vaults/${vault}?api-version=2023-07-01" @{ location = $loc; properties = @{
  tenantId = $Tenant; sku = @{ family = 'A'; name = 'standard' }; accessPolicies = @(& $policy $ObjectId 'all')
  enableSoftDelete = $true; enablePurgeProtection = $true } }
Expect ($v.properties.vaultUri -eq $vaultUri) "vaultUri $($v.properties.vaultUri)"

$kvHeaders = @{ Authorization = "Bearer $kvToken" }
$key = Invoke-RestMethod -Method Post -Uri "${vaultUri}keys/cmk1/create?api-version=7.4" -Headers $kvHeaders `
  -ContentType 'application/json' -Body '{"kty":"RSA","key_size":2048}'
$v1 = ($key.key.kid -split '/')[-1]

$c = Invoke-Arm PUT "$base/Microsoft.Kusto/clusters/${cluster}?api-version=2024-04-13" @{ location = $loc
  sku = @{ name = 'Standard_E8ads_v5'; tier = 'Standard'; capacity = 2 }
  identity = @{ type = 'UserAssigned'; userAssignedIdentities = @{ $ident.id = @{} } } }
$clusterUrl = "$base/Microsoft.Kusto/clusters/${cluster}?api-version=2024-04-13"
for ($i = 0; $i -lt 50 -and (Invoke-Arm GET $clusterUrl).properties.provisioningState -ne 'Succeeded'; $i++) { Start-Sleep -Milliseconds 200 }

$grant = @{ properties = @{ accessPolicies = @(& $policy $ident.properties.principalId 'get', 'wrapKey', 'unwrapKey') } }
Invoke-Arm PUT "$base/Microsoft.KeyVault/vaults/$vault/accessPolicies/add?api-version=2023-07-01" $grant | Out-Null

# CMK on: PATCH, then Azure-AsyncOperation until it ends.
$cmk = @{ keyVaultUri = $vaultUri; keyName = 'cmk1'; keyVersion = ''; userIdentity = $ident.id }
$s = Wait-ArmOperation PATCH $clusterUrl @{ properties = @{ keyVaultProperties = $cmk } }
Expect ($s.status -eq 'Succeeded') "operation: $($s | ConvertTo-Json -Compress -Depth 5)"
$got = Invoke-Arm GET $clusterUrl
Expect ($got.properties.provisioningState -eq 'Succeeded' -and $got.properties.state -eq 'Running') "after CMK: $($got.properties.provisioningState)/$($got.properties.state)"
Expect ($got.properties.keyVaultProperties.keyName -eq 'cmk1') "keyVaultProperties: $($got.properties.keyVaultProperties | ConvertTo-Json -Compress)"
Expect-Request POST "https://$vault.vault.azure.net/keys/cmk1/$v1/wrapkey" 200

# Rotation: the cluster follows the new version at its next key refresh.
$rot = Invoke-RestMethod -Method Post -Uri "${vaultUri}keys/cmk1/rotate?api-version=7.4" -Headers $kvHeaders
$v2 = ($rot.key.kid -split '/')[-1]
Expect ($v2 -ne $v1) 'rotate made no new version'
Invoke-Admin POST 'clock/advance' @{ seconds = 61 } | Out-Null
$got = Invoke-Arm GET $clusterUrl
Expect ($got.properties.state -eq 'Running') "after rotation: $($got.properties.state)"
Expect-Request POST "https://$vault.vault.azure.net/keys/cmk1/$v2/wrapkey" 200

# CMK off: keyVaultProperties {}.
$s = Wait-ArmOperation PATCH $clusterUrl @{ properties = @{ keyVaultProperties = @{} } }
Expect ($s.status -eq 'Succeeded') "operation for {}: $($s | ConvertTo-Json -Compress -Depth 5)"
$got = Invoke-Arm GET $clusterUrl
Expect (-not ($got.properties.PSObject.Properties.Name -contains 'keyVaultProperties') -or -not $got.properties.keyVaultProperties.keyName) "keyVaultProperties still shown"
"ok"
