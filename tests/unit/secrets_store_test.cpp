// The Key Vault secret store: versions, the value limit, disabled secrets, attributes, soft
// delete/recover/purge on the virtual clock, managed secrets, backup/restore, paging, snapshot.
#include <catch2/catch.hpp>

#include "keyvault_data/key_store.h"
#include "keyvault_data/secret_store.h"
#include "test_support.h"

using namespace cmk;
using namespace cmk::keyvault_data;
using nlohmann::json;

namespace {

struct Fixture {
  test::ManualClock clock;
  IdGenerator ids{7};
  RsaKeyPool pool{RsaKeyPoolOptions{0, {}}};
  KeyStore keys{clock, ids, pool};
  SecretStore store{clock, ids, [this] { return keys.backup_sealing_key(); }};
  VaultSettings vault{"kv1", true, 90, false, false};

  int64_t now() const { return to_unix_seconds(clock.t); }
  void advance(std::chrono::seconds s) { clock.t += s; }
  SecretView set(const std::string& name, const std::string& value, SetSecretRequest r = {}) {
    r.value = value;
    auto s = store.set(vault, name, r);
    INFO((s ? std::string() : s.error().message));
    REQUIRE(s.is_ok());
    return *s;
  }
};

constexpr std::chrono::seconds kDay{86400};

}  // namespace

TEST_CASE("secrets store: set adds versions, get reads latest and by version", "[secrets]") {
  Fixture f;
  SetSecretRequest r;
  r.content_type = "text/plain";
  r.tags = json{{"env", "test"}};
  auto v1 = f.set("Conn", "one", r);
  f.advance(std::chrono::seconds(5));
  auto v2 = f.set("conn", "two");
  CHECK(v1.name == "Conn");
  CHECK(v2.name == "Conn");  // the first casing is kept
  CHECK(v1.version.size() == 32);
  CHECK(v1.version != v2.version);
  CHECK(*v1.value == "one");
  CHECK(v1.attributes.created == f.now() - 5);
  CHECK(v1.recovery_level == "Recoverable+Purgeable");
  CHECK(v1.recoverable_days == 90);

  auto latest = f.store.get(f.vault, "CONN", "");
  REQUIRE(latest);
  CHECK(*latest->value == "two");
  CHECK(latest->version == v2.version);
  auto first = f.store.get(f.vault, "conn", v1.version);
  REQUIRE(first);
  CHECK(*first->value == "one");
  CHECK(*first->content_type == "text/plain");
  CHECK(first->tags == json{{"env", "test"}});

  auto missing = f.store.get(f.vault, "nope", "");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == SecretErrorKind::SecretNotFound);
  auto bad_version = f.store.get(f.vault, "conn", std::string(32, 'a'));
  REQUIRE_FALSE(bad_version);
  CHECK(bad_version.error().kind == SecretErrorKind::SecretNotFound);
}

TEST_CASE("secrets store: the value limit is 25600 characters, names are checked", "[secrets]") {
  Fixture f;
  f.set("big", std::string(25600, 'x'));
  SetSecretRequest r;
  r.value = std::string(25601, 'x');
  auto too_big = f.store.set(f.vault, "big", r);
  REQUIRE_FALSE(too_big);
  CHECK(too_big.error().kind == SecretErrorKind::BadParameter);
  CHECK(too_big.error().message ==
        "Secret is beyond the maximum permitted length of 25600 characters.");
  // Characters, not bytes: 25600 two-byte characters fit.
  std::string wide;
  for (int i = 0; i < 25600; ++i) wide += "\xc3\xa9";
  f.set("wide", wide);
  r.value = "x";
  CHECK(f.store.set(f.vault, "bad_name", r).error().kind == SecretErrorKind::BadParameter);
  CHECK(f.store.set(f.vault, std::string(128, 'a'), r).error().kind ==
        SecretErrorKind::BadParameter);
  r.tags = json{{"a", 1}};
  CHECK(f.store.set(f.vault, "t", r).error().kind == SecretErrorKind::BadParameter);
}

