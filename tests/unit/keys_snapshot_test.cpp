// The Key Vault key store's snapshot (state export/import and --state-dir persistence):
// export_vault() is exact and deterministic, replace_all() restores it byte for byte or refuses
// it with the JSON path and changes nothing, keys keep working after a restore, key_rows() and
// key_row() are export_vault() cut per key, and every change moves the revision and names its
// key in the change log.
#include <catch2/catch.hpp>

#include <atomic>
#include <functional>
#include <thread>

#include "common/base64.h"
#include "keyvault_data/key_store.h"
#include "test_support.h"

using namespace cmk;
using namespace cmk::keyvault_data;
using nlohmann::json;

namespace {

constexpr std::chrono::seconds kDay{86400};

struct Fixture {
  explicit Fixture(uint64_t seed = 7) : ids(seed) {}
  test::ManualClock clock;
  IdGenerator ids;
  RsaKeyPool pool{RsaKeyPoolOptions{0, {}}};  // no background generation: deterministic
  KeyStore store{clock, ids, pool};
  VaultSettings standard{"kv1", true, 90, false, false};
  VaultSettings premium{"kv2", true, 90, false, true};

  int64_t now() const { return to_unix_seconds(clock.t); }
  void advance(std::chrono::seconds s) { clock.t += s; }
  KeyView create(const VaultSettings& v, const std::string& name, CreateKeyRequest r) {
    auto k = store.create(v, name, r);
    INFO((k ? std::string() : k.error().message));
    REQUIRE(k.is_ok());
    return *k;
  }
  // Everything the store holds, as replace_all() takes it.
  json snapshot(bool include_private = true) const {
    json all = json::object();
    for (const auto& name : store.vault_names())
      all[name] = store.export_vault(name, include_private);
    return all;
  }
  // The same put together from key_rows(), as persistence does.
  json from_rows(bool include_private = true) const {
    json all = json::object();
    for (const auto& [row, text] : store.key_rows(include_private)) {
      const size_t slash = row.find('/');
      REQUIRE(slash != std::string::npos);
      json key = json::parse(text);
      REQUIRE(text == key.dump());  // the text is exactly what dump() writes
      // key_row() answers the same text for the same row.
      REQUIRE(store.key_row(row, include_private) == text);
      json& vault = all[row.substr(0, slash)];
      if (vault.is_null()) vault = {{"keys", json::array()}, {"deletedKeys", json::array()}};
      vault[key.contains("deletedDate") ? "deletedKeys" : "keys"].push_back(std::move(key));
    }
    return all;
  }
};

CreateKeyRequest request(const std::string& kty, std::optional<int> size = std::nullopt,
                         std::optional<std::string> crv = std::nullopt) {
  CreateKeyRequest r{kty};
  r.key_size = size;
  r.crv = std::move(crv);
  return r;
}

CipherInput in(std::string v) {
  return {std::move(v), {}, {}, {}};
}

// A store with every kind of key in every state: RSA 2048/3072, RSA-HSM, EC on each curve,
// EC-HSM, oct and oct-HSM; several versions, a disabled one, nbf/exp, tags, a release policy,
// rotation policies (one of which has rotated by itself), deleted keys.
void populate(Fixture& f) {
  CreateKeyRequest tagged = request("RSA");
  tagged.tags = json{{"env", "test"}, {"owner", "me"}};
  tagged.attributes.nbf = f.now() - 100;
  tagged.attributes.exp = f.now() + 1000 * 86400;
  f.create(f.standard, "Rsa2048", tagged);
  f.create(f.standard, "rsa2048", request("RSA"));  // a second version, first casing kept
  f.create(f.standard, "rsa3072", request("RSA", 3072));
  f.create(f.standard, "ec256", request("EC"));
  f.create(f.standard, "ec384", request("EC", std::nullopt, "P-384"));
  f.create(f.standard, "ec521", request("EC", 521));
  f.create(f.standard, "ec256k", request("EC", std::nullopt, "P-256K"));
  CreateKeyRequest ops = request("EC");
  ops.key_ops = std::vector<std::string>{"sign"};
  auto off = f.create(f.standard, "disabled", ops);
  f.create(f.standard, "disabled", ops);
  UpdateKeyRequest disable;
  disable.attributes.enabled = false;
  REQUIRE(f.store.update(f.standard, "disabled", off.version, disable).is_ok());
  f.create(f.standard, "gone", request("EC"));
  REQUIRE(f.store.remove(f.standard, "gone").is_ok());

  f.create(f.premium, "rsahsm", request("RSA-HSM"));
  f.create(f.premium, "echsm", request("EC-HSM", std::nullopt, "P-384"));
  f.create(f.premium, "oct128", request("oct", 128));
  f.create(f.premium, "oct", request("oct"));
  f.create(f.premium, "octhsm", request("oct-HSM", 192));
  CreateKeyRequest exportable = request("RSA-HSM");
  exportable.attributes.exportable = true;
  exportable.release_policy = json{{"contentType", "application/json; charset=utf-8"},
                                   {"data", "eyJhbnlPZiI6W119"},
                                   {"immutable", false}};
  f.create(f.premium, "exportable", exportable);
  f.create(f.premium, "auto", request("EC"));
  RotationPolicy p;
  p.lifetime_actions.push_back({"Rotate", std::string("P30D"), std::nullopt});
  p.lifetime_actions.push_back({"Notify", std::nullopt, std::string("P10D")});
  p.expiry_time = "P60D";
  REQUIRE(f.store.set_rotation_policy(f.premium, "auto", p).is_ok());
  f.create(f.premium, "deleted-with-policy", request("oct"));
  RotationPolicy q;
  q.lifetime_actions.push_back({"Rotate", std::nullopt, std::string("P7D")});
  q.expiry_time = "P28D";
  REQUIRE(f.store.set_rotation_policy(f.premium, "deleted-with-policy", q).is_ok());
  REQUIRE(f.store.rotate(f.premium, "deleted-with-policy").is_ok());
  REQUIRE(f.store.remove(f.premium, "deleted-with-policy").is_ok());
  f.advance(31 * kDay);  // "auto" is due: the export settles it
}

// Replaces `f`'s state with `snapshot`, requiring success.
void load(Fixture& f, const json& snapshot) {
  auto s = f.store.replace_all(snapshot);
  INFO(s.message());
  REQUIRE(s.is_ok());
}

}  // namespace

