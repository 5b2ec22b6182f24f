#include "adbench/core/fs.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "adbench/build_info.hpp"
#include "adbench/core/error.hpp"
#include "adbench/core/interrupt.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {

struct ProtectedInput {
  fs::path path;  // absolute, symbolic links resolved
  std::string what;
};

std::mutex& inputs_mutex() {
  static std::mutex m;
  return m;
}
std::vector<ProtectedInput>& inputs() {
  static std::vector<ProtectedInput> v;
  return v;
}

/// Absolute, lexically normal, symbolic links of the existing part resolved.
fs::path resolved(const fs::path& p) {
  std::error_code ec;
  fs::path abs = fs::absolute(p, ec);
  if (ec) abs = p;
  fs::path r = fs::weakly_canonical(abs, ec);
  if (ec) r = abs.lexically_normal();
  // weakly_canonical keeps a trailing separator ("a/b/"); drop it so component-wise comparison works.
  if (r.has_relative_path() && r.filename().empty()) r = r.parent_path();
  return r;
}

/// True when `inner` lies strictly inside `outer` (both resolved).
bool strictly_inside(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin(), o = outer.begin();
  for (; o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return i != inner.end();
}

std::string errno_text() { return std::strerror(errno); }

const char* kind_name(OutputKind k) {
  switch (k) {
    case OutputKind::ResultFile:
      return "result";
    case OutputKind::CsvFile:
      return "csv";
    case OutputKind::RunFolder:
      return "run";
    case OutputKind::PredictionFolder:
      return "prediction";
    case OutputKind::DatasetFolder:
      return "dataset";
    case OutputKind::CheckpointFolder:
      return "checkpoint";
    case OutputKind::BatchFolder:
      return "batch";
    case OutputKind::ReportFile:
      return "report";
  }
  return "?";
}

bool is_folder_kind(OutputKind k) {
  return k == OutputKind::RunFolder || k == OutputKind::PredictionFolder || k == OutputKind::DatasetFolder ||
         k == OutputKind::CheckpointFolder || k == OutputKind::BatchFolder;
}

/// Parses a small JSON file; null when it is missing, too large or not JSON.
nlohmann::json small_json(const fs::path& p) {
  std::error_code ec;
  auto st = fs::symlink_status(p, ec);
  if (ec || !fs::is_regular_file(st)) return nullptr;
  auto size = fs::file_size(p, ec);
  if (ec || size > (64u << 20)) return nullptr;
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
}

/// Whether an existing folder is adbench's own output of this kind: it carries the marker file,
/// or (folders written before the marker existed) the run.json / prediction.json adbench writes.
bool is_own_folder(const fs::path& dir, OutputKind kind) {
  auto marker = small_json(dir / kMarkerFile);
  if (marker.is_object()) return marker.value("adbench_output", std::string()) == kind_name(kind);
  if (kind == OutputKind::RunFolder) {
    auto run = small_json(dir / "run.json");
    return run.is_object() && run.value("format", std::string()).rfind("adbench.run/", 0) == 0;
  }
  if (kind == OutputKind::PredictionFolder) {
    auto pred = small_json(dir / "prediction.json");
    return pred.is_object() && pred.contains("adbench_version") && pred.contains("created_utc");
  }
  return false;
}

bool is_own_result_file(const fs::path& file) {
  auto j = small_json(file);
  return j.is_object() && j.value("schema", std::string()).rfind("adbench.result/", 0) == 0;
}

/// An HTML report adbench wrote: kReportMarker within its first 256 bytes.
bool is_own_report_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string head(256, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  return head.find(kReportMarker) != std::string::npos;
}

bool process_alive(long pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

/// Removes "<target>.partial-<pid>[...]" siblings left by processes that no longer exist (killed
/// with SIGKILL, or a machine that went down). Entries of live processes are left alone.
void sweep_stale_partials(const fs::path& target) {
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  const std::string prefix = target.filename().string() + ".partial-";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    std::string rest = name.substr(prefix.size());
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits == 0 || digits > 9) continue;
    if (digits < rest.size() && rest[digits] != '-') continue;
    if (process_alive(std::stol(rest.substr(0, digits)))) continue;
    std::error_code ec2;
    fs::remove_all(e.path(), ec2);
  }
}

