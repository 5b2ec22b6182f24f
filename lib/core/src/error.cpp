#include "adbench/core/error.hpp"

namespace adbench {

void throw_file_error(const std::filesystem::path& path, const std::string& problem) {
  throw InputError(path.string() + ": " + problem);
}

}  // namespace adbench
