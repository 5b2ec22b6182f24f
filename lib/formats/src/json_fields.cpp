// Typed access to JSON objects with errors that name the file and the key.
#include "adbench/formats/json_fields.hpp"

#include <algorithm>
#include <limits>

#include "adbench/core/error.hpp"

namespace adbench::formats {

namespace {

[[noreturn]] void type_error(const std::string& name, const std::string& key, const char* expected,
                             const nlohmann::json& got) {
  throw InputError(name + ": key '" + excerpt(key, 60) + "': expected " + expected + ", got " +
                   got.type_name());
}

template <class T>
T convert(const nlohmann::json& v, const std::string& key, const std::string& name) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (!v.is_string()) type_error(name, key, "a string", v);
    return v.get<std::string>();
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) type_error(name, key, "true or false", v);
    return v.get<bool>();
  } else if constexpr (std::is_same_v<T, std::int64_t>) {
    if (v.is_number_integer()) return v.get<std::int64_t>();
    if (v.is_number_unsigned()) {
      if (v.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw InputError(name + ": key '" + excerpt(key, 60) + "': integer out of range");
      return v.get<std::int64_t>();
    }
    type_error(name, key, "an integer", v);
  } else if constexpr (std::is_same_v<T, double>) {
    if (!v.is_number()) type_error(name, key, "a number", v);
    return v.get<double>();
  } else {
    static_assert(std::is_same_v<T, nlohmann::json>);
    return v;
  }
}

}  // namespace

namespace {
/// Deepest nesting of [ and { outside strings. nlohmann parses iteratively, but copying and
/// dumping a value recurse: a 100 MB "[[[[..." would overflow the stack later, far from here.
std::size_t nesting_depth(std::string_view text) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}
}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& name) {
  if (nesting_depth(text) > kJsonMaxDepth)
    throw InputError(name + ": JSON nested deeper than " + std::to_string(kJsonMaxDepth) + " levels");
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // Line and column of e.byte (1-based), counted here: nlohmann's own text quotes the input.
    std::size_t line = 1, col = 1;
    const std::size_t end = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, text.size());
    for (std::size_t i = 0; i < end; ++i) {
      if (text[i] == '\n')
        ++line, col = 1;
      else
        ++col;
    }
    throw InputError(name + ": not valid JSON (syntax error at line " + std::to_string(line) + ", column " +
                     std::to_string(col) + ")");
  } catch (const nlohmann::json::exception&) {
    // out_of_range.406: a number beyond double's range ("1e999"); found by fuzz_safetensors.
    throw InputError(name + ": not valid JSON (a number too large for a double)");
  }
}

std::string json_kind(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "a list";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

template <class T>
T json_get(const nlohmann::json& obj, const std::string& key, const std::string& name, const T& fallback) {
  if (!obj.is_object())
    throw InputError(name + ": expected a JSON object, got " + std::string(obj.type_name()));
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  return convert<T>(*it, key, name);
}

template <class T>
T json_require(const nlohmann::json& obj, const std::string& key, const std::string& name) {
  if (!obj.is_object())
    throw InputError(name + ": expected a JSON object, got " + std::string(obj.type_name()));
  auto it = obj.find(key);
  if (it == obj.end()) throw InputError(name + ": key '" + excerpt(key, 60) + "' is missing");
  return convert<T>(*it, key, name);
}

#define ADBENCH_JSON_INSTANTIATE(T)                                                                \
  template T json_get<T>(const nlohmann::json&, const std::string&, const std::string&, const T&); \
  template T json_require<T>(const nlohmann::json&, const std::string&, const std::string&);
ADBENCH_JSON_INSTANTIATE(std::string)
ADBENCH_JSON_INSTANTIATE(bool)
ADBENCH_JSON_INSTANTIATE(std::int64_t)
ADBENCH_JSON_INSTANTIATE(double)
ADBENCH_JSON_INSTANTIATE(nlohmann::json)
#undef ADBENCH_JSON_INSTANTIATE

nlohmann::json parse_run_json(std::string_view text, const std::string& name) {
  nlohmann::json j = parse_json(text, name);
  if (!j.is_object()) throw InputError(name + ": expected a JSON object, got " + std::string(j.type_name()));
  for (const char* key : {"format", "adbench_version", "detector", "dataset", "root", "category", "setting"})
    json_get<std::string>(j, key, name, "");
  for (const char* key : {"config", "provenance"}) {
    auto it = j.find(key);
    if (it != j.end() && !it->is_object() && !(std::string(key) == "provenance" && it->is_null()))
      type_error(name, key, "an object", *it);
  }
  json_get<std::int64_t>(j, "train_count", name, 0);
  json_get<double>(j, "train_seconds", name, 0.0);
  return j;
}

nlohmann::json parse_config_json(std::string_view text, const std::string& name) {
  nlohmann::json j = parse_json(text, name);
  if (!j.is_object())
    throw InputError(name + ": expected a JSON object of settings, got " + std::string(j.type_name()));
  json_get<std::string>(j, "detector", name, "");
  return j;
}

}  // namespace adbench::formats