fs::path partial_name(const fs::path& p, const std::string& suffix = "") {
  return p.parent_path() / (p.filename().string() + ".partial-" + std::to_string(::getpid()) + suffix);
}

void create_parent(const fs::path& path) {
  if (path.parent_path().empty()) return;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) throw_file_error(path.parent_path(), "cannot create folder (" + ec.message() + ")");
}

void write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_file_error(path, "write failed (" + errno_text() + ")");
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

void protect_input(const fs::path& path, const std::string& what) {
  if (path.empty()) return;
  std::lock_guard<std::mutex> lock(inputs_mutex());
  inputs().push_back({resolved(path), what});
}

void clear_protected_inputs() {
  std::lock_guard<std::mutex> lock(inputs_mutex());
  inputs().clear();
}

void check_output(const fs::path& path, OutputKind kind, bool force) {
  if (path.empty()) throw InputError("an output path is empty");
  const fs::path out = resolved(path);
  std::error_code ec;
  const fs::path cwd = resolved(fs::current_path(ec));
  if (out == cwd) throw_file_error(path, "is the working directory; adbench never writes over it");
  if (strictly_inside(cwd, out))
    throw_file_error(path,
                     "contains the working directory (" + cwd.string() + "); adbench never writes over it");
  {
    std::lock_guard<std::mutex> lock(inputs_mutex());
    for (const auto& in : inputs()) {
      if (out == in.path) throw_file_error(path, "is " + in.what + "; adbench never writes over its inputs");
      if (strictly_inside(out, in.path))
        throw_file_error(path, "lies inside " + in.what + " (" + in.path.string() +
                                   "); adbench never writes into its inputs");
      if (strictly_inside(in.path, out))
        throw_file_error(path, "contains " + in.what + " (" + in.path.string() +
                                   "); adbench never writes over its inputs");
    }
  }
  auto st = fs::symlink_status(path, ec);
  if (!fs::exists(st)) return;
  if (is_folder_kind(kind)) {
    if (!fs::is_directory(st))
      throw_file_error(path, fs::is_symlink(st)
                                 ? "is a symbolic link, not a folder adbench wrote; not replaced"
                                 : "exists and is not a folder; not replaced");
    if (!force) throw_file_error(path, "already exists (use --force to overwrite)");
    if (!is_own_folder(path, kind))
      throw_file_error(path, std::string("exists and is not an adbench ") + kind_name(kind) + " folder (no " +
                                 kMarkerFile + " marker); --force replaces only adbench's own outputs");
    return;
  }
  if (!fs::is_regular_file(st))
    throw_file_error(path, fs::is_symlink(st)
                               ? "is a symbolic link; adbench writes only regular files"
                               : "exists and is not a regular file; adbench writes only regular files");
  if (kind == OutputKind::CsvFile) return;  // appended to; append_csv_rows checks the header
  if (!force) throw_file_error(path, "already exists (use --force to overwrite)");
  if (kind == OutputKind::ReportFile) {
    if (!is_own_report_file(path))
      throw_file_error(path,
                       "exists and is not an adbench report; --force replaces only adbench's own outputs");
    return;
  }
  if (!is_own_result_file(path))
    throw_file_error(path,
                     "exists and is not an adbench result file; --force replaces only adbench's own outputs");
}

