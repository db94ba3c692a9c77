// The two hash-based template functions whose values Azure users keep in resource names, so the
// emulator must give the same result as Azure for the same inputs:
//
//   uniqueString(a, b, ...)  the arguments joined with '-', UTF-8, hashed with the 64-bit Murmur
//                            variant of Microsoft's ARM expression engine (two 32-bit lanes,
//                            8-byte blocks), written as 13 characters of the alphabet
//                            a-z2-7, 5 bits at a time from the most significant end.
//   guid(a, b, ...)          an RFC 4122 version-5 (SHA-1, name-based) UUID of the arguments
//                            joined with '-', in ARM's namespace
//                            11fb06fb-712d-4ddd-98c7-e71bbd588830, lower case.
//
// The algorithms are as described in public reimplementations of the ARM expression engine; this
// is an independent implementation checked against values Azure returned (tests/unit/
// deployments_expression_test.cpp names where each expected value comes from).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cmk::deployments {

uint64_t arm_murmur64(std::string_view data, uint32_t seed = 0);
std::string base32_13(uint64_t value);
std::string unique_string(const std::vector<std::string>& parts);
std::string arm_guid(const std::vector<std::string>& parts);

}  // namespace cmk::deployments