TEST_CASE("keys snapshot: the round trip is exact for every kind of key and state",
          "[keys-snapshot]") {
  Fixture f;
  populate(f);
  const json first = f.snapshot();
  REQUIRE(f.store.vault_names() == std::vector<std::string>{"kv1", "kv2"});

  // The format.
  const json& kv1 = first["kv1"];
  REQUIRE(kv1["keys"].size() == 7);
  REQUIRE(kv1["deletedKeys"].size() == 1);
  std::vector<std::string> names;
  for (const auto& k : kv1["keys"]) names.push_back(k["name"].get<std::string>());
  REQUIRE(names == std::vector<std::string>{"disabled", "ec256", "ec256k", "ec384", "ec521",
                                            "Rsa2048", "rsa3072"});
  const json& rsa = kv1["keys"][5];
  REQUIRE(rsa["versions"].size() == 2);
  const json& v0 = rsa["versions"][0];
  REQUIRE(v0["version"].get<std::string>().size() == 32);
  REQUIRE(v0["kty"] == "RSA");
  REQUIRE(v0["tags"] == json{{"env", "test"}, {"owner", "me"}});
  REQUIRE(v0["attributes"]["nbf"] == f.now() - 31 * 86400 - 100);
  REQUIRE(v0["attributes"]["exportable"] == false);
  REQUIRE(v0["jwk"]["kty"] == "RSA");
  REQUIRE(v0["jwk"].contains("n"));
  REQUIRE_FALSE(v0["jwk"].contains("d"));
  REQUIRE(v0["material"].is_string());
  REQUIRE_FALSE(v0.contains("release_policy"));
  REQUIRE_FALSE(rsa["versions"][1]["attributes"].contains("nbf"));
  REQUIRE_FALSE(rsa["versions"][1]["attributes"].contains("exp"));
  REQUIRE_FALSE(rsa.contains("rotationPolicy"));
  REQUIRE(kv1["keys"][0]["versions"][0]["attributes"]["enabled"] == false);
  REQUIRE(kv1["keys"][0]["versions"][1]["attributes"]["enabled"] == true);
  REQUIRE(kv1["deletedKeys"][0]["name"] == "gone");
  REQUIRE(kv1["deletedKeys"][0]["scheduledPurgeDate"].get<int64_t>() -
              kv1["deletedKeys"][0]["deletedDate"].get<int64_t>() ==
          90 * 86400);
  const json& kv2 = first["kv2"];
  const json& automatic = kv2["keys"][0];
  REQUIRE(automatic["name"] == "auto");
  REQUIRE(automatic["versions"].size() == 2);  // rotated by itself at day 30
  REQUIRE(automatic["rotationPolicy"]["lifetimeActions"][0] ==
          json{{"type", "Rotate"}, {"timeAfterCreate", "P30D"}});
  REQUIRE(automatic["rotationPolicy"]["expiryTime"] == "P60D");
  REQUIRE(kv2["deletedKeys"][0]["rotationPolicy"]["lifetimeActions"][0]["timeBeforeExpiry"] ==
          "P7D");
  const json& exported = kv2["keys"][2];
  REQUIRE(exported["name"] == "exportable");
  REQUIRE(exported["versions"][0]["release_policy"]["data"] == "eyJhbnlPZiI6W119");
  REQUIRE(kv2["keys"][3]["versions"][0]["jwk"] == json{{"kty", "oct"}});

  // Exported twice without a change: the same text.
  REQUIRE(f.snapshot().dump() == first.dump());
  // The rows are the JSON export cut per key, with and without secrets.
  for (const bool secrets : {true, false}) {
    INFO((secrets ? "with secrets" : "public"));
    REQUIRE(f.from_rows(secrets).dump() == f.snapshot(secrets).dump());
  }
  size_t keys = 0;  // every live and deleted key of both vaults: one row each
  for (const auto& [_, vault] : first.items())
    keys += vault["keys"].size() + vault["deletedKeys"].size();
  REQUIRE(keys > 10);
  REQUIRE(f.store.key_rows(true).size() == keys);
  REQUIRE_FALSE(f.store.key_row("kv1/nope", true));
  REQUIRE_FALSE(f.store.key_row("nope/rsa2048", true));
  REQUIRE_FALSE(f.store.key_row("kv1", true));
  REQUIRE(f.store.key_row("kv1/RSA2048", true) == std::nullopt);  // rows are lower case

  // Into another store (another emulator, other ids), and back out: byte-identical.
  Fixture g(8);  // another emulator: other ids
  g.clock.t = f.clock.t;
  load(g, first);
  REQUIRE(g.snapshot().dump() == first.dump());
  REQUIRE(g.snapshot(false).dump() == f.snapshot(false).dump());
  REQUIRE(g.store.vault_names() == f.store.vault_names());
  REQUIRE(g.from_rows().dump() == first.dump());
  // And into the same store.
  load(f, first);
  REQUIRE(f.snapshot().dump() == first.dump());

  // A changed version is exported changed (nothing stale in the cached texts).
  const std::string old_text = *g.store.key_row("kv1/rsa2048", false);
  const std::string old_text_private = *g.store.key_row("kv1/rsa2048", true);
  UpdateKeyRequest retag;
  retag.tags = json{{"changed", "yes"}};
  REQUIRE(
      g.store.update(g.standard, "rsa2048", rsa["versions"][0]["version"].get<std::string>(), retag)
          .is_ok());
  for (const bool secrets : {true, false}) {
    const std::string text = *g.store.key_row("kv1/rsa2048", secrets);
    REQUIRE(text != (secrets ? old_text_private : old_text));
    REQUIRE(text == g.store.export_vault("kv1", secrets)["keys"][5].dump());
    REQUIRE(json::parse(text)["versions"][0]["tags"] == json{{"changed", "yes"}});
    REQUIRE(g.from_rows(secrets).dump() == g.snapshot(secrets).dump());
  }

  // The restored store behaves as the first one does.
  auto latest = g.store.get(g.premium, "AUTO", "");
  REQUIRE(latest.is_ok());
  REQUIRE(latest->version == automatic["versions"][1]["version"]);
  REQUIRE_FALSE(
      g.store
          .get(g.standard, "disabled", kv1["keys"][0]["versions"][0]["version"].get<std::string>())
          ->attributes.enabled);
  REQUIRE(g.store.create(g.standard, "GONE", {"EC"}).error().kind ==
          KeyErrorKind::DeletedButRecoverable);
  REQUIRE(g.store.recover(g.standard, "gone")->name == "gone");
  REQUIRE(g.store.get_rotation_policy(g.premium, "auto")->expiry_time == "P60D");
  // Rotation continues on the clock from the restored versions.
  g.advance(30 * kDay);
  REQUIRE(g.store.list_versions(g.premium, "auto", "", 25)->items.size() == 3);
}