void write_file_atomic(const fs::path& path, std::string_view content) {
  WriteScope scope;
  create_parent(path);
  fs::path tmp = partial_name(path);
  remove_on_interrupt(tmp);
  std::error_code ec;
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
      forget_on_interrupt(tmp);
      throw_file_error(path, "cannot write (" + errno_text() + ")");
    }
    errno = 0;
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();  // flushes: a full disk fails here
    if (!out) {
      const std::string why = errno ? errno_text() : "disk full or read-only?";
      fs::remove(tmp, ec);
      forget_on_interrupt(tmp);
      throw_file_error(path, "write failed (" + why + ")");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    const std::string why = ec.message();
    fs::remove(tmp, ec);
    forget_on_interrupt(tmp);
    throw_file_error(path, "cannot rename temporary file into place (" + why + ")");
  }
  forget_on_interrupt(tmp);
}

void write_result_file(const fs::path& path, std::string_view content, bool force) {
  check_output(path, OutputKind::ResultFile, force);
  sweep_stale_partials(path);
  write_file_atomic(path, content);
}

void write_report_file(const fs::path& path, std::string_view content, bool force) {
  check_output(path, OutputKind::ReportFile, force);
  sweep_stale_partials(path);
  write_file_atomic(path, content);
}

namespace {
/// The refusal for a CSV whose first bytes are not "<header>\n".
void check_csv_header(const fs::path& path, const std::string& first, const std::string& header) {
  if (first.size() > header.size() && first.compare(0, header.size() + 1, header + "\n") == 0) return;
  std::string line = first.substr(0, first.find('\n'));
  const std::string theirs = csv_schema_of(line), ours = csv_schema_of(header);
  if (!theirs.empty() && !ours.empty() && theirs != ours)
    throw_file_error(path, "its header is " + excerpt(theirs, 40) +
                               " (an older or newer adbench), this adbench writes " + ours +
                               "; write to a new CSV file (README \"Leaderboard CSV\")");
  throw_file_error(path, "is not an adbench leaderboard CSV (first line '" + excerpt(line, 60) +
                             "', expected '" + excerpt(header, 60) +
                             "'); adbench appends only to a CSV it wrote");
}

std::string read_prefix(int fd, size_t n) {
  std::string buf(n, '\0');
  ssize_t got = ::pread(fd, buf.data(), n, 0);
  buf.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return buf;
}
}  // namespace

std::string csv_schema_of(const std::string& header_line) {
  std::string h = header_line.substr(0, header_line.find('\n'));
  if (!h.empty() && h.back() == '\r') h.pop_back();
  const std::string first = h.substr(0, h.find(','));
  if (first.rfind("adbench.csv/", 0) == 0) return first;
  // adbench 0.1 before metric levels: no schema column, fixed image_* / pixel_* columns.
  if (h.rfind("created_utc,adbench_version,git_commit,dataset,category,setting,source,", 0) == 0)
    return "adbench.csv/1";
  return "";
}

void check_csv_output(const fs::path& path, const std::string& header) {
  check_output(path, OutputKind::CsvFile, false);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return;  // a new file
  struct stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  std::string first = regular && st.st_size > 0 ? read_prefix(fd, header.size() + 256) : std::string();
  ::close(fd);
  if (!regular) throw_file_error(path, "exists and is not a regular file; adbench writes only regular files");
  if (st.st_size > 0) check_csv_header(path, first, header);
}

void append_csv_rows(const fs::path& path, const std::string& header, const std::string& rows) {
  check_output(path, OutputKind::CsvFile, false);
  WriteScope scope;
  create_parent(path);
  // O_NONBLOCK: a FIFO swapped in after the check must not block; O_NOFOLLOW: nor a link.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
  if (fd < 0) throw_file_error(path, "cannot open for appending (" + errno_text() + ")");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }  // also releases the lock
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    throw_file_error(path, "exists and is not a regular file; adbench writes only regular files");
  while (::flock(fd, LOCK_EX) != 0)
    if (errno != EINTR) throw_file_error(path, "cannot lock (" + errno_text() + ")");
  if (::fstat(fd, &st) != 0) throw_file_error(path, "cannot stat (" + errno_text() + ")");
  std::string out;
  if (st.st_size == 0) {
    out = header + "\n";
  } else {
    check_csv_header(path, read_prefix(fd, header.size() + 256), header);
    char last = '\n';
    if (::pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') out = "\n";  // an earlier row was cut off
  }
  out += rows;
  write_all(fd, out, path);
  if (::fsync(fd) != 0 && errno != EINVAL) throw_file_error(path, "cannot flush (" + errno_text() + ")");
}

