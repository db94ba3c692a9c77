// The Key Vault key store: versions, attributes and the rules for use, soft delete and purge on
// the virtual clock, rotation, backup/restore, paging.
#include <catch2/catch.hpp>

#include <openssl/rsa.h>

#include "common/base64.h"
#include "jwk_public_key.h"
#include "keyvault_data/key_store.h"
#include "test_support.h"

using namespace cmk;
using namespace cmk::keyvault_data;
using nlohmann::json;

namespace {

struct Fixture {
  test::ManualClock clock;
  IdGenerator ids{42};
  RsaKeyPool pool{RsaKeyPoolOptions{0, {}}};  // no background generation: deterministic
  KeyStore store{clock, ids, pool};
  VaultSettings vault{"kv1", true, 90, false, false};
  VaultSettings premium{"kv2", true, 90, false, true};

  int64_t now() const { return to_unix_seconds(clock.t); }
  void advance(std::chrono::seconds s) { clock.t += s; }
  KeyView create(const std::string& name, CreateKeyRequest r = {"RSA"}) {
    auto k = store.create(vault, name, r);
    INFO((k ? std::string() : k.error().message));
    REQUIRE(k.is_ok());
    return *k;
  }
  KeyView create_ec(const std::string& name) { return create(name, CreateKeyRequest{"EC"}); }
};

std::string wrap_locally(const KeyView& k, const std::string& dek) {
  PkeyPtr pub = test::key_from_jwk(k.public_jwk);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pub.get(), nullptr));
  EVP_PKEY_encrypt_init(ctx.get());
  EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING);
  EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256());
  EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256());
  size_t len = 512;
  std::string out(len, '\0');
  REQUIRE(EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                           reinterpret_cast<const unsigned char*>(dek.data()), dek.size()) == 1);
  out.resize(len);
  return out;
}

CipherInput in(std::string v) {
  return {std::move(v), {}, {}, {}};
}
constexpr std::chrono::seconds kDay{86400};

}  // namespace