TEST_CASE("keys snapshot: keys work after a restore: unwrap, decrypt, verify, backups",
          "[keys-snapshot]") {
  Fixture f;
  f.create(f.standard, "rsa", request("RSA"));
  f.create(f.standard, "ec", request("EC", std::nullopt, "P-256K"));
  f.create(f.premium, "aes", request("oct"));
  const std::string dek(32, 'k');
  auto wrapped =
      f.store.cipher(f.standard, "rsa", "", CipherOperation::WrapKey, "RSA-OAEP-256", in(dek));
  REQUIRE(wrapped.is_ok());
  auto kw = f.store.cipher(f.premium, "aes", "", CipherOperation::WrapKey, "A256KW", in(dek));
  REQUIRE(kw.is_ok());
  auto gcm =
      f.store.cipher(f.premium, "aes", "", CipherOperation::Encrypt, "A256GCM", in("secret data"));
  REQUIRE(gcm.is_ok());
  const std::string digest(32, 'd');
  auto rs = f.store.sign(f.standard, "rsa", "", "PS256", digest);
  auto es = f.store.sign(f.standard, "ec", "", "ES256K", digest);
  REQUIRE(rs.is_ok());
  REQUIRE(es.is_ok());
  auto blob = f.store.backup(f.standard, "rsa");
  REQUIRE(blob.is_ok());
  const json snapshot = f.snapshot();
  const std::string backup_key = f.store.export_backup_key();
  REQUIRE(base64url_decode(backup_key)->size() == 32);

  Fixture g(8);  // another emulator: other ids
  g.clock.t = f.clock.t;
  load(g, snapshot);
  auto unwrapped = g.store.cipher(g.standard, "rsa", wrapped->version, CipherOperation::UnwrapKey,
                                  "RSA-OAEP-256", in(wrapped->output.value));
  REQUIRE(unwrapped.is_ok());
  REQUIRE(unwrapped->output.value == dek);
  REQUIRE(
      g.store
          .cipher(g.premium, "aes", "", CipherOperation::UnwrapKey, "A256KW", in(kw->output.value))
          ->output.value == dek);
  auto opened = g.store.cipher(g.premium, "aes", "", CipherOperation::Decrypt, "A256GCM",
                               {gcm->output.value, gcm->output.iv, std::nullopt, gcm->output.tag});
  REQUIRE(opened.is_ok());
  REQUIRE(opened->output.value == "secret data");
  REQUIRE(g.store.verify(g.standard, "rsa", "", "PS256", digest, rs->signature)->valid);
  REQUIRE(g.store.verify(g.standard, "ec", "", "ES256K", digest, es->signature)->valid);
  REQUIRE_FALSE(
      g.store.verify(g.standard, "ec", "", "ES256K", std::string(32, 'x'), es->signature)->valid);
  // New work in the restored store is readable by the first one (same material).
  auto again = g.store.cipher(g.standard, "rsa", "", CipherOperation::WrapKey, "RSA-OAEP", in(dek));
  REQUIRE(f.store
              .cipher(f.standard, "rsa", "", CipherOperation::UnwrapKey, "RSA-OAEP",
                      in(again->output.value))
              ->output.value == dek);

  // A backup blob made before the snapshot restores once the backup key is imported.
  VaultSettings other{"kv3", true, 90, false, false};
  REQUIRE(g.store.restore(other, *blob).error().kind == KeyErrorKind::BadParameter);
  const uint64_t before = g.store.revision();
  REQUIRE(g.store.import_backup_key(backup_key).is_ok());
  REQUIRE(g.store.revision() > before);
  REQUIRE(g.store.export_backup_key() == backup_key);
  auto restored = g.store.restore(other, *blob);
  REQUIRE(restored.is_ok());
  REQUIRE(g.store
              .cipher(other, "rsa", wrapped->version, CipherOperation::UnwrapKey, "RSA-OAEP-256",
                      in(wrapped->output.value))
              ->output.value == dek);
  // And blobs made by the restored store restore in the first one.
  auto blob2 = g.store.backup(g.premium, "aes");
  REQUIRE(f.store.restore(VaultSettings{"kv4", true, 90, false, true}, *blob2).is_ok());

  // Bad backup keys change nothing.
  REQUIRE_FALSE(g.store.import_backup_key("not base64!").is_ok());
  REQUIRE_FALSE(g.store.import_backup_key(base64url_encode(std::string(16, 'x'))).is_ok());
  REQUIRE(g.store.export_backup_key() == backup_key);
}

