// The other surfaces' bodies and queries through the whole request path (fuzz/emulator_world.h):
// the Key Vault data plane (create, import, update, rotation policy, encrypt, decrypt, wrap,
// unwrap, sign, verify, backup, restore, random bytes), the token endpoints' form bodies (Entra),
// the managed-identity endpoints' queries and headers (msi), and the admin API (clock, faults,
// LRO policies, MSI settings, journal queries, state export and import).
//
// Input: up to 8 requests separated by a line "~~~", each "METHOD target [http]\nHost: ...\n
// Header: value\n\nbody" (fuzz/emulator_world.h World::send); requests that reach ARM are skipped.
// Every input starts from the same world (vault kv1 with RSA key k1 and EC key ec1).
#include "emulator_world.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cmk::fuzz::World world(cmk::fuzz::world_fixture());
  world.run_script(cmk::fuzz::as_text(data, size), cmk::fuzz::Surfaces::DataPlane);
  return 0;
}
