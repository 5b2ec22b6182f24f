#include "adbench/core/error.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace adbench {

std::string excerpt(std::string_view text, std::size_t max) {
  std::string out;
  const std::size_t n = std::min(text.size(), max);
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > max) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

std::string one_line(std::string_view m) {
  std::string out;
  out.reserve(m.size());
  for (std::size_t i = 0; i < m.size(); ++i) {
    char c = m[i];
    if (c == '\x1b') {
      // CSI "ESC [ params final" (colours); any other escape: drop ESC and the next byte.
      if (i + 1 < m.size() && m[i + 1] == '[') {
        i += 2;
        while (i < m.size() && !(m[i] >= 0x40 && m[i] <= 0x7e)) ++i;
      } else {
        ++i;
      }
      continue;
    }
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string InternalError::location() const {
  std::string_view file = where_.file_name();
#ifdef ADBENCH_SOURCE_ROOT
  constexpr std::string_view root = ADBENCH_SOURCE_ROOT;  // "<source dir>/"
  if (file.substr(0, root.size()) == root) file.remove_prefix(root.size());
#endif
  // Compiled from a build folder with relative paths (ccache's base_dir rewrites them): "../lib/...".
  while (file.substr(0, 3) == "../") file.remove_prefix(3);
  return std::string(file) + ":" + std::to_string(where_.line());
}

std::string os_reason() {
  const int e = errno;
  return e ? std::string(" (") + std::strerror(e) + ")" : std::string();
}

void throw_file_error(const std::filesystem::path& path, const std::string& problem) {
  throw InputError(path.string() + ": " + problem);
}

}  // namespace adbench