TEST_CASE("keys store: create, get latest and by version, defaults", "[keys]") {
  Fixture f;
  auto k = f.create("cmk1");
  REQUIRE(k.name == "cmk1");
  REQUIRE(k.version.size() == 32);
  REQUIRE(k.version.find_first_not_of("0123456789abcdef") == std::string::npos);
  REQUIRE(k.kty == "RSA");
  REQUIRE(k.key_ops ==
          std::vector<std::string>{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"});
  REQUIRE(k.attributes.enabled);
  REQUIRE(k.attributes.created == f.now());
  REQUIRE(k.attributes.updated == f.now());
  REQUIRE_FALSE(k.attributes.exportable);
  REQUIRE(k.recovery_level == "Recoverable+Purgeable");
  REQUIRE(k.recoverable_days == 90);
  REQUIRE(base64url_decode(k.public_jwk["n"].get<std::string>())->size() == 256);
  REQUIRE_FALSE(k.public_jwk.contains("d"));

  auto second = f.create("CMK1");  // names compare case-insensitively
  REQUIRE(second.name == "cmk1");
  REQUIRE(second.version != k.version);
  REQUIRE(f.store.get(f.vault, "cmk1", "")->version == second.version);
  REQUIRE(f.store.get(f.vault, "Cmk1", k.version)->version == k.version);
  REQUIRE(f.store.get(f.vault, "cmk1", k.version)->public_jwk == k.public_jwk);

  auto missing = f.store.get(f.vault, "nope", "");
  REQUIRE(missing.error().kind == KeyErrorKind::KeyNotFound);
  REQUIRE_THAT(missing.error().message,
               Catch::StartsWith("A key with (name/id) nope was not found in this key vault."));
  auto bad_version = f.store.get(f.vault, "cmk1", "0123456789abcdef0123456789abcdef");
  REQUIRE(bad_version.error().kind == KeyErrorKind::KeyNotFound);
  // Another vault has its own keys.
  REQUIRE(f.store.get(f.premium, "cmk1", "").error().kind == KeyErrorKind::KeyNotFound);
}

TEST_CASE("keys store: sizes, curves, types and vault tiers", "[keys]") {
  Fixture f;
  CreateKeyRequest rsa3072{"RSA"};
  rsa3072.key_size = 3072;
  REQUIRE(base64url_decode(f.create("big", rsa3072).public_jwk["n"].get<std::string>())->size() ==
          384);
  CreateKeyRequest small{"RSA"};
  small.key_size = 1024;
  REQUIRE(f.store.create(f.vault, "small", small).error().kind == KeyErrorKind::BadParameter);

  REQUIRE(f.create_ec("ec1").public_jwk["crv"] == "P-256");
  REQUIRE(f.create_ec("ec1").key_ops == std::vector<std::string>{"sign", "verify"});
  CreateKeyRequest k1{"EC"};
  k1.crv = "P-256K";
  REQUIRE(f.create("ec2", k1).public_jwk["crv"] == "P-256K");
  CreateKeyRequest bad_curve{"EC"};
  bad_curve.crv = "P-192";
  REQUIRE_THAT(f.store.create(f.vault, "ec3", bad_curve).error().message, Catch::Contains("P-192"));
  CreateKeyRequest ec_wrap{"EC"};
  ec_wrap.key_ops = std::vector<std::string>{"sign", "wrapKey"};
  auto refused = f.store.create(f.vault, "ec4", ec_wrap);
  REQUIRE_THAT(
      refused.error().message,
      Catch::Equals(
          "Unsupported key operation(s): \"wrapKey\". Supported values are \"sign\", \"verify\"."));

  // -HSM and oct need a premium vault.
  REQUIRE(f.store.create(f.vault, "hsm", {"RSA-HSM"}).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(f.store.create(f.vault, "sym", {"oct"}).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(f.store.create(f.premium, "hsm", {"RSA-HSM"})->kty == "RSA-HSM");
  CreateKeyRequest oct{"oct-HSM"};
  oct.key_size = 128;
  auto sym = f.store.create(f.premium, "sym", oct);
  REQUIRE(sym->kty == "oct-HSM");
  REQUIRE(sym->public_jwk.empty());
  REQUIRE(f.store.create(f.vault, "x", {"DSA"}).error().kind == KeyErrorKind::BadParameter);
  // Names: letters, digits, dashes, 1-127.
  REQUIRE(f.store.create(f.vault, "bad_name", {"EC"}).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(f.store.create(f.vault, std::string(128, 'a'), {"EC"}).error().kind ==
          KeyErrorKind::BadParameter);
  REQUIRE(f.store.create(f.vault, std::string(127, 'a'), {"EC"}).is_ok());
  CreateKeyRequest tags{"EC"};
  tags.tags = json{{"purpose", 1}};
  REQUIRE(f.store.create(f.vault, "tagged", tags).error().kind == KeyErrorKind::BadParameter);
}

TEST_CASE("keys store: wrap locally with n/e, unwrap in the store, and back", "[keys]") {
  Fixture f;
  auto k = f.create("cmk1");
  const std::string dek(32, '\x11');
  auto out = f.store.cipher(f.vault, "cmk1", "", CipherOperation::UnwrapKey, "RSA-OAEP-256",
                            in(wrap_locally(k, dek)));
  REQUIRE(out.is_ok());
  REQUIRE(out->output.value == dek);
  REQUIRE(out->version == k.version);  // the version that did the work, for versionless calls

  auto wrapped =
      f.store.cipher(f.vault, "cmk1", k.version, CipherOperation::WrapKey, "RSA-OAEP", in(dek));
  REQUIRE(wrapped.is_ok());
  auto back = f.store.cipher(f.vault, "cmk1", k.version, CipherOperation::UnwrapKey, "RSA-OAEP",
                             in(wrapped->output.value));
  REQUIRE(back->output.value == dek);

  // wrapKey takes RSA and AES-KW algorithms, encrypt takes RSA and AES-GCM/CBC.
  REQUIRE(f.store.cipher(f.vault, "cmk1", "", CipherOperation::WrapKey, "A256GCM", in(dek))
              .error()
              .kind == KeyErrorKind::BadParameter);
  REQUIRE(f.store.cipher(f.vault, "cmk1", "", CipherOperation::WrapKey, "A256KW", in(dek))
              .error()
              .kind == KeyErrorKind::BadParameter);
  REQUIRE(
      f.store.cipher(f.vault, "cmk1", "", CipherOperation::Encrypt, "nope", in(dek)).error().kind ==
      KeyErrorKind::BadParameter);
  auto too_long = f.store.cipher(f.vault, "cmk1", "", CipherOperation::Encrypt, "RSA-OAEP",
                                 in(std::string(215, 'x')));
  REQUIRE_THAT(too_long.error().message, Catch::Contains("at most 214 bytes"));
}

TEST_CASE("keys store: sign and verify through the store", "[keys]") {
  Fixture f;
  f.create_ec("sig");
  const std::string digest(32, '\x07');
  auto s = f.store.sign(f.vault, "sig", "", "ES256", digest);
  REQUIRE(s.is_ok());
  REQUIRE(s->signature.size() == 64);
  REQUIRE(f.store.verify(f.vault, "sig", "", "ES256", digest, s->signature)->valid);
  REQUIRE_FALSE(
      f.store.verify(f.vault, "sig", "", "ES256", std::string(32, '\x08'), s->signature)->valid);
  REQUIRE(f.store.sign(f.vault, "sig", "", "XS256", digest).error().kind ==
          KeyErrorKind::BadParameter);
  // An EC key has no encryption.
  REQUIRE(f.store.cipher(f.vault, "sig", "", CipherOperation::Encrypt, "RSA-OAEP", in("x"))
              .error()
              .kind == KeyErrorKind::KeyOperationForbidden);
}

TEST_CASE("keys store: disabled keys refuse use but can be read, listed and updated", "[keys]") {
  Fixture f;
  auto k = f.create("cmk1");
  UpdateKeyRequest off;
  off.attributes.enabled = false;
  f.advance(std::chrono::seconds(10));
  auto updated = f.store.update(f.vault, "cmk1", k.version, off);
  REQUIRE(updated.is_ok());
  REQUIRE_FALSE(updated->attributes.enabled);
  REQUIRE(updated->attributes.updated == f.now());
  REQUIRE(updated->attributes.created == k.attributes.created);

  auto get = f.store.get(f.vault, "cmk1", "");
  REQUIRE(get.is_ok());
  REQUIRE_FALSE(get->attributes.enabled);
  auto unwrap = f.store.cipher(f.vault, "cmk1", "", CipherOperation::UnwrapKey, "RSA-OAEP",
                               in(std::string(256, 'x')));
  REQUIRE(unwrap.error().kind == KeyErrorKind::KeyDisabled);
  REQUIRE(unwrap.error().message == "Operation unwrapKey is not allowed on a disabled key.");
  REQUIRE(f.store.cipher(f.vault, "cmk1", "", CipherOperation::WrapKey, "RSA-OAEP", in("x"))
              .error()
              .kind == KeyErrorKind::KeyDisabled);
  REQUIRE(f.store.sign(f.vault, "cmk1", "", "RS256", std::string(32, 'x')).error().kind ==
          KeyErrorKind::KeyDisabled);
  REQUIRE(f.store.list_keys(f.vault, "", 25).items.size() == 1);
  REQUIRE(f.store.list_versions(f.vault, "cmk1", "", 25)->items.size() == 1);

  UpdateKeyRequest on;
  on.attributes.enabled = true;
  REQUIRE(f.store.update(f.vault, "cmk1", "", on).is_ok());
  REQUIRE(f.store.get(f.vault, "cmk1", "").is_ok());
}

TEST_CASE("keys store: outside nbf/exp only decrypt, unwrapKey and verify work", "[keys]") {
  Fixture f;
  auto k = f.create("cmk1");
  const std::string dek(16, 'd');
  const std::string wrapped = wrap_locally(k, dek);
  const std::string digest(32, 'g');
  const std::string signature = f.store.sign(f.vault, "cmk1", "", "PS256", digest)->signature;

  auto check = [&](KeyErrorKind refused, const char* word) {
    auto wrap = f.store.cipher(f.vault, "cmk1", "", CipherOperation::WrapKey, "RSA-OAEP", in(dek));
    REQUIRE(wrap.error().kind == refused);
    REQUIRE_THAT(wrap.error().message,
                 Catch::Contains("Operation wrapKey") && Catch::Contains(word));
    REQUIRE(f.store.cipher(f.vault, "cmk1", "", CipherOperation::Encrypt, "RSA-OAEP", in(dek))
                .error()
                .kind == refused);
    REQUIRE(f.store.sign(f.vault, "cmk1", "", "PS256", digest).error().kind == refused);
    REQUIRE(
        f.store
            .cipher(f.vault, "cmk1", "", CipherOperation::UnwrapKey, "RSA-OAEP-256", in(wrapped))
            ->output.value == dek);
    REQUIRE(f.store.verify(f.vault, "cmk1", "", "PS256", digest, signature)->valid);
    REQUIRE(f.store.get(f.vault, "cmk1", "").is_ok());
  };

  UpdateKeyRequest expire;
  expire.attributes.exp = f.now() + 3600;
  f.store.update(f.vault, "cmk1", "", expire);
  REQUIRE(
      f.store.cipher(f.vault, "cmk1", "", CipherOperation::WrapKey, "RSA-OAEP", in(dek)).is_ok());
  f.advance(std::chrono::seconds(3600));  // exp is exclusive
  check(KeyErrorKind::KeyExpired, "expired");

  UpdateKeyRequest later;
  later.attributes.exp = f.now() + 10 * 86400;
  later.attributes.nbf = f.now() + 86400;
  f.store.update(f.vault, "cmk1", "", later);
  check(KeyErrorKind::KeyNotYetValid, "not yet valid");
  f.advance(kDay);
  REQUIRE(
      f.store.cipher(f.vault, "cmk1", "", CipherOperation::WrapKey, "RSA-OAEP", in(dek)).is_ok());
}

TEST_CASE("keys store: key_ops limit the operations", "[keys]") {
  Fixture f;
  CreateKeyRequest r{"RSA"};
  r.key_ops = std::vector<std::string>{"wrapkey", "unwrapKey"};
  auto k = f.create("cmk1", r);
  REQUIRE(k.key_ops == std::vector<std::string>{"wrapKey", "unwrapKey"});
  auto enc = f.store.cipher(f.vault, "cmk1", "", CipherOperation::Encrypt, "RSA-OAEP", in("x"));
  REQUIRE(enc.error().kind == KeyErrorKind::KeyOperationForbidden);
  REQUIRE(enc.error().message == "Operation encrypt is not permitted on this key.");
  REQUIRE(f.store.sign(f.vault, "cmk1", "", "RS256", std::string(32, 'x')).error().kind ==
          KeyErrorKind::KeyOperationForbidden);
  UpdateKeyRequest more;
  more.key_ops = std::vector<std::string>{"encrypt", "wrapKey", "unwrapKey"};
  REQUIRE(f.store.update(f.vault, "cmk1", "", more)->key_ops.size() == 3);
  REQUIRE(
      f.store.cipher(f.vault, "cmk1", "", CipherOperation::Encrypt, "RSA-OAEP", in("x")).is_ok());
}

TEST_CASE("keys store: tags and attributes are per version", "[keys]") {
  Fixture f;
  CreateKeyRequest r{"EC"};
  r.tags = json{{"purpose", "cmk"}};
  r.attributes.exp = f.now() + 1000;
  auto v1 = f.create("k", r);
  REQUIRE(v1.tags["purpose"] == "cmk");
  REQUIRE(v1.attributes.exp == f.now() + 1000);
  auto v2 = f.create_ec("k");
  REQUIRE(v2.tags.empty());
  REQUIRE(f.store.get(f.vault, "k", v1.version)->tags["purpose"] == "cmk");
  UpdateKeyRequest retag;
  retag.tags = json{{"a", "b"}};
  REQUIRE(f.store.update(f.vault, "k", v1.version, retag)->tags == json{{"a", "b"}});
  REQUIRE(f.store.get(f.vault, "k", "")->tags.empty());
  CreateKeyRequest exportable{"EC"};
  exportable.attributes.exportable = true;
  REQUIRE_THAT(f.store.create(f.vault, "x", exportable).error().message,
               Catch::Contains("release policy"));
  exportable.release_policy = json{{"data", "e30"}};
  REQUIRE(f.store.create(f.vault, "x", exportable)->attributes.exportable);
}

TEST_CASE("keys store: lists page with markers", "[keys]") {
  Fixture f;
  for (const char* n : {"e", "a", "d", "b", "c"}) f.create_ec(n);
  std::vector<std::string> seen;
  std::string marker;
  int pages = 0;
  do {
    auto page = f.store.list_keys(f.vault, marker, 2);
    ++pages;
    for (const auto& k : page.items) {
      seen.push_back(k.name);
      REQUIRE(k.version.empty());
    }
    marker = page.next_marker.value_or("");
  } while (!marker.empty());
  REQUIRE(pages == 3);
  REQUIRE(seen == std::vector<std::string>{"a", "b", "c", "d", "e"});

  for (int i = 0; i < 4; ++i) f.create_ec("a");
  auto first = f.store.list_versions(f.vault, "a", "", 3);
  REQUIRE(first->items.size() == 3);
  REQUIRE(first->next_marker);
  auto rest = f.store.list_versions(f.vault, "a", *first->next_marker, 3);
  REQUIRE(rest->items.size() == 2);
  REQUIRE_FALSE(rest->next_marker);
  REQUIRE(rest->items.back().version == f.store.get(f.vault, "a", "")->version);
  REQUIRE(f.store.list_versions(f.vault, "zz", "", 3).error().kind == KeyErrorKind::KeyNotFound);
}

TEST_CASE("keys store: delete, deleted name, recover, purge and retention", "[keys]") {
  Fixture f;
  f.vault.retention_days = 7;
  auto k = f.create_ec("gone");
  auto d = f.store.remove(f.vault, "gone");
  REQUIRE(d.is_ok());
  REQUIRE(d->deleted_date == f.now());
  REQUIRE(d->scheduled_purge_date == f.now() + 7 * 86400);
  REQUIRE(d->recovery_level == "CustomizedRecoverable+Purgeable");
  REQUIRE(d->recoverable_days == 7);
  REQUIRE(f.store.get(f.vault, "gone", "").error().kind == KeyErrorKind::KeyNotFound);
  REQUIRE(f.store.remove(f.vault, "gone").error().kind == KeyErrorKind::KeyNotFound);

  auto reuse = f.store.create(f.vault, "GONE", {"EC"});
  REQUIRE(reuse.error().kind == KeyErrorKind::DeletedButRecoverable);
  REQUIRE(
      reuse.error().message ==
      "Key gone is currently in a deleted but recoverable state, and its name cannot be reused; in "
      "this state, the key can only be recovered or purged.");
  REQUIRE(f.store.get_deleted(f.vault, "gone")->version == k.version);
  REQUIRE(f.store.list_deleted(f.vault, "", 25).items.size() == 1);

  auto back = f.store.recover(f.vault, "gone");
  REQUIRE(back->version == k.version);
  REQUIRE(f.store.get(f.vault, "gone", "").is_ok());
  REQUIRE(f.store.get_deleted(f.vault, "gone").error().kind == KeyErrorKind::KeyNotFound);
  REQUIRE(f.store.recover(f.vault, "gone").error().kind == KeyErrorKind::KeyNotFound);

  // Purge: refused under purge protection, allowed without.
  f.store.remove(f.vault, "gone");
  VaultSettings protected_vault = f.vault;
  protected_vault.purge_protection = true;
  auto refused = f.store.purge(protected_vault, "gone");
  REQUIRE(refused.error().kind == KeyErrorKind::PurgeProtected);
  REQUIRE_THAT(refused.error().message,
               Catch::StartsWith("Operation \"purge\" is not allowed because purge protection"));
  REQUIRE(f.store.purge(f.vault, "gone").is_ok());
  REQUIRE(f.store.get_deleted(f.vault, "gone").error().kind == KeyErrorKind::KeyNotFound);
  REQUIRE(f.store.purge(f.vault, "gone").error().kind == KeyErrorKind::KeyNotFound);
  REQUIRE(f.store.create(f.vault, "gone", {"EC"}).is_ok());

  // Retention: the virtual clock purges; the name is free again.
  f.store.remove(f.vault, "gone");
  f.advance(7 * kDay - std::chrono::seconds(1));
  REQUIRE(f.store.get_deleted(f.vault, "gone").is_ok());
  f.advance(std::chrono::seconds(1));
  REQUIRE(f.store.get_deleted(f.vault, "gone").error().kind == KeyErrorKind::KeyNotFound);
  REQUIRE(f.store.create(f.vault, "gone", {"EC"}).is_ok());
}

TEST_CASE("keys store: recovery level follows the vault", "[keys]") {
  auto level = [](bool soft, int days, bool pp) {
    return recovery_level({"v", soft, days, pp, false});
  };
  REQUIRE(level(true, 90, true) == "Recoverable");
  REQUIRE(level(true, 90, false) == "Recoverable+Purgeable");
  REQUIRE(level(true, 30, true) == "CustomizedRecoverable");
  REQUIRE(level(true, 30, false) == "CustomizedRecoverable+Purgeable");
  REQUIRE(level(false, 90, false) == "Purgeable");
  REQUIRE(recoverable_days({"v", false, 90, false, false}) == 0);

  Fixture f;
  f.vault.soft_delete = false;
  f.create_ec("k");
  auto d = f.store.remove(f.vault, "k");
  REQUIRE_FALSE(d->deleted_date);
  REQUIRE(f.store.get_deleted(f.vault, "k").error().kind == KeyErrorKind::KeyNotFound);
  REQUIRE(f.store.create(f.vault, "k", {"EC"}).is_ok());
}

TEST_CASE("keys store: rotate makes a new version like the last", "[keys]") {
  Fixture f;
  CreateKeyRequest r{"EC"};
  r.crv = "P-384";
  r.tags = json{{"t", "1"}};
  r.key_ops = std::vector<std::string>{"sign"};
  auto v1 = f.create("rot", r);
  f.advance(std::chrono::seconds(5));
  auto v2 = f.store.rotate(f.vault, "rot");
  REQUIRE(v2.is_ok());
  REQUIRE(v2->version != v1.version);
  REQUIRE(v2->public_jwk["crv"] == "P-384");
  REQUIRE(v2->public_jwk != v1.public_jwk);
  REQUIRE(v2->tags == v1.tags);
  REQUIRE(v2->key_ops == v1.key_ops);
  REQUIRE(v2->attributes.created == f.now());
  REQUIRE(f.store.get(f.vault, "rot", "")->version == v2->version);
  REQUIRE(f.store.rotate(f.vault, "none").error().kind == KeyErrorKind::KeyNotFound);
}

TEST_CASE("keys store: rotation policy, default and automatic rotation on the clock", "[keys]") {
  Fixture f;
  auto v1 = f.create_ec("auto");
  auto def = f.store.get_rotation_policy(f.vault, "auto");
  REQUIRE(def.is_ok());
  REQUIRE(def->lifetime_actions.size() == 1);
  REQUIRE(def->lifetime_actions[0].type == "Notify");
  REQUIRE(def->lifetime_actions[0].time_before_expiry == "P30D");
  REQUIRE_FALSE(def->created);

  RotationPolicy p;
  p.lifetime_actions.push_back({"rotate", std::string("P30D"), std::nullopt});
  p.expiry_time = "P90D";
  auto set = f.store.set_rotation_policy(f.vault, "auto", p);
  REQUIRE(set.is_ok());
  REQUIRE(set->lifetime_actions[0].type == "Rotate");
  REQUIRE(set->created == f.now());
  REQUIRE(f.store.get_rotation_policy(f.vault, "auto")->expiry_time == "P90D");

  const int64_t created = v1.attributes.created;
  f.advance(29 * kDay);
  REQUIRE(f.store.get(f.vault, "auto", "")->version == v1.version);
  f.advance(32 * kDay);  // day 61: due at day 30 and again at day 60
  auto latest = f.store.get(f.vault, "auto", "");
  REQUIRE(latest->version != v1.version);
  REQUIRE(latest->attributes.created == created + 60 * 86400);
  REQUIRE(latest->attributes.exp == created + 150 * 86400);
  REQUIRE(f.store.list_versions(f.vault, "auto", "", 25)->items.size() == 3);

  auto bad = [&](RotationPolicy q) {
    return f.store.set_rotation_policy(f.vault, "auto", q).error().kind;
  };
  RotationPolicy too_short;
  too_short.lifetime_actions.push_back({"Rotate", std::string("P1D"), std::nullopt});
  REQUIRE(bad(too_short) == KeyErrorKind::BadParameter);
  RotationPolicy short_expiry;
  short_expiry.expiry_time = "P10D";
  REQUIRE(bad(short_expiry) == KeyErrorKind::BadParameter);
  RotationPolicy two_triggers;
  two_triggers.lifetime_actions.push_back({"Rotate", std::string("P30D"), std::string("P30D")});
  REQUIRE(bad(two_triggers) == KeyErrorKind::BadParameter);
  RotationPolicy unknown;
  unknown.lifetime_actions.push_back({"Explode", std::string("P30D"), std::nullopt});
  REQUIRE(bad(unknown) == KeyErrorKind::BadParameter);
  RotationPolicy not_iso;
  not_iso.lifetime_actions.push_back({"Rotate", std::string("30 days"), std::nullopt});
  REQUIRE(bad(not_iso) == KeyErrorKind::BadParameter);

  REQUIRE(parse_iso8601_duration("P1Y2M3W4DT5H6M7S") ==
          365 * 86400 + 60 * 86400 + 21 * 86400 + 4 * 86400 + 5 * 3600 + 6 * 60 + 7);
  REQUIRE_FALSE(parse_iso8601_duration("P"));
  REQUIRE_FALSE(parse_iso8601_duration("P1X"));
}

TEST_CASE("keys store: backup and restore", "[keys]") {
  Fixture f;
  auto v1 = f.create("b");
  auto v2 = f.create("b");
  const std::string dek = "key to keep";
  const std::string wrapped = wrap_locally(v1, dek);
  auto blob = f.store.backup(f.vault, "b");
  REQUIRE(blob.is_ok());
  // Opaque: no key material or name in the clear.
  REQUIRE(blob->find("\"b\"") == std::string::npos);
  REQUIRE(blob->find(*base64url_decode(v1.public_jwk["n"].get<std::string>())) ==
          std::string::npos);

  auto conflict = f.store.restore(f.vault, *blob);
  REQUIRE(conflict.error().kind == KeyErrorKind::Conflict);
  f.store.remove(f.vault, "b");
  REQUIRE(f.store.restore(f.vault, *blob).error().kind == KeyErrorKind::DeletedButRecoverable);
  REQUIRE(f.store.purge(f.vault, "b").is_ok());

  auto restored = f.store.restore(f.vault, *blob);
  REQUIRE(restored.is_ok());
  REQUIRE(restored->version == v2.version);
  REQUIRE(f.store.list_versions(f.vault, "b", "", 25)->items.size() == 2);
  REQUIRE(
      f.store
          .cipher(f.vault, "b", v1.version, CipherOperation::UnwrapKey, "RSA-OAEP-256", in(wrapped))
          ->output.value == dek);
  // Into another vault of the same emulator too.
  REQUIRE(f.store.restore(VaultSettings{"kv3", true, 90, false, false}, *blob).is_ok());

  std::string tampered = *blob;
  tampered[tampered.size() - 3] ^= 1;
  REQUIRE(f.store.restore(f.vault, tampered).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(f.store.restore(f.vault, "nonsense").error().kind == KeyErrorKind::BadParameter);
  REQUIRE(f.store.backup(f.vault, "none").error().kind == KeyErrorKind::KeyNotFound);

  // Another store (another emulator) cannot read it.
  KeyStore other(f.clock, f.ids, f.pool);
  REQUIRE(other.restore(f.vault, *blob).error().kind == KeyErrorKind::BadParameter);
}

TEST_CASE("keys store: import keeps the key and its key_ops", "[keys]") {
  Fixture f;
  auto original = f.create("orig");
  // An EC JWK from a freshly generated key of the store itself, via backup-free means: generate
  // with OpenSSL.
  PkeyPtr mine(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "prime256v1"));
  std::string d(32, '\0'), x(32, '\0'), y(32, '\0');
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(mine.get(), "priv", &bn);
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(d.data()), 32);
  BN_clear_free(bn);
  bn = nullptr;
  EVP_PKEY_get_bn_param(mine.get(), "qx", &bn);
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(x.data()), 32);
  BN_free(bn);
  bn = nullptr;
  EVP_PKEY_get_bn_param(mine.get(), "qy", &bn);
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(y.data()), 32);
  BN_free(bn);
  ImportKeyRequest r;
  r.jwk = {{"kty", "EC"},
           {"crv", "P-256"},
           {"x", base64url_encode(x)},
           {"y", base64url_encode(y)},
           {"d", base64url_encode(d)},
           {"key_ops", {"sign"}}};
  auto k = f.store.import(f.vault, "imported", r);
  REQUIRE(k.is_ok());
  REQUIRE(k->kty == "EC");
  REQUIRE(k->key_ops == std::vector<std::string>{"sign"});
  REQUIRE(k->public_jwk["x"] == base64url_encode(x));
  REQUIRE_FALSE(k->public_jwk.contains("d"));
  r.hsm = true;
  REQUIRE(f.store.import(f.vault, "imported", r).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(f.store.import(f.premium, "imported", r)->kty == "EC-HSM");
  ImportKeyRequest public_only;
  public_only.jwk = original.public_jwk;
  public_only.jwk["kty"] = "RSA";
  REQUIRE(f.store.import(f.vault, "pub", public_only).error().kind == KeyErrorKind::BadParameter);
}

TEST_CASE("keys store: random bytes", "[keys]") {
  REQUIRE(KeyStore::random_bytes(1)->size() == 1);
  REQUIRE(KeyStore::random_bytes(128)->size() == 128);
  REQUIRE(KeyStore::random_bytes(0).error().kind == KeyErrorKind::BadParameter);
  REQUIRE(KeyStore::random_bytes(129).error().kind == KeyErrorKind::BadParameter);
}

TEST_CASE("keys store: dropping a vault forgets its keys", "[keys]") {
  Fixture f;
  f.create_ec("k");
  f.store.remove(f.vault, "k");
  f.create_ec("j");
  f.store.drop_vault("KV1");
  REQUIRE(f.store.get(f.vault, "j", "").error().kind == KeyErrorKind::KeyNotFound);
  REQUIRE(f.store.create(f.vault, "k", {"EC"}).is_ok());
}

TEST_CASE("keys pool: takes generate when nothing is ready, and stop is prompt", "[keys]") {
  RsaKeyPool off(RsaKeyPoolOptions{0, {2048}});
  auto a = off.take(2048);
  auto b = off.take(2048);
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  REQUIRE(a->public_jwk() != b->public_jwk());
  REQUIRE(off.ready(2048) == 0);
  REQUIRE(off.take(1024).error().kind == KeyErrorKind::BadParameter);
  {
    RsaKeyPool on(RsaKeyPoolOptions{2, {2048, 3072}});
    on.warm();
    auto c = on.take(2048);  // ready or generated inline: a key either way
    REQUIRE(c.is_ok());
    REQUIRE(c->size_bits() == 2048);
    auto odd = on.take(2048, 3);  // another exponent is never pooled
    REQUIRE(odd->public_jwk()["e"] == "Aw");
  }  // the destructor cancels the generation in progress
}

// Found by fuzz/jwk_import_fuzzer.cpp: json::value() threw for a kty or crv of another JSON type,
// so such an import was answered 500 instead of 400.
TEST_CASE("keys store: an import whose kty or crv is no string is a BadParameter", "[keys]") {
  Fixture f;
  for (const json& jwk : {json{{"kty", 8}}, json{{"kty", json::array({"RSA"})}},
                          json{{"kty", "EC"}, {"crv", 256}, {"x", "AA"}, {"y", "AA"}, {"d", "AQ"}}}) {
    INFO(jwk.dump());
    ImportKeyRequest r;
    r.jwk = jwk;
    auto imported = f.store.import(f.premium, "k1", r);
    REQUIRE_FALSE(imported.is_ok());
    CHECK(imported.error().kind == KeyErrorKind::BadParameter);
    auto material = KeyMaterial::from_jwk(jwk);
    REQUIRE_FALSE(material.is_ok());
    CHECK(material.error().kind == KeyErrorKind::BadParameter);
  }
}
