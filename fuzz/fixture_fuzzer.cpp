// Fixture and state readers (state/fixture.h parse_fixture and read_fixture, state/snapshot.h
// apply_state_section): a fixture document, every section and the "state" section of an export,
// read and then imported into a running emulator as PUT /_emulator/state would (through the
// providers' builders, a CMK cluster's key activated through the Key Vault endpoints). An
// imported state must export, and that export must import again and export the same bytes.
//
// Input: a fixture document (JSON). Key versions an import would generate as RSA keys beyond
// two (no "jwk" or "pem" given) are not imported: OpenSSL's key generation, not the reader,
// would take the time.
#include <string>

#include <nlohmann/json.hpp>

#include "common/json_input.h"
#include "common/utf8.h"
#include "emulator_world.h"
#include "state/fixture.h"

using namespace cmk;
using nlohmann::json;

namespace {

size_t generated_rsa_versions(const json& doc) {
  size_t n = 0;
  const auto vaults = doc.find("vaults");
  if (vaults == doc.end() || !vaults->is_array()) return 0;
  for (const auto& v : *vaults) {
    if (!v.is_object() || !v.contains("keys") || !v["keys"].is_array()) continue;
    for (const auto& k : v["keys"]) {
      if (!k.is_object() || !k.contains("versions") || !k["versions"].is_array()) continue;
      for (const auto& ver : k["versions"]) {
        if (!ver.is_object() || ver.contains("jwk") || ver.contains("pem")) continue;
        const auto kty = ver.find("kty");
        if (kty == ver.end() || !kty->is_string() || kty->get<std::string>().rfind("RSA", 0) == 0)
          ++n;
      }
    }
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::World world(json::parse(state::builtin_default_fixture_text()));
  const std::string text(fuzz::as_text(data, size));

  auto fixture = state::parse_fixture(text, "fuzz.json");
  if (!fixture) return 0;
  auto doc = parse_json_input(text);
  FUZZ_CHECK(doc.is_ok(), text);
  if (generated_rsa_versions(doc.value()) > 2) return 0;

  Emulator& emu = world.emulator();
  if (auto s = emu.import_state(doc.value()); s) {
    // What was imported exports, and the export is a fixture that imports to the same state.
    const json exported = emu.export_state(true);
    auto again = emu.import_state(exported);
    FUZZ_CHECK(again.is_ok(), again.message() + "\n" + json_text(exported, 1));
    const json exported_again = emu.export_state(true);
    FUZZ_CHECK(exported_again == exported,
               json_text(exported, 1) + "\n---- then ----\n" + json_text(exported_again, 1));
  }
  world.restore();
  return 0;
}
