#include "entra/jwt.h"

#include <openssl/err.h>

#include <memory>

#include "common/base64.h"

namespace cmk::entra {

namespace {

using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

// Printable excerpt of a client-chosen value for a message: ASCII letters, digits, '-', '_' only,
// so the message is safe in JSON and logs whatever the token held.
std::string excerpt(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= 16) return out + "...";
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    out += ok ? c : '?';
  }
  return out;
}

bool is_rsa(EVP_PKEY* key) {
  return key != nullptr && EVP_PKEY_is_a(key, "RSA") == 1;
}

std::string compact_json(const nlohmann::json& j) {
  // `replace`: invalid UTF-8 in a client-supplied string must not become an exception.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<nlohmann::json> parse_object(std::string_view segment, const char* what) {
  auto bytes = base64url_decode(segment);
  if (!bytes) return Status::error(std::string("JWT ") + what + " is not base64url");
  nlohmann::json j = nlohmann::json::parse(bytes->begin(), bytes->end(), nullptr,
                                           /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::error(std::string("JWT ") + what + " is not JSON");
  if (!j.is_object()) return Status::error(std::string("JWT ") + what + " is not a JSON object");
  return j;
}

}  // namespace

std::string Jwt::header_string(const char* name) const {
  auto it = header.find(name);
  return it != header.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Jwt::claim_string(const char* name) const {
  auto it = payload.find(name);
  return it != payload.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<std::string> sign_rs256(const nlohmann::json& header, const nlohmann::json& payload,
                               EVP_PKEY* private_key) {
  if (!is_rsa(private_key)) return Status::error("RS256 signing needs an RSA key");
  if (!payload.is_object()) return Status::error("JWT payload must be a JSON object");
  if (!header.is_null() && !header.is_object())
    return Status::error("JWT header must be a JSON object");

  nlohmann::json h = header.is_object() ? header : nlohmann::json::object();
  h["alg"] = "RS256";
  h["typ"] = "JWT";
  std::string input =
      base64url_encode(compact_json(h)) + "." + base64url_encode(compact_json(payload));

  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, private_key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    ERR_clear_error();
    return Status::error("RS256 signing failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    ERR_clear_error();
    return Status::error("RS256 signing failed");
  }
  sig.resize(len);
  return input + "." + base64url_encode(sig);
}

Result<Jwt> decode_jwt(std::string_view token) {
  if (token.empty()) return Status::error("JWT is empty");
  if (token.size() > kMaxJwtLength) return Status::error("JWT is too long");
  size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return Status::error("JWT must have three segments");
  size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos)
    return Status::error("JWT must have three segments");
  std::string_view h = token.substr(0, d1);
  std::string_view p = token.substr(d1 + 1, d2 - d1 - 1);
  std::string_view s = token.substr(d2 + 1);
  if (h.empty() || p.empty()) return Status::error("JWT header or payload segment is empty");
  // An empty signature segment is an unsecured JWT (alg "none"): refused like any non-RS256 alg.
  if (s.empty()) return Status::error("JWT is not signed");

  auto header = parse_object(h, "header");
  if (!header) return header.status();
  auto payload = parse_object(p, "payload");
  if (!payload) return payload.status();
  auto sig = base64url_decode(s);
  if (!sig) return Status::error("JWT signature is not base64url");

  Jwt jwt;
  jwt.header = std::move(*header);
  jwt.payload = std::move(*payload);
  jwt.signing_input = std::string(token.substr(0, d2));
  jwt.signature = std::move(*sig);
  return jwt;
}

Status verify_rs256(const Jwt& jwt, EVP_PKEY* public_key) {
  auto alg = jwt.header.find("alg");
  if (alg == jwt.header.end() || !alg->is_string()) return Status::error("JWT header has no alg");
  if (*alg != "RS256")
    return Status::error("JWT alg '" + excerpt(alg->get<std::string>()) +
                         "' is not accepted; only RS256 is");
  if (!is_rsa(public_key)) return Status::error("RS256 verification needs an RSA key");

  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, public_key) != 1) {
    ERR_clear_error();
    return Status::error("RS256 verification could not start");
  }
  int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(jwt.signature.data()), jwt.signature.size(),
      reinterpret_cast<const unsigned char*>(jwt.signing_input.data()), jwt.signing_input.size());
  if (rc != 1) {
    // Leave no stale entries for unrelated code (the TLS layer) that reads the error queue.
    ERR_clear_error();
    return Status::error("JWT signature does not verify");
  }
  return Status::ok();
}

Result<Jwt> verify_jwt_rs256(std::string_view token, EVP_PKEY* public_key) {
  auto jwt = decode_jwt(token);
  if (!jwt) return jwt.status();
  Status st = verify_rs256(*jwt, public_key);
  if (!st) return st;
  return jwt;
}

}  // namespace cmk::entra
