#pragma once
// A registry of named factories (faiss index_factory / anomalib get_model style). Each module
// fills its registry from one explicit register_builtin_*() function called from main and tests:
// static self-registration from static libraries is dropped by the linker.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "adbench/core/error.hpp"

namespace adbench {

template <typename T, typename... Args>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<T>(Args...)>;

  /// `kind` names what is registered ("dataset", "detector") for error messages.
  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void add(const std::string& name, std::string summary, Factory factory) {
    if (entries_.count(name)) throw InternalError(kind_ + " '" + name + "' registered twice");
    entries_[name] = Entry{std::move(summary), std::move(factory)};
  }

  bool contains(const std::string& name) const { return entries_.count(name) > 0; }

  /// Builds the named entry; an unknown name is an InputError that lists the valid names.
  std::unique_ptr<T> create(const std::string& name, Args... args) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
      std::string valid;
      for (const auto& [n, e] : entries_) valid += (valid.empty() ? "" : ", ") + n;
      throw InputError("unknown " + kind_ + " '" + name + "' (valid: " + valid + ")");
    }
    return it->second.factory(std::forward<Args>(args)...);
  }

  /// Names in sorted order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [n, e] : entries_) out.push_back(n);
    return out;
  }

  const std::string& summary(const std::string& name) const { return entries_.at(name).summary; }

 private:
  struct Entry {
    std::string summary;
    Factory factory;
  };
  std::string kind_;
  std::map<std::string, Entry> entries_;
};

}  // namespace adbench
