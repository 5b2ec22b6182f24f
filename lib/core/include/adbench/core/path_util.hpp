#pragma once
// Small helpers every reader uses: ASCII lower-casing (file extensions, names) and file-type
// queries that never throw (a path that cannot be examined is neither a folder nor a file).
// Header-only, so lib/formats (which uses lib/core's headers but not its library) can use it too.
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace adbench {

/// `s` with ASCII 'A'..'Z' lower-cased; every other byte unchanged (locale-independent).
inline std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

/// std::filesystem::is_directory without exceptions: false when `p` cannot be examined.
inline bool is_dir(const std::filesystem::path& p) noexcept {
  std::error_code ec;
  return std::filesystem::is_directory(p, ec);
}

/// std::filesystem::is_regular_file without exceptions: false when `p` cannot be examined.
inline bool is_file(const std::filesystem::path& p) noexcept {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}

}  // namespace adbench
