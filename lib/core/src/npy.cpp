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
  const char* descr;  ///< as write_npy writes it
  at::ScalarType type;
};
constexpr Dtype kWritten[] = {{"<f4", at::kFloat}, {"<f8", at::kDouble}, {"|u1", at::kByte},
                              {"|b1", at::kBool},  {"<i4", at::kInt},    {"<i8", at::kLong}};

/// The tensor type that holds the raw items of `descr` (kind and size; unsigned 16/32/64-bit items
/// are held in the signed type of their size and widened afterwards).
at::ScalarType storage_type(const std::string& descr) {
  const char kind = descr[1], size = descr[2];
  switch (kind) {
    case 'b':
      return at::kBool;
    case 'f':
      return size == '2' ? at::kHalf : size == '4' ? at::kFloat : at::kDouble;
    case 'i':
    case 'u':
      if (size == '1') return kind == 'i' ? at::kChar : at::kByte;
      return size == '2' ? at::kShort : size == '4' ? at::kInt : at::kLong;
    default:
      throw InternalError("read_npy: dtype table out of step with parse_npy_header");
  }
}

void swap_bytes(char* data, std::uint64_t bytes, std::size_t itemsize) {
  for (std::uint64_t i = 0; i + itemsize <= bytes; i += itemsize) std::reverse(data + i, data + i + itemsize);
}
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
  at::Tensor t = at::empty(h.shape, at::TensorOptions().dtype(storage_type(h.descr)));
  in.clear();
  in.seekg(static_cast<std::streamoff>(h.data_offset));
  if (h.data_bytes > 0 &&
      !in.read(static_cast<char*>(t.data_ptr()), static_cast<std::streamsize>(h.data_bytes)))
    throw_file_error(path, "truncated .npy data");
  if (h.big_endian) swap_bytes(static_cast<char*>(t.data_ptr()), h.data_bytes, h.itemsize);
  if (h.descr[1] == 'b') {
    // NumPy writes bools as one byte, 0 or 1; any non-zero byte reads as true here.
    t = t.view(at::kByte).ne(0);
  } else if (h.descr[1] == 'u' && h.itemsize == 2) {
    t = t.to(at::kInt).bitwise_and_(0xFFFF);
  } else if (h.descr[1] == 'u' && h.itemsize == 4) {
    t = t.to(at::kLong).bitwise_and_(static_cast<std::int64_t>(0xFFFFFFFF));
  } else if (h.descr[1] == 'u' && h.itemsize == 8) {
    if (t.numel() > 0 && t.lt(0).any().item<bool>())
      throw_file_error(path, "uint64 .npy value above 2^63 - 1 (adbench reads uint64 as int64)");
  }
  return t;
}

void write_npy(const fs::path& path, const at::Tensor& tensor) {
  auto t = tensor.detach().to(at::kCPU).contiguous();
  const Dtype* dt = nullptr;
  for (const auto& d : kWritten)
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
