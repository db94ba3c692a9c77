// A value or an error value, for errors that carry more than a message (Status/Result in
// common/status.h carry only a message): Entra's errors, Key Vault's, an operation's.
// T and E must differ, since both convert implicitly.
#pragma once

#include <utility>
#include <variant>

namespace cmk {

template <typename T, typename E>
class Outcome {
 public:
  Outcome(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Outcome(E error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

}  // namespace cmk
