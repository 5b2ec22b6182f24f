#pragma once
// Reading adbench's JSON files (run.json, --config files) with errors that name the file and the
// key — "<file>: key 'format': expected a string, got number" — instead of nlohmann's raw
// "[json.exception.type_error.302] ..." text.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace adbench::formats {

/// Deepest nesting of lists and objects adbench reads (its own files nest 4 levels).
inline constexpr std::size_t kJsonMaxDepth = 64;

/// Parses JSON text. InputError "<name>: not valid JSON (syntax error at line L, column C)" on a
/// syntax error (the offending bytes are never echoed), "<name>: JSON nested deeper than 64
/// levels" for deeper nesting (copying or printing such a value would recurse that deep).
nlohmann::json parse_json(std::string_view text, const std::string& name);

/// "a string", "a number", "an object", ... for error lines.
std::string json_kind(const nlohmann::json& j);

/// The value of `key` in object `obj`, converted to T (std::string, bool, std::int64_t, double,
/// nlohmann::json for objects). Missing key: `fallback`. Wrong type (or an integer out of range):
/// InputError "<name>: key '<key>': expected a string, got number".
template <class T>
T json_get(const nlohmann::json& obj, const std::string& key, const std::string& name, const T& fallback);

/// Same, but a missing key is an InputError "<name>: key '<key>' is missing".
template <class T>
T json_require(const nlohmann::json& obj, const std::string& key, const std::string& name);

/// Parses a run folder's run.json and checks the type of every key adbench reads from it (format,
/// adbench_version, detector, dataset, root, category, setting: strings; config, provenance:
/// objects; train_count: integer; train_seconds: number).
nlohmann::json parse_run_json(std::string_view text, const std::string& name);

/// Parses a --config file: a JSON object of settings; "detector", when present, is a string.
nlohmann::json parse_config_json(std::string_view text, const std::string& name);

}  // namespace adbench::formats
