// Which surface a request belongs to, decided from the listener, the Host and the path:
// vault hosts (<vault>.vault.azure.net, <vault>.vault.localhost) reach that vault's
// data plane; login hosts reach Entra; management and loopback hosts reach ARM, with Entra paths
// (/{tenant}/oauth2/..., /adfs/..., /common/discovery/...) and /_emulator/ beside it; on the
// loopback hosts themselves (localhost, 127.x, ::1) Key Vault data-plane paths (/keys...,
// /deletedkeys..., /rng, /secrets...) reach the vault data plane too, with no vault name (the
// keys API chooses the vault: docs/clients.md, "Endpoint mode for Key Vault"); the plain HTTP
// listener serves the managed-identity endpoints and /_emulator/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"

namespace cmk::http {

// Sets req.surface (and req.vault_name for vault hosts). Needs host, listener and segments.
void classify(Request& req);

// The first segment is a Key Vault data-plane collection (keys, deletedkeys, rng, secrets,
// deletedsecrets, certificates, deletedcertificates, storage), compared case-insensitively.
bool is_keyvault_data_path(const std::vector<std::string>& segments);

// Hosts whose TLS the proxy front door terminates: the Azure hosts in the server certificate.
bool is_served_azure_host(std::string_view host);
// localhost, 127.0.0.0/8, ::1 and *.vault.localhost.
bool is_loopback_host(std::string_view host);
// "kv1" for "kv1.vault.azure.net" / "kv1.vault.localhost"; empty otherwise.
std::string vault_name_of(std::string_view host);

}  // namespace cmk::http
