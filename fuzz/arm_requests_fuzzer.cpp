// ARM request bodies of every provider through the whole request path (fuzz/emulator_world.h):
// resource groups and tags (arm), Kusto clusters, databases, principal assignments and follower
// configurations (kusto), vaults and their access policies (keyvault_mgmt), user-assigned
// identities (msi), role assignments (authorization) and template deployments with their
// validate / what-if (deployments), each PUT, PATCH and POST body read by its handler.
//
// Input: up to 8 requests separated by a line "~~~", each "METHOD target\nHeader: value\n\nbody"
// (fuzz/emulator_world.h World::send); only those that reach the ARM surface are sent. Every
// input starts from the same world (rg1, mi1, kv1 with keys, clusters kccmk and kcplain).
#include "emulator_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cmk::fuzz::World world(cmk::fuzz::world_fixture());
  world.run_script(cmk::fuzz::as_text(data, size), cmk::fuzz::Surfaces::Arm);
  return 0;
}