TEST_CASE("secrets store: disabled versions are refused, expired and not-yet-valid ones served",
          "[secrets]") {
  Fixture f;
  SetSecretRequest r;
  r.attributes.enabled = false;
  auto off = f.set("off", "v", r);
  auto refused = f.store.get(f.vault, "off", "");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == SecretErrorKind::SecretDisabled);
  CHECK(refused.error().message == "Operation get is not allowed on a disabled secret.");
  // Listed, and enabled again by an update.
  CHECK(f.store.list_secrets(f.vault, "", 25).items.size() == 1);
  UpdateSecretRequest u;
  u.attributes.enabled = true;
  f.advance(std::chrono::seconds(3));
  auto on = f.store.update(f.vault, "off", off.version, u);
  REQUIRE(on);
  CHECK_FALSE(on->value);  // updates answer no value
  CHECK(on->attributes.updated == f.now());
  CHECK(on->attributes.created == f.now() - 3);
  CHECK(*f.store.get(f.vault, "off", "")->value == "v");

  SetSecretRequest window;
  window.attributes.nbf = f.now() + 3600;
  window.attributes.exp = f.now() + 7200;
  f.set("later", "soon", window);
  CHECK(*f.store.get(f.vault, "later", "")->value == "soon");
  f.advance(std::chrono::seconds(10000));
  CHECK(*f.store.get(f.vault, "later", "")->value == "soon");
}

TEST_CASE("secrets store: update changes one version's attributes, content type and tags",
          "[secrets]") {
  Fixture f;
  auto v1 = f.set("s", "a");
  f.set("s", "b");
  UpdateSecretRequest u;
  u.content_type = "application/json";
  u.tags = json{{"k", "v"}};
  u.attributes.exp = 99;
  auto r = f.store.update(f.vault, "s", v1.version, u);
  REQUIRE(r);
  CHECK(r->version == v1.version);
  auto older = f.store.get(f.vault, "s", v1.version);
  CHECK(*older->content_type == "application/json");
  CHECK(*older->attributes.exp == 99);
  auto latest = f.store.get(f.vault, "s", "");
  CHECK_FALSE(latest->content_type);
  CHECK(latest->tags.empty());
  CHECK(f.store.update(f.vault, "nope", "", u).error().kind == SecretErrorKind::SecretNotFound);
}

TEST_CASE("secrets store: lists are paged and carry no values", "[secrets]") {
  Fixture f;
  for (const char* n : {"c", "A", "b", "d", "e"}) f.set(n, "v");
  auto p1 = f.store.list_secrets(f.vault, "", 2);
  REQUIRE(p1.items.size() == 2);
  CHECK(p1.items[0].name == "A");
  CHECK(p1.items[1].name == "b");
  CHECK(p1.items[0].version.empty());
  CHECK_FALSE(p1.items[0].value);
  REQUIRE(p1.next_marker);
  auto p2 = f.store.list_secrets(f.vault, *p1.next_marker, 2);
  CHECK(p2.items[0].name == "c");
  auto p3 = f.store.list_secrets(f.vault, *p2.next_marker, 2);
  REQUIRE(p3.items.size() == 1);
  CHECK_FALSE(p3.next_marker);

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(f.set("multi", std::to_string(i)).version);
  auto v1 = f.store.list_versions(f.vault, "multi", "", 2);
  REQUIRE(v1);
  REQUIRE(v1->items.size() == 2);
  CHECK(v1->items[0].version == ids[0]);
  CHECK_FALSE(v1->items[0].value);
  auto v2 = f.store.list_versions(f.vault, "multi", *v1->next_marker, 2);
  REQUIRE(v2->items.size() == 1);
  CHECK(v2->items[0].version == ids[2]);
  CHECK_FALSE(v2->next_marker);
  CHECK(f.store.list_versions(f.vault, "none", "", 2).error().kind ==
        SecretErrorKind::SecretNotFound);
}

