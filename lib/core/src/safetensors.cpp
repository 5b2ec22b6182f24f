#include "adbench/core/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "adbench/core/error.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {
struct DtypeName {
  const char* name;
  at::ScalarType type;
};
constexpr DtypeName kDtypes[] = {{"F32", at::kFloat},  {"F64", at::kDouble}, {"F16", at::kHalf},
                                 {"BF16", at::kBFloat16}, {"I64", at::kLong}, {"I32", at::kInt},
                                 {"I16", at::kShort},  {"I8", at::kChar},    {"U8", at::kByte},
                                 {"BOOL", at::kBool}};

class MappedFile {
 public:
  explicit MappedFile(const fs::path& path) {
    fd_ = ::open(path.c_str(), O_RDONLY);
    if (fd_ < 0) throw_file_error(path, "cannot open file");
    struct stat st {};
    ::fstat(fd_, &st);
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
  if (file.size() < 8) throw_file_error(path, "not a safetensors file (shorter than 8 bytes)");
  std::uint64_t header_len = 0;
  std::memcpy(&header_len, file.data(), 8);
  if (header_len > file.size() - 8) throw_file_error(path, "not a safetensors file (header length past the end)");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(file.data() + 8, file.data() + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    throw_file_error(path, std::string("bad safetensors header: ") + e.what());
  }
  const std::uint8_t* base = file.data() + 8 + header_len;
  const size_t data_size = file.size() - 8 - header_len;
  SafeTensors out;
  for (auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      for (auto& [k, v] : entry.items()) out.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
      continue;
    }
    std::string dtype = entry.value("dtype", "");
    const DtypeName* dt = nullptr;
    for (const auto& d : kDtypes)
      if (dtype == d.name) dt = &d;
    if (!dt) throw_file_error(path, "tensor '" + name + "' has unsupported dtype '" + dtype + "'");
    std::vector<int64_t> shape = entry.at("shape").get<std::vector<int64_t>>();
    auto offsets = entry.at("data_offsets").get<std::vector<std::uint64_t>>();
    if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size)
      throw_file_error(path, "tensor '" + name + "' has data offsets outside the file");
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt->type));
    size_t nbytes = static_cast<size_t>(t.numel()) * t.element_size();
    if (nbytes != offsets[1] - offsets[0])
      throw_file_error(path, "tensor '" + name + "' has " + std::to_string(offsets[1] - offsets[0]) +
                                 " bytes of data, its shape needs " + std::to_string(nbytes));
    if (nbytes) std::memcpy(t.data_ptr(), base + offsets[0], nbytes);
    out.tensors[name] = t;
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
    header[name] = {{"dtype", dt->name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
    payload.push_back(t);
  }
  std::string h = header.dump();
  h.append((8 - h.size() % 8) % 8, ' ');
  std::ofstream out(path, std::ios::binary);
  if (!out) throw_file_error(path, "cannot write safetensors file");
  std::uint64_t hl = h.size();
  out.write(reinterpret_cast<const char*>(&hl), 8);
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  for (const auto& t : payload)
    out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
  if (!out) throw_file_error(path, "cannot write safetensors file");
}

}  // namespace adbench
