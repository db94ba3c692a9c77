// The emulator's own certificate authority and TLS server certificate.
//
// Contract:
// - ensure_certificates(dir) returns the CA and a server certificate signed by it, creating them
//   with the OpenSSL API (no shell-out) when missing, and reusing them afterwards. The CA is
//   never replaced once it exists (clients trust it); the server certificate is re-issued when it
//   is missing, does not chain to the CA, expires within 30 days, or lacks one of the required
//   names (also when it is unreadable or server-key.pem is missing or does not match it).
// - A CA that exists but cannot be used (ca.pem unparsable, not a CA, expired, ca-key.pem
//   missing, or not matching when a server certificate must be signed) is an error naming the
//   file; nothing is overwritten. A ca-key.pem without ca.pem is a leftover and is replaced.
// - Files in `dir`: ca.pem (CA certificate), ca-key.pem, server.pem (server certificate followed
//   by nothing else), server-key.pem. Key files are created owner-only (0600) and the folder
//   0700 when the function creates it. Files are replaced atomically (temporary file + rename).
//   Concurrent callers on one folder (two emulators starting at once) are serialised with an
//   flock()-ed `.lock` file, so they end up with the same CA. A read-only folder works as long
//   as nothing needs to be written.
// - Loading existing, valid files takes about a millisecond (no key generation).
// - CA: RSA-2048, basicConstraints critical CA:TRUE pathlen 0, keyUsage keyCertSign+cRLSign,
//   Subject Key Identifier, 10 years. Server: RSA-2048, basicConstraints CA:FALSE, keyUsage
//   digitalSignature+keyEncipherment, extendedKeyUsage serverAuth, SKI + AKI (keyid of the CA),
//   subjectAltName = required_server_names(), 825 days.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace cmk::http {

struct TlsMaterial {
  std::filesystem::path ca_file;  // absolute path of ca.pem
  std::string ca_cert_pem;
  std::string server_cert_pem;
  std::string server_key_pem;  // never logged, never served
};

// DNS and IP names the server certificate must carry: localhost, 127.0.0.1, ::1,
// *.vault.localhost, login.microsoftonline.com, login.windows.net, management.azure.com,
// management.core.windows.net, *.vault.azure.net. IP entries are written as iPAddress SANs.
const std::vector<std::string>& required_server_names();

Result<TlsMaterial> ensure_certificates(const std::filesystem::path& dir);

}  // namespace cmk::http