void open_checkpoint_folder(const fs::path& dir, bool resume, bool force) {
  std::error_code ec;
  if (resume) {
    if (!fs::is_directory(fs::symlink_status(dir, ec)))
      throw_file_error(
          dir, "no such checkpoint folder (--resume continues a training that wrote checkpoints there)");
    if (!is_own_folder(dir, OutputKind::CheckpointFolder))
      throw_file_error(dir,
                       std::string("is not an adbench checkpoint folder (no ") + kMarkerFile + " marker)");
    check_output(dir, OutputKind::CheckpointFolder, true);  // the protected inputs
    return;
  }
  check_output(dir, OutputKind::CheckpointFolder, force);
  WriteScope scope;
  if (fs::exists(fs::symlink_status(dir, ec))) {  // force, and adbench's own: emptied
    for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
    if (ec) throw_file_error(dir, "cannot empty the checkpoint folder (" + ec.message() + ")");
  }
  fs::create_directories(dir, ec);
  if (ec) throw_file_error(dir, "cannot create folder (" + ec.message() + ")");
  nlohmann::json marker = {{"adbench_output", kind_name(OutputKind::CheckpointFolder)},
                           {"adbench_version", build::kVersion}};
  write_file_atomic(dir / kMarkerFile, marker.dump() + "\n");
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_file_error(path, "cannot read file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StagingDir::StagingDir(fs::path target, OutputKind kind, bool force)
    : target_(std::move(target)), kind_(kind), force_(force) {
  check_output(target_, kind_, force_);
  WriteScope scope;
  sweep_stale_partials(target_);
  create_parent(target_);
  staging_ = partial_name(target_);
  std::error_code ec;
  fs::remove_all(staging_, ec);
  remove_on_interrupt(staging_);
  if (!fs::create_directories(staging_, ec)) {
    forget_on_interrupt(staging_);
    throw_file_error(staging_, "cannot create folder (" + ec.message() + ")");
  }
}

StagingDir::~StagingDir() {
  if (!committed_) {
    WriteScope scope;
    std::error_code ec;
    fs::remove_all(staging_, ec);
    forget_on_interrupt(staging_);
  }
}

void StagingDir::commit() {
  WriteScope scope;
  // Checked again: the target may have appeared while the work ran.
  check_output(target_, kind_, force_);
  nlohmann::json marker = {{"adbench_output", kind_name(kind_)}, {"adbench_version", build::kVersion}};
  write_file_atomic(staging_ / kMarkerFile, marker.dump() + "\n");
  std::error_code ec;
  fs::path old;
  if (fs::exists(fs::symlink_status(target_, ec))) {
    old = partial_name(target_, "-replaced");
    remove_on_interrupt(old);
    fs::rename(target_, old, ec);
    if (ec) throw_file_error(target_, "cannot move the existing folder aside (" + ec.message() + ")");
  }
  fs::rename(staging_, target_, ec);
  if (ec) {
    std::error_code ec2;
    if (!old.empty()) fs::rename(old, target_, ec2);  // put the previous output back
    forget_on_interrupt(old);
    throw_file_error(target_, "cannot move the finished folder into place: " + ec.message());
  }
  committed_ = true;
  forget_on_interrupt(staging_);
  if (!old.empty()) {
    fs::remove_all(old, ec);
    forget_on_interrupt(old);
  }
}

}  // namespace adbench