TEST_CASE("keys snapshot: a public-only export is refused by replace_all", "[keys-snapshot]") {
  Fixture f;
  f.create(f.standard, "k", request("EC"));
  const json pub = f.snapshot(false);
  REQUIRE_FALSE(pub["kv1"]["keys"][0]["versions"][0].contains("material"));
  REQUIRE(pub["kv1"]["keys"][0]["versions"][0]["jwk"].contains("x"));
  const std::string before = f.snapshot().dump();
  const uint64_t revision = f.store.revision();
  auto s = f.store.replace_all(pub);
  REQUIRE_FALSE(s.is_ok());
  REQUIRE(s.message() ==
          "$.keys.kv1.keys[0].versions[0]: carries no private key material: export with "
          "?include=secrets to import");
  REQUIRE(f.snapshot().dump() == before);
  REQUIRE(f.store.revision() == revision);
  // The path prefix is the caller's.
  REQUIRE(f.store.replace_all(pub, "$.state.keys").message().rfind("$.state.keys.kv1.keys[0]", 0) ==
          0);
}

TEST_CASE("keys snapshot: malformed snapshots are refused with their path, nothing changes",
          "[keys-snapshot]") {
  Fixture f;
  f.create(f.standard, "a", request("EC"));
  f.create(f.standard, "a", request("EC"));
  f.create(f.standard, "b", request("RSA"));
  f.create(f.premium, "c", request("oct"));
  f.create(f.premium, "d", request("EC", std::nullopt, "P-384"));
  REQUIRE(f.store.remove(f.premium, "d").is_ok());
  const json good = f.snapshot();
  const std::string before = good.dump();
  const uint64_t revision = f.store.revision();
  const std::string rsa_material = good["kv1"]["keys"][1]["versions"][0]["material"];

  struct Case {
    const char* what;
    std::function<void(json&)> change;
    std::string path;  // the message starts with it, then ": "
  };
  const std::string a0 = "$.keys.kv1.keys[0].versions[0]";
  std::vector<Case> cases = {
      {"not an object", [](json& j) { j = json::array(); }, "$.keys"},
      {"a vault that is not an object", [](json& j) { j["kv1"] = 5; }, "$.keys.kv1"},
      {"a bad vault name", [](json& j) { j["kv 1"] = json::object(); }, "$.keys.kv 1"},
      {"the same vault twice", [](json& j) { j["KV1"] = j["kv1"]; }, "$.keys.kv1"},
      {"an unknown vault member", [](json& j) { j["kv1"]["secrets"] = json::array(); },
       "$.keys.kv1.secrets"},
      {"keys not an array", [](json& j) { j["kv1"]["keys"] = json::object(); }, "$.keys.kv1.keys"},
      {"a bad version id", [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["version"] = "xyz"; },
       a0 + ".version"},
      {"a version id that is not a string",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["version"] = 12; }, a0 + ".version"},
      {"a missing version id",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0].erase("version"); }, a0 + ".version"},
      {"a duplicate version id",
       [&](json& j) {
         j["kv1"]["keys"][0]["versions"][1]["version"] =
             j["kv1"]["keys"][0]["versions"][0]["version"];
       },
       "$.keys.kv1.keys[0].versions[1].version"},
      {"an unknown kty", [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["kty"] = "DSA"; },
       a0 + ".kty"},
      {"material that is not base64url",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["material"] = "not base64!"; },
       a0 + ".material"},
      {"material that is not a key",
       [&](json& j) {
         j["kv1"]["keys"][0]["versions"][0]["material"] = base64url_encode("garbage");
       },
       a0 + ".material"},
      {"material of another family",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["material"] = rsa_material; },
       a0 + ".material"},
      {"material of another key",
       [&](json& j) {
         j["kv1"]["keys"][0]["versions"][0]["material"] =
             j["kv1"]["keys"][0]["versions"][1]["material"];
       },
       a0 + ".jwk"},
      {"material that is a number",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["material"] = 1; }, a0 + ".material"},
      {"an oct key of a bad size",
       [&](json& j) {
         j["kv2"]["keys"][0]["versions"][0]["material"] = base64url_encode(std::string(20, 'x'));
       },
       "$.keys.kv2.keys[0].versions[0].material"},
      {"a duplicate key name", [&](json& j) { j["kv1"]["keys"][1]["name"] = "A"; },
       "$.keys.kv1.keys[1].name"},
      {"a name both live and deleted", [&](json& j) { j["kv2"]["deletedKeys"][0]["name"] = "C"; },
       "$.keys.kv2.deletedKeys[0].name"},
      {"a bad key name", [&](json& j) { j["kv1"]["keys"][0]["name"] = "a_b"; },
       "$.keys.kv1.keys[0].name"},
      {"no versions", [&](json& j) { j["kv1"]["keys"][0]["versions"] = json::array(); },
       "$.keys.kv1.keys[0].versions"},
      {"enabled not a boolean",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["attributes"]["enabled"] = "yes"; },
       a0 + ".attributes.enabled"},
      {"created not an integer",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["attributes"]["created"] = 1.5; },
       a0 + ".attributes.created"},
      {"exp a string",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["attributes"]["exp"] = "tomorrow"; },
       a0 + ".attributes.exp"},
      {"nbf out of range",
       [&](json& j) {
         j["kv1"]["keys"][0]["versions"][0]["attributes"]["nbf"] = uint64_t{1} << 63;
       },
       a0 + ".attributes.nbf"},
      {"no updated",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["attributes"].erase("updated"); },
       a0 + ".attributes.updated"},
      {"attributes not an object",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["attributes"] = json::array(); },
       a0 + ".attributes"},
      {"an unknown attribute",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["attributes"]["expires"] = 1; },
       a0 + ".attributes.expires"},
      {"an unknown version member", [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["d"] = "x"; },
       a0 + ".d"},
      {"key_ops not for the kty",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["key_ops"] = {"wrapKey"}; },
       a0 + ".key_ops"},
      {"key_ops not strings", [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["key_ops"] = {1}; },
       a0 + ".key_ops"},
      {"a tag that is not a string",
       [&](json& j) {
         j["kv1"]["keys"][0]["versions"][0]["tags"] = {{"t", 1}};
       },
       a0 + ".tags"},
      {"exportable without a release policy",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["attributes"]["exportable"] = true; }, a0},
      {"a jwk that is not the material's",
       [&](json& j) { j["kv1"]["keys"][0]["versions"][0]["jwk"]["kty"] = "EC-HSM"; }, a0 + ".jwk"},
      {"a rotation policy with a short trigger",
       [&](json& j) {
         j["kv1"]["keys"][0]["rotationPolicy"] = {
             {"lifetimeActions", {{{"type", "Rotate"}, {"timeAfterCreate", "P1D"}}}}};
       },
       "$.keys.kv1.keys[0].rotationPolicy"},
      {"a rotation policy action of a bad type",
       [&](json& j) {
         j["kv1"]["keys"][0]["rotationPolicy"] = {
             {"lifetimeActions", {{{"type", 3}, {"timeAfterCreate", "P30D"}}}}};
       },
       "$.keys.kv1.keys[0].rotationPolicy.lifetimeActions[0].type"},
      {"a rotation policy with a bad created",
       [&](json& j) {
         j["kv1"]["keys"][0]["rotationPolicy"] = {
             {"lifetimeActions", {{{"type", "Rotate"}, {"timeAfterCreate", "P30D"}}}},
             {"created", "now"}};
       },
       "$.keys.kv1.keys[0].rotationPolicy.created"},
      {"a deleted key without deletedDate",
       [&](json& j) { j["kv2"]["deletedKeys"][0].erase("deletedDate"); },
       "$.keys.kv2.deletedKeys[0].deletedDate"},
      {"a live key with deletedDate", [&](json& j) { j["kv1"]["keys"][0]["deletedDate"] = 1; },
       "$.keys.kv1.keys[0].deletedDate"},
  };
  for (const auto& c : cases) {
    json bad = good;
    c.change(bad);
    auto s = f.store.replace_all(bad);
    INFO(c.what << ": " << s.message());
    CHECK_FALSE(s.is_ok());
    CHECK(s.message().rfind(c.path + ": ", 0) == 0);
    CHECK(f.snapshot().dump() == before);
    CHECK(f.store.revision() == revision);
  }
  // A case that names the error late: every earlier vault and key was valid, still nothing
  // changes.
  json late = good;
  late["zz"] = json{{"keys", {{{"name", "x"}, {"versions", json::array()}}}}};
  REQUIRE(f.store.replace_all(late).message().rfind("$.keys.zz.keys[0].versions: ", 0) == 0);
  REQUIRE(f.snapshot().dump() == before);
}

