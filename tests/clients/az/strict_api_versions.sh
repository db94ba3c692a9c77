#!/usr/bin/env bash
# cmk-emulator-flags: --strict-api-versions
# Every api-version Debian's az sends in the group, identity, vault and cluster scenarios is one
# the emulated providers list: the same scenarios pass against an emulator that refuses the rest.
here="$(dirname "${BASH_SOURCE[0]}")"
for scenario in group_identity_proxy.sh keyvault_vault_proxy.sh kusto_cluster_proxy.sh; do
  bash "$here/$scenario" >/dev/null || { echo "FAIL: $scenario under --strict-api-versions" >&2; exit 1; }
done
echo ok
