// An RSA public key built from a JWK's n and e with OpenSSL alone (not the emulator's key code),
// as any JWT library would: the tests use it to prove published keys verify emulator tokens.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "common/openssl_util.h"

namespace cmk::test {

// Null when n or e is missing or not base64url, or OpenSSL refuses the key.
inline PkeyPtr key_from_jwk(const nlohmann::json& jwk) {
  if (!jwk.contains("n") || !jwk.contains("e")) return nullptr;
  auto n = base64url_decode(jwk["n"].get<std::string>());
  auto e = base64url_decode(jwk["e"].get<std::string>());
  if (!n || !e) return nullptr;
  BignumPtr bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr));
  BignumPtr bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                           static_cast<int>(e->size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, OpenSslDeleter<OSSL_PARAM_BLD_free>> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld) return nullptr;
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  std::unique_ptr<OSSL_PARAM, OpenSslDeleter<OSSL_PARAM_free>> params(
      OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (ctx && params && EVP_PKEY_fromdata_init(ctx.get()) == 1)
    EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get());
  return PkeyPtr(pkey);
}

}  // namespace cmk::test