TEST_CASE("keys snapshot: replace_all replaces everything, null and empty vaults hold nothing",
          "[keys-snapshot]") {
  Fixture f;
  f.create(f.standard, "a", request("EC"));
  f.create(f.premium, "b", request("oct"));
  json snapshot = f.snapshot();
  REQUIRE(f.store.export_vault("nope", true).is_null());
  REQUIRE(f.store.export_vault("KV1", true) ==
          snapshot["kv1"]);  // names compare case-insensitively

  json only_kv2 = {{"kv2", snapshot["kv2"]},
                   {"kv1", nullptr},
                   {"empty", {{"keys", json::array()}, {"deletedKeys", json::array()}}}};
  load(f, only_kv2);
  REQUIRE(f.store.vault_names() == std::vector<std::string>{"kv2"});
  REQUIRE(f.store.export_vault("kv1", true).is_null());
  REQUIRE(f.store.export_vault("empty", true).is_null());
  REQUIRE(f.store.key_rows(true).size() == 1);  // kv2's "b"
  REQUIRE(f.store.get(f.standard, "a", "").error().kind == KeyErrorKind::KeyNotFound);
  load(f, json::object());
  REQUIRE(f.store.vault_names().empty());

  // A vault that was only read holds nothing; one whose last key was purged neither.
  REQUIRE(f.store.get(f.standard, "a", "").error().kind == KeyErrorKind::KeyNotFound);
  REQUIRE(f.store.vault_names().empty());
  f.create(f.premium, "c", request("EC"));
  REQUIRE(f.store.remove(f.premium, "c").is_ok());
  REQUIRE(f.store.vault_names() == std::vector<std::string>{"kv2"});
  f.advance(91 * kDay);  // past the retention
  REQUIRE(f.store.vault_names().empty());
  const uint64_t before = f.store.revision();
  REQUIRE(f.store.export_vault("kv2", true).is_null());
  REQUIRE(f.store.revision() > before);  // the export purged it
}

