#include "adbench/core/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "adbench/core/error.hpp"
#include "adbench/formats/safetensors_format.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {
struct DtypeName {
  const char* name;
  at::ScalarType type;
};
constexpr DtypeName kDtypes[] = {{"F32", at::kFloat},     {"F64", at::kDouble}, {"F16", at::kHalf},
                                 {"BF16", at::kBFloat16}, {"I64", at::kLong},   {"I32", at::kInt},
                                 {"I16", at::kShort},     {"I8", at::kChar},    {"U8", at::kByte},
                                 {"BOOL", at::kBool}};

class MappedFile {
 public:
  explicit MappedFile(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDONLY);
    if (fd_ < 0) throw_file_error(path, "cannot open file");
    struct stat st {};
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);
      throw_file_error(path, "not a regular file");
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
      if (data_ == MAP_FAILED) {
        ::close(fd_);
        throw_file_error(path, "cannot memory-map file");
      }
    }
  }
  ~MappedFile() {
    if (data_ && data_ != MAP_FAILED) ::munmap(data_, size_);
    if (fd_ >= 0) ::close(fd_);
  }
  const std::uint8_t* data() const { return static_cast<const std::uint8_t*>(data_); }
  size_t size() const { return size_; }

 private:
  int fd_ = -1;
  void* data_ = nullptr;
  size_t size_ = 0;
};
}  // namespace

SafeTensors read_safetensors(const fs::path& path) {
  MappedFile file(path);
  // Header, offsets and sizes are all validated (formats::parse_safetensors) before any tensor is
  // allocated.
  const std::string_view bytes(reinterpret_cast<const char*>(file.data()), file.size());
  const formats::SafetensorsHeader header = formats::parse_safetensors(bytes, path.string());
  const std::uint8_t* base = file.data() + header.data_offset;
  SafeTensors out;
  out.metadata = header.metadata;
  for (const auto& e : header.tensors) {
    const DtypeName* dt = nullptr;
    for (const auto& d : kDtypes)
      if (e.dtype == d.name) dt = &d;
    if (!dt) throw InternalError("read_safetensors: dtype table out of step with parse_safetensors");
    at::Tensor t = at::empty(e.shape, at::TensorOptions().dtype(dt->type));
    if (e.end > e.begin) std::memcpy(t.data_ptr(), base + e.begin, e.end - e.begin);
    out.tensors[e.name] = t;
  }
  return out;
}

void write_safetensors(const fs::path& path, const std::map<std::string, at::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<at::Tensor> payload;
  std::uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    auto t = tensor.detach().to(at::kCPU).contiguous();
    const DtypeName* dt = nullptr;
    for (const auto& d : kDtypes)
      if (t.scalar_type() == d.type) dt = &d;
    if (!dt) throw InternalError("write_safetensors: unsupported dtype for '" + name + "'");
    std::uint64_t nbytes = static_cast<std::uint64_t>(t.numel()) * t.element_size();
    header[name] = {
        {"dtype", dt->name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    payload.push_back(t);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  errno = 0;
  std::ofstream out(path, std::ios::binary);
  if (!out) throw_file_error(path, "cannot write safetensors file" + os_reason());
  std::uint64_t hl = h.size();
  out.write(reinterpret_cast<const char*>(&hl), 8);
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  for (const auto& t : payload)
    out.write(static_cast<const char*>(t.data_ptr()),
              static_cast<std::streamsize>(t.numel() * t.element_size()));
  out.close();  // the last buffered bytes reach the disk here: a full disk fails now, not silently
  if (!out) throw_file_error(path, "cannot write safetensors file" + os_reason());
}

}  // namespace adbench