TEST_CASE("secrets store: soft delete, recover, purge and the retention on the clock",
          "[secrets]") {
  Fixture f;
  f.vault.retention_days = 7;
  f.set("gone", "v");
  auto d = f.store.remove(f.vault, "gone");
  REQUIRE(d);
  CHECK(*d->deleted_date == f.now());
  CHECK(*d->scheduled_purge_date == f.now() + 7 * 86400);
  CHECK(d->recovery_level == "CustomizedRecoverable+Purgeable");
  CHECK(f.store.get(f.vault, "gone", "").error().kind == SecretErrorKind::SecretNotFound);
  SetSecretRequest r;
  r.value = "again";
  CHECK(f.store.set(f.vault, "gone", r).error().kind == SecretErrorKind::DeletedButRecoverable);
  CHECK(f.store.list_deleted(f.vault, "", 25).items.size() == 1);

  auto back = f.store.recover(f.vault, "GONE");
  REQUIRE(back);
  CHECK(*f.store.get(f.vault, "gone", "")->value == "v");

  REQUIRE(f.store.remove(f.vault, "gone"));
  REQUIRE(f.store.purge(f.vault, "gone"));
  CHECK(f.store.get_deleted(f.vault, "gone").error().kind == SecretErrorKind::SecretNotFound);
  f.set("gone", "new");  // the name is free again

  // The clock purges a deleted secret at its scheduledPurgeDate.
  REQUIRE(f.store.remove(f.vault, "gone"));
  f.advance(7 * kDay - std::chrono::seconds(1));
  CHECK(f.store.get_deleted(f.vault, "gone"));
  f.advance(std::chrono::seconds(1));
  CHECK_FALSE(f.store.get_deleted(f.vault, "gone"));
  CHECK(f.store.list_deleted(f.vault, "", 25).items.empty());
}

TEST_CASE("secrets store: purge protection and vaults without soft delete", "[secrets]") {
  Fixture f;
  f.vault.purge_protection = true;
  f.set("p", "v");
  REQUIRE(f.store.remove(f.vault, "p"));
  auto refused = f.store.purge(f.vault, "p");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == SecretErrorKind::PurgeProtected);

  VaultSettings hard{"kv9", false, 90, false, false};
  SetSecretRequest r;
  r.value = "v";
  REQUIRE(f.store.set(hard, "h", r));
  auto d = f.store.remove(hard, "h");
  REQUIRE(d);
  CHECK_FALSE(d->deleted_date);
  CHECK(d->recovery_level == "Purgeable");
  CHECK(f.store.get_deleted(hard, "h").error().kind == SecretErrorKind::SecretNotFound);
  REQUIRE(f.store.set(hard, "h", r));
}

TEST_CASE("secrets store: a managed secret belongs to its certificate", "[secrets]") {
  Fixture f;
  SetSecretRequest r;
  r.value = "-----BEGIN PRIVATE KEY-----...";
  r.content_type = "application/x-pem-file";
  r.managed = true;
  r.kid = "https://kv1.vault.azure.net/keys/cert1/0123";
  // A client cannot make one.
  auto by_client = f.store.set(f.vault, "plain", r);
  REQUIRE(by_client);
  CHECK_FALSE(by_client->managed);
  CHECK_FALSE(by_client->kid);

  auto s = f.store.set(f.vault, "cert1", r, Actor::Certificate);
  REQUIRE(s);
  CHECK(s->managed);
  CHECK(*s->kid == *r.kid);
  CHECK(f.store.get(f.vault, "cert1", "")->managed);
  SetSecretRequest plain;
  plain.value = "x";
  CHECK(f.store.set(f.vault, "cert1", plain).error().kind == SecretErrorKind::SecretManaged);
  CHECK(f.store.remove(f.vault, "cert1").error().kind == SecretErrorKind::SecretManaged);
  REQUIRE(f.store.remove(f.vault, "cert1", Actor::Certificate));
  CHECK(f.store.recover(f.vault, "cert1").error().kind == SecretErrorKind::SecretManaged);
  CHECK(f.store.purge(f.vault, "cert1").error().kind == SecretErrorKind::SecretManaged);
  REQUIRE(f.store.recover(f.vault, "cert1", Actor::Certificate));
}

