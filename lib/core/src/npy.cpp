#include "adbench/core/npy.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "adbench/core/error.hpp"
#include "adbench/formats/npy_format.hpp"

namespace fs = std::filesystem;

namespace adbench {

namespace {
struct Dtype {
  const char* descr;
  at::ScalarType type;
};
constexpr Dtype kDtypes[] = {{"<f4", at::kFloat}, {"<f8", at::kDouble}, {"|u1", at::kByte},
                             {"|b1", at::kBool},  {"<i4", at::kInt},    {"<i8", at::kLong}};
}  // namespace

at::Tensor read_npy(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_file_error(path, "cannot open .npy file");
  std::error_code ec;
  const std::uint64_t file_size = fs::file_size(path, ec);
  if (ec) throw_file_error(path, "cannot open .npy file");
  // The header (at most 12 + kNpyMaxHeaderBytes bytes) is parsed and every size checked against
  // the file before the tensor is allocated.
  std::string prefix(
      static_cast<std::size_t>(std::min<std::uint64_t>(file_size, 12 + formats::kNpyMaxHeaderBytes)), '\0');
  in.read(prefix.data(), static_cast<std::streamsize>(prefix.size()));
  prefix.resize(static_cast<std::size_t>(in.gcount()));
  const formats::NpyHeader h = formats::parse_npy_header(prefix, file_size, path.string());
  const Dtype* dt = nullptr;
  for (const auto& d : kDtypes)
    if (h.descr == d.descr) dt = &d;
  if (!dt) throw InternalError("read_npy: dtype table out of step with parse_npy_header");
  at::Tensor t = at::empty(h.shape, at::TensorOptions().dtype(dt->type));
  in.clear();
  in.seekg(static_cast<std::streamoff>(h.data_offset));
  if (h.data_bytes > 0 &&
      !in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(h.data_bytes)))
    throw_file_error(path, "truncated .npy data");
  return t;
}

void write_npy(const fs::path& path, const at::Tensor& tensor) {
  auto t = tensor.detach().to(at::kCPU).contiguous();
  const Dtype* dt = nullptr;
  for (const auto& d : kDtypes)
    if (t.scalar_type() == d.type) dt = &d;
  if (!dt) throw InternalError("write_npy: unsupported dtype");
  std::string shape;
  for (auto s : t.sizes()) shape += std::to_string(s) + ", ";
  if (t.dim() > 1)
    shape.erase(shape.size() - 2);
  else if (t.dim() == 1)
    shape.erase(shape.size() - 1);
  std::string header =
      "{'descr': '" + std::string(dt->descr) + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  errno = 0;
  std::ofstream out(path, std::ios::binary);
  if (!out) throw_file_error(path, "cannot write .npy file" + os_reason());
  out.write("\x93NUMPY\x01\x00", 8);
  std::uint16_t hl = static_cast<std::uint16_t>(header.size());
  out.write(reinterpret_cast<const char*>(&hl), 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(t.data_ptr()),
            static_cast<std::streamsize>(t.numel() * t.element_size()));
  out.close();  // the last buffered bytes reach the disk here: a full disk fails now, not silently
  if (!out) throw_file_error(path, "cannot write .npy file" + os_reason());
}

}  // namespace adbench
