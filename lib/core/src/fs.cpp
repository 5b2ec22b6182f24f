#include "adbench/core/fs.hpp"

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "adbench/core/error.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {
fs::path partial_name(const fs::path& p) {
  return p.parent_path() / (p.filename().string() + ".partial-" + std::to_string(::getpid()));
}
}  // namespace

void check_can_write(const fs::path& path, bool force) {
  std::error_code ec;
  if (fs::exists(path, ec) && !force) throw_file_error(path, "already exists (use --force to overwrite)");
}

void write_file_atomic(const fs::path& path, std::string_view content, bool force) {
  check_can_write(path, force);
  std::error_code ec;
  if (!path.parent_path().empty()) fs::create_directories(path.parent_path(), ec);
  fs::path tmp = partial_name(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw_file_error(path, "cannot write (" + std::string(std::strerror(errno)) + ")");
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.flush();
    if (!out) {
      fs::remove(tmp, ec);
      throw_file_error(path, "write failed");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw_file_error(path, "cannot rename temporary file into place");
  }
}

void append_csv_atomic(const fs::path& path, const std::string& header, const std::string& rows) {
  std::string content;
  std::error_code ec;
  if (fs::exists(path, ec)) content = read_file(path);
  if (content.empty()) content = header + "\n";
  else if (content.back() != '\n') content += "\n";
  else {
    auto first = content.substr(0, content.find('\n'));
    if (first != header)
      throw_file_error(path, "existing CSV has another header (expected '" + header.substr(0, 60) + "...')");
  }
  content += rows;
  write_file_atomic(path, content, /*force=*/true);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_file_error(path, "cannot read file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StagingDir::StagingDir(fs::path target, bool force) : target_(std::move(target)), force_(force) {
  check_can_write(target_, force_);
  std::error_code ec;
  if (!target_.parent_path().empty()) fs::create_directories(target_.parent_path(), ec);
  staging_ = partial_name(target_);
  fs::remove_all(staging_, ec);
  if (!fs::create_directories(staging_, ec)) throw_file_error(staging_, "cannot create folder");
}

StagingDir::~StagingDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(staging_, ec);
  }
}

void StagingDir::commit() {
  std::error_code ec;
  if (fs::exists(target_, ec)) {
    if (!force_) throw_file_error(target_, "already exists (use --force to overwrite)");
    fs::remove_all(target_, ec);
    if (ec) throw_file_error(target_, "cannot remove the existing folder");
  }
  fs::rename(staging_, target_, ec);
  if (ec) throw_file_error(target_, "cannot move the finished folder into place: " + ec.message());
  committed_ = true;
}

}  // namespace adbench
