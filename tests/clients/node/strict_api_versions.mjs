// cmk-emulator-flags: --strict-api-versions
// Every api-version the npm SDKs send in the ARM scenarios is one the emulated providers list:
// the same scenarios pass against an emulator that refuses the rest.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
for (const scenario of ["arm_msi_proxy.mjs", "keyvault_vault_proxy.mjs", "kusto_cluster_proxy.mjs", "kusto_databases_proxy.mjs"]) {
  const done = spawnSync(process.execPath, [join(here, scenario)], { encoding: "utf8" });
  if (done.status !== 0) {
    console.error(`FAIL: ${scenario} under --strict-api-versions:\n${done.stdout}${done.stderr}`);
    process.exit(1);
  }
}
console.log("ok");
