#pragma once
// SHA-256 of files, for the identity of weights and data in every result.
#include <filesystem>
#include <string>

namespace adbench {

/// Lower-case hex SHA-256 of a file's bytes. InputError naming the file when unreadable.
std::string sha256_file(const std::filesystem::path& path);
/// Lower-case hex SHA-256 of a byte string.
std::string sha256_bytes(const std::string& data);

}  // namespace adbench