TEST_CASE("keys snapshot: every change moves the revision and names its key, only then",
          "[keys-snapshot]") {
  Fixture f;
  REQUIRE(f.store.revision() == 0);
  f.store.changes().track();
  uint64_t last = 0;
  // Requires that `what` moved the revision and recorded exactly `rows` as changed.
  auto changed = [&](const char* what, std::vector<std::string> rows) {
    INFO(what);
    REQUIRE(f.store.revision() > last);
    last = f.store.revision();
    auto c = f.store.changes().take();
    REQUIRE_FALSE(c.all);
    REQUIRE(c.keys == rows);
  };
  auto unchanged = [&](const char* what) {
    INFO(what);
    REQUIRE(f.store.revision() == last);
    auto c = f.store.changes().take();
    REQUIRE_FALSE(c.all);
    REQUIRE(c.keys.empty());
  };

  f.create(f.premium, "Other", request("oct"));
  changed("create in kv2", {"kv2/other"});
  f.create(f.standard, "K", request("EC"));
  changed("create", {"kv1/k"});
  REQUIRE(f.store.get(f.standard, "k", "").is_ok());
  REQUIRE(f.store.list_keys(f.standard, "", 25).items.size() == 1);
  REQUIRE(f.store.sign(f.standard, "k", "", "ES256", std::string(32, 'd')).is_ok());
  REQUIRE(f.store.get_rotation_policy(f.standard, "k").is_ok());
  REQUIRE(f.store.backup(f.standard, "k").is_ok());
  f.store.export_vault("kv1", true);
  f.store.key_rows(true);
  unchanged("reads");
  REQUIRE(f.store.create(f.standard, "bad name", request("EC")).error().kind ==
          KeyErrorKind::BadParameter);
  REQUIRE(f.store.get(f.standard, "none", "").error().kind == KeyErrorKind::KeyNotFound);
  unchanged("failures");

  ImportKeyRequest imp;
  imp.pem =
      "-----BEGIN EC PRIVATE KEY-----\n"
      "MHcCAQEEIMgdg7PQFOLu1FjWxU/ARMpchz75npFUh12xeOfFhxesoAoGCCqGSM49\n"
      "AwEHoUQDQgAEMsmU6QMHdfJGOlVXvA27QW/PpQAgzGaNbklRGtqHBtwVZO5seE+P\n"
      "Tb1T9r6KspO0hzZTFJEUnyijO1IXTdv1Ng==\n"
      "-----END EC PRIVATE KEY-----\n";
  auto imported = f.store.import(f.standard, "imported", imp);
  INFO((imported ? std::string() : imported.error().message));
  REQUIRE(imported.is_ok());
  changed("import", {"kv1/imported"});
  UpdateKeyRequest upd;
  upd.tags = json{{"t", "1"}};
  REQUIRE(f.store.update(f.standard, "k", "", upd).is_ok());
  changed("update", {"kv1/k"});
  REQUIRE(f.store.rotate(f.standard, "k").is_ok());
  changed("rotate", {"kv1/k"});
  RotationPolicy p;
  p.lifetime_actions.push_back({"Rotate", std::string("P30D"), std::nullopt});
  REQUIRE(f.store.set_rotation_policy(f.standard, "k", p).is_ok());
  changed("set_rotation_policy", {"kv1/k"});
  auto blob = f.store.backup(f.standard, "k");
  REQUIRE(f.store.remove(f.standard, "k").is_ok());
  changed("remove", {"kv1/k"});
  REQUIRE(f.store.recover(f.standard, "k").is_ok());
  changed("recover", {"kv1/k"});
  REQUIRE(f.store.remove(f.standard, "k").is_ok());
  changed("remove again", {"kv1/k"});
  REQUIRE(f.store.purge(f.standard, "k").is_ok());
  changed("purge", {"kv1/k"});
  REQUIRE_FALSE(f.store.key_row("kv1/k", true));  // the row is gone: persistence deletes it
  REQUIRE(f.store.restore(f.standard, *blob).is_ok());
  changed("restore", {"kv1/k"});

  // Automatic rotation: the clock alone changes nothing, the next read settles it.
  f.advance(31 * kDay);
  unchanged("the clock moved");
  REQUIRE(f.store.get(f.standard, "k", "").is_ok());
  changed("automatic rotation on a read", {"kv1/k"});
  REQUIRE(f.store.get(f.standard, "k", "").is_ok());
  unchanged("a second read");
  // ... or the export, which renders the rotated state. key_row() does not settle: it reads
  // the row as it is, and the settling is a change of its own.
  f.advance(31 * kDay);
  const std::string before_settling = *f.store.key_row("kv1/k", false);
  unchanged("key_row");
  const json settled = f.store.export_vault("kv1", false);
  changed("automatic rotation on export", {"kv1/k"});
  REQUIRE(*f.store.key_row("kv1/k", false) != before_settling);
  REQUIRE(settled["keys"][1]["versions"].size() == 4);  // created, rotated, and two automatic
  REQUIRE(f.store.export_vault("kv1", false) == settled);
  unchanged("a second export");

  // Lazy purge of an expired deleted key, by a read.
  REQUIRE(f.store.remove(f.standard, "imported").is_ok());
  changed("remove imported", {"kv1/imported"});
  f.advance(91 * kDay);
  unchanged("the clock moved past the purge date");
  REQUIRE(f.store.list_deleted(f.standard, "", 25).items.empty());
  changed("lazy purge on a read", {"kv1/imported"});

  // Vault-wide changes: a dropped vault names each of its keys.
  f.create(f.standard, "second", request("EC"));
  changed("create", {"kv1/second"});
  f.store.drop_vault("KV1");
  changed("drop_vault", {"kv1/k", "kv1/second"});
  REQUIRE_FALSE(f.store.key_row("kv1/k", true));
  f.store.drop_vault("kv1");
  unchanged("dropping an unknown vault");
  f.create(f.standard, "new", request("EC"));
  changed("create in a dropped vault", {"kv1/new"});
  const json all = f.snapshot();
  REQUIRE(f.store.replace_all(all).is_ok());
  REQUIRE(f.store.revision() > last);
  last = f.store.revision();
  REQUIRE(f.store.changes().take().all);  // everything
  REQUIRE_FALSE(f.store.replace_all(json::array()).is_ok());
  unchanged("a refused replace_all");
  REQUIRE(f.store.import_backup_key(f.store.export_backup_key()).is_ok());
  REQUIRE(f.store.revision() > last);  // the backup key is a row of its own section
  last = f.store.revision();
  unchanged("nothing else");
  // track() starts afresh: what was recorded before it is forgotten.
  f.create(f.standard, "late", request("EC"));
  f.store.changes().track();
  REQUIRE(f.store.changes().take().keys.empty());
}