TEST_CASE("secrets store: backup and restore, sealed, of secrets only", "[secrets]") {
  Fixture f;
  SetSecretRequest r;
  r.content_type = "text/plain";
  auto v1 = f.set("b", "first", r);
  auto v2 = f.set("b", "second");
  auto blob = f.store.backup(f.vault, "b");
  REQUIRE(blob);
  CHECK(blob->find("second") == std::string::npos);  // sealed
  CHECK(f.store.restore(f.vault, *blob).error().kind == SecretErrorKind::Conflict);
  REQUIRE(f.store.remove(f.vault, "b"));
  CHECK(f.store.restore(f.vault, *blob).error().kind == SecretErrorKind::DeletedButRecoverable);
  REQUIRE(f.store.purge(f.vault, "b"));
  auto restored = f.store.restore(f.vault, *blob);
  REQUIRE(restored);
  CHECK(restored->version == v2.version);
  CHECK_FALSE(restored->value);
  CHECK(*f.store.get(f.vault, "b", v1.version)->value == "first");
  CHECK(*f.store.get(f.vault, "b", v1.version)->content_type == "text/plain");
  // Into another vault too.
  VaultSettings other{"kv2", true, 90, false, false};
  REQUIRE(f.store.restore(other, *blob));

  std::string altered = *blob;
  altered[altered.size() - 1] ^= 1;
  CHECK(f.store.restore(f.vault, altered).error().kind == SecretErrorKind::MalformedBackup);
  // A key's backup is no secret's.
  REQUIRE(f.keys.create(f.vault, "k", CreateKeyRequest{"EC"}));
  auto key_blob = f.keys.backup(f.vault, "k");
  REQUIRE(key_blob);
  CHECK(f.store.restore(other, *key_blob).error().kind == SecretErrorKind::MalformedBackup);
  CHECK(f.keys.restore(other, *blob).error().kind == KeyErrorKind::BadParameter);
}

TEST_CASE("secrets store: snapshot rows, values only when asked, replace_all round trip",
          "[secrets]") {
  Fixture f;
  SetSecretRequest r;
  r.tags = json{{"a", "b"}};
  f.set("Live", "hidden-value", r);
  f.set("dead", "old");
  REQUIRE(f.store.remove(f.vault, "dead"));

  auto rows = f.store.secret_rows(false);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].first == "kv1/dead");
  CHECK(rows[1].first == "kv1/live");
  for (const auto& [_, text] : rows) CHECK(text.find("hidden-value") == std::string::npos);
  auto with = f.store.secret_rows(true);
  CHECK(with[1].second.find("hidden-value") != std::string::npos);
  CHECK(f.store.secret_row("kv1/live", true) == with[1].second);
  CHECK_FALSE(f.store.secret_row("kv1/none", true));

  const json exported = {{"kv1", f.store.export_vault("kv1", true)}};
  CHECK(exported["kv1"]["deletedSecrets"][0].contains("scheduledPurgeDate"));
  Fixture g;
  const uint64_t before = g.store.revision();
  REQUIRE(g.store.replace_all(exported));
  CHECK(g.store.revision() > before);
  CHECK(g.store.secret_rows(true) == with);
  CHECK(*g.store.get(g.vault, "live", "")->value == "hidden-value");

  // Without values it cannot be imported; errors name the path and change nothing.
  const json without = {{"kv1", f.store.export_vault("kv1", false)}};
  auto s = g.store.replace_all(without);
  REQUIRE_FALSE(s);
  CHECK(s.message().find("$.secrets.kv1.secrets[0].versions[0]: carries no secret value") == 0);
  CHECK(g.store.secret_rows(true) == with);
  json bad = exported;
  bad["kv1"]["secrets"][0]["versions"][0]["attributes"]["enabled"] = "yes";
  CHECK_FALSE(g.store.replace_all(bad));
  bad = exported;
  bad["kv1"]["secrets"][0]["extra"] = 1;
  CHECK_FALSE(g.store.replace_all(bad));

  f.store.drop_vault("KV1");
  CHECK(f.store.secret_rows(true).empty());
  CHECK(f.store.export_vault("kv1", true).is_null());
}
