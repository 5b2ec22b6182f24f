#pragma once
// Writing results safely: never overwrite without --force, never leave a half-written file or
// folder behind. Files go to "<name>.partial-<pid>" and are renamed into place; folders are built
// in a staging folder that is renamed on commit and removed if the work throws.
#include <filesystem>
#include <string>
#include <string_view>

namespace adbench {

/// InputError "<path>: already exists (use --force to overwrite)" when path exists and !force.
void check_can_write(const std::filesystem::path& path, bool force);

/// Writes `content` to `path` through a temporary file and a rename. Creates parent folders.
void write_file_atomic(const std::filesystem::path& path, std::string_view content, bool force);

/// Appends to a CSV, writing `header` first when the file is new or empty. The whole new file is
/// written to a temporary and renamed, so a failure leaves the old file as it was.
void append_csv_atomic(const std::filesystem::path& path, const std::string& header, const std::string& rows);

/// Reads a whole file; InputError naming it when it cannot be read.
std::string read_file(const std::filesystem::path& path);

/// A folder built in place of `target`: work happens in path(), commit() renames it to target
/// (replacing an existing one only when force was given). If never committed, the destructor
/// removes it, so a failed run leaves nothing behind.
class StagingDir {
 public:
  StagingDir(std::filesystem::path target, bool force);
  ~StagingDir();
  StagingDir(const StagingDir&) = delete;
  StagingDir& operator=(const StagingDir&) = delete;

  const std::filesystem::path& path() const { return staging_; }
  const std::filesystem::path& target() const { return target_; }
  void commit();

 private:
  std::filesystem::path target_;
  std::filesystem::path staging_;
  bool force_;
  bool committed_ = false;
};

}  // namespace adbench
