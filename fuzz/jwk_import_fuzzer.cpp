// Key import (keyvault_data/key_json.h read_import_request, key_material.h from_jwk / from_pem /
// restore_private) and what is done with an imported key: the key store's import, the KeyBundle
// rendered of it, and every algorithm of its family, which must round-trip (decrypt undoes
// encrypt, verify accepts sign), with no private member ever in the public JWK.
//
// Input: an import body ({"key": {JWK}, "hsm": ..., "attributes": ..., "tags": ...}); or a PEM
// private key ("-----BEGIN ..."); or one byte 'R', 'E' or 'O' followed by the bytes
// restore_private reads for an RSA, EC or oct key.
#include <string>

#include <nlohmann/json.hpp>

#include "common/ids.h"
#include "common/json_input.h"
#include "common/utf8.h"
#include "fuzz_support.h"
#include "keyvault_data/key_json.h"
#include "keyvault_data/key_material.h"
#include "keyvault_data/key_store.h"
#include "keyvault_data/rsa_key_pool.h"
#include "state/clock.h"

using namespace cmk;
using namespace cmk::keyvault_data;
using nlohmann::json;

namespace {

// Fixed time, so an input behaves the same on every run.
class FixedClock : public Clock {
 public:
  TimePoint now() const override { return from_unix_seconds(1'700'000'000); }
};

const std::string kPlain = "0123456789abcdef0123456789ABCDEF";  // 32 bytes: every cipher's size

void check_public_only(const json& jwk) {
  for (const char* m : {"d", "p", "q", "dp", "dq", "qi", "k"})
    FUZZ_CHECK(!jwk.contains(m), json_text(jwk));
}

void exercise(const KeyMaterial& key) {
  check_public_only(key.public_jwk());

  for (const char* name :
       {"RSA-OAEP", "RSA-OAEP-256", "RSA1_5", "A128KW", "A192KW", "A256KW", "A128GCM", "A192GCM",
        "A256GCM", "A128CBC", "A192CBC", "A256CBC", "A128CBCPAD", "A192CBCPAD", "A256CBCPAD"}) {
    const auto alg = parse_encryption_algorithm(name);
    FUZZ_CHECK(alg.has_value(), name);
    CipherInput in;
    in.value = kPlain;
    in.iv = std::string(16, '\x07');
    in.aad = std::string("aad");
    auto out = key.encrypt(*alg, in);
    if (!out) continue;
    CipherInput back;
    back.value = out->value;
    back.iv = out->iv ? out->iv : in.iv;
    back.tag = out->tag;
    back.aad = out->aad ? out->aad : in.aad;
    auto plain = key.decrypt(*alg, back);
    FUZZ_CHECK(
        plain.is_ok() && plain.value() == kPlain,
        std::string(name) + ": " + (plain ? "a different plaintext" : plain.error().message));
  }

  for (const char* name : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES256K",
                           "ES384", "ES512"}) {
    const auto alg = parse_signature_algorithm(name);
    FUZZ_CHECK(alg.has_value(), name);
    const std::string digest(static_cast<size_t>(alg->digest_bytes()), '\x5a');
    auto sig = key.sign(*alg, digest);
    if (!sig) continue;
    auto ok = key.verify(*alg, digest, sig.value());
    FUZZ_CHECK(ok.is_ok() && ok.value(), name);
  }

  // The sealed-backup form comes back as the same key.
  std::string priv;
  key.export_private(priv);
  auto restored = KeyMaterial::restore_private(key.family(), priv);
  FUZZ_CHECK(restored.is_ok(), restored ? "" : restored.error().message);
  FUZZ_CHECK(restored->public_jwk() == key.public_jwk(), json_text(key.public_jwk()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(fuzz::as_text(data, size));
  if (text.rfind("-----BEGIN", 0) == 0) {
    if (auto key = KeyMaterial::from_pem(text)) exercise(key.value());
    return 0;
  }
  if (!text.empty() && (text[0] == 'R' || text[0] == 'E' || text[0] == 'O')) {
    const KeyFamily family = text[0] == 'R'   ? KeyFamily::Rsa
                             : text[0] == 'E' ? KeyFamily::Ec
                                              : KeyFamily::Oct;
    if (auto key = KeyMaterial::restore_private(family, text.substr(1))) exercise(key.value());
    return 0;
  }

  auto body = parse_json_input(text);
  if (!body || !body.value().is_object()) return 0;
  auto request = read_import_request(body.value());
  if (!request) return 0;
  if (auto key = KeyMaterial::from_jwk(request->jwk)) exercise(key.value());

  // The store's import: key_ops, attributes and tags as the PUT /keys/{name} handler passes them,
  // in a store of its own so nothing outlives the input.
  static FixedClock clock;
  static IdGenerator ids{uint64_t{1}};
  static RsaKeyPool pool(RsaKeyPoolOptions{0, {}});
  KeyStore store(clock, ids, pool);
  VaultSettings vault;
  vault.name = "kv1";
  vault.premium = true;
  auto imported = store.import(vault, "k1", request.value());
  if (!imported) return 0;
  const json bundle = key_bundle_json(imported.value(), "https://kv1.vault.azure.net");
  check_public_only(bundle.value("key", json::object()));
  (void)json_text(bundle);
  return 0;
}
