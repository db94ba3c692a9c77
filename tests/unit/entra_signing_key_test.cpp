// The token signing key on disk (emulator/entra/signing_key.h).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "entra/jwt.h"
#include "entra/signing_key.h"

namespace fs = std::filesystem;
using cmk::entra::kSigningCertFile;
using cmk::entra::kSigningKeyFile;
using cmk::entra::SigningKey;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "cmk-entra-key-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace

TEST_CASE("signing key: created once with owner-only files, then reused", "[entra][signing_key]") {
  TempDir tmp;
  fs::path dir = tmp.path / "certs";
  auto first = SigningKey::load_or_create(dir);
  REQUIRE(first);
  CHECK(mode_of(dir) == 0700);
  CHECK(mode_of(dir / kSigningKeyFile) == 0600);
  CHECK(fs::exists(dir / kSigningCertFile));
  CHECK(first->kid().size() == 27);  // base64url of 20 SHA-1 bytes
  CHECK(first->kid() == first->x5t());
  CHECK(EVP_PKEY_get_bits(first->pkey()) == 2048);

  auto start = std::chrono::steady_clock::now();
  auto second = SigningKey::load_or_create(dir);
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(second);
  CHECK(second->kid() == first->kid());
  CHECK(second->modulus_b64url() == first->modulus_b64url());
  // "A few milliseconds"; generous so sanitizer builds pass too.
  CHECK(took < std::chrono::milliseconds(200));

  // A token signed with the first load verifies with the second: restarts keep tokens valid.
  auto token = cmk::entra::sign_rs256(nullptr, {{"a", 1}}, first->pkey());
  REQUIRE(token);
  CHECK(cmk::entra::verify_jwt_rs256(*token, second->pkey()));
}

TEST_CASE("signing key: a missing or foreign certificate is re-issued for the same key",
          "[entra][signing_key]") {
  TempDir tmp;
  auto first = SigningKey::load_or_create(tmp.path);
  REQUIRE(first);

  SECTION("missing") {
    fs::remove(tmp.path / kSigningCertFile);
  }
  SECTION("for another key") {
    auto other = SigningKey::generate();
    REQUIRE(other);
    spit(tmp.path / kSigningCertFile, other->certificate_pem());
  }
  SECTION("garbage") {
    spit(tmp.path / kSigningCertFile, "not a certificate");
  }

  auto again = SigningKey::load_or_create(tmp.path);
  REQUIRE(again);
  CHECK(again->modulus_b64url() == first->modulus_b64url());
  CHECK(again->kid() != first->kid());  // a new certificate, so a new thumbprint
  auto third = SigningKey::load_or_create(tmp.path);
  REQUIRE(third);
  CHECK(third->kid() == again->kid());
}

TEST_CASE("signing key: an unreadable key file is an error and is not overwritten",
          "[entra][signing_key]") {
  TempDir tmp;
  const std::string bogus =
      "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU1RVRkZTRUNSRVRTVFVGRg==\n-----END PRIVATE KEY-----\n";
  spit(tmp.path / kSigningKeyFile, bogus);
  auto r = SigningKey::load_or_create(tmp.path);
  REQUIRE_FALSE(r);
  CHECK(r.error().find(kSigningKeyFile) != std::string::npos);
  CHECK(r.error().find("U0VDUkVU") == std::string::npos);  // no key text in messages
  CHECK(slurp(tmp.path / kSigningKeyFile) == bogus);
}

TEST_CASE("signing key: a key file found with loose permissions is tightened",
          "[entra][signing_key]") {
  TempDir tmp;
  REQUIRE(SigningKey::load_or_create(tmp.path));
  fs::permissions(tmp.path / kSigningKeyFile, fs::perms(0644), fs::perm_options::replace);
  REQUIRE(SigningKey::load_or_create(tmp.path));
  CHECK(mode_of(tmp.path / kSigningKeyFile) == 0600);
}

TEST_CASE("signing key: concurrent first starts end up with one key", "[entra][signing_key]") {
  TempDir tmp;
  fs::path dir = tmp.path / "shared";
  std::vector<std::string> kids(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < kids.size(); ++i) {
    threads.emplace_back([&, i] {
      auto k = SigningKey::load_or_create(dir);
      kids[i] = k ? k->kid() : "error: " + k.error();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& kid : kids) CHECK(kid == kids[0]);
  CHECK(kids[0].rfind("error", 0) != 0);
  // No temporary files left behind.
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    CHECK(e.path().filename().string().find(".tmp.") == std::string::npos);
    ++files;
  }
  CHECK(files == 3);  // key, certificate, lock
}

TEST_CASE("signing key: from_pem checks the certificate holds the key", "[entra][signing_key]") {
  TempDir tmp;
  auto k = SigningKey::load_or_create(tmp.path);
  REQUIRE(k);
  std::string key_pem = slurp(tmp.path / kSigningKeyFile);
  auto same = SigningKey::from_pem(key_pem, k->certificate_pem());
  REQUIRE(same);
  CHECK(same->kid() == k->kid());
  auto other = SigningKey::generate();
  REQUIRE(other);
  auto mismatch = SigningKey::from_pem(key_pem, other->certificate_pem());
  REQUIRE_FALSE(mismatch);
  CHECK(mismatch.error().find("BEGIN") == std::string::npos);
  CHECK_FALSE(SigningKey::from_pem("junk", k->certificate_pem()));
}