TEST_CASE("keys snapshot: exports run safely alongside changes", "[keys-snapshot]") {
  Fixture f;
  f.create(f.premium, "k0", request("EC"));
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 40; ++i) {
      const std::string name = "k" + std::to_string(i % 5);
      (void)f.store.create(f.premium, name, request(i % 2 ? "oct" : "EC"));
      UpdateKeyRequest u;
      u.tags = json{{"i", std::to_string(i)}};
      (void)f.store.update(f.premium, name, "", u);
      if (i % 7 == 0) (void)f.store.remove(f.premium, "k" + std::to_string((i + 1) % 5));
    }
    done = true;
  });
  int exports = 0;
  while (!done || exports < 5) {
    for (const auto& [row, text] : f.store.key_rows(exports % 2 == 0))
      REQUIRE(json::parse(text).is_object());
    if (auto one = f.store.key_row("kv2/k1", exports % 2 == 1))
      REQUIRE(json::parse(*one).is_object());
    ++exports;
  }
  writer.join();
  for (const bool secrets : {true, false})
    REQUIRE(f.from_rows(secrets).dump() == f.snapshot(secrets).dump());
  Fixture g(8);
  g.clock.t = f.clock.t;
  load(g, f.snapshot());
  REQUIRE(g.store.key_rows(true) == f.store.key_rows(true));
}
