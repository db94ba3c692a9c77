# cmk-emulator-flags: --strict-api-versions
# Every api-version Debian's Python SDK sends in the ARM scenarios is one the emulated providers
# list: the same scenarios pass against an emulator that refuses the rest.
import pathlib
import subprocess
import sys

here = pathlib.Path(__file__).parent
for scenario in ("arm_group_identity_proxy.py", "keyvault_vault_proxy.py", "kusto_cluster_proxy.py",
                 "kusto_databases_proxy.py"):
    done = subprocess.run([sys.executable, str(here / scenario)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"FAIL: {scenario} under --strict-api-versions:\n{done.stdout}{done.stderr}")
print("ok")
