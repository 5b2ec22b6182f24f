#include "adbench/core/npy.hpp"

#include <cstring>
#include <fstream>
#include <regex>

#include "adbench/core/error.hpp"

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
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw_file_error(path, "not a .npy file (bad magic)");
  std::uint32_t header_len = 0;
  if (magic[6] == 1) {
    std::uint16_t h;
    in.read(reinterpret_cast<char*>(&h), 2);
    header_len = h;
  } else if (magic[6] == 2 || magic[6] == 3) {
    in.read(reinterpret_cast<char*>(&header_len), 4);
  } else {
    throw_file_error(path, "unsupported .npy version " + std::to_string(int(magic[6])));
  }
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) throw_file_error(path, "truncated .npy header");
  std::smatch m;
  static const std::regex descr_re("'descr'\\s*:\\s*'([^']*)'");
  static const std::regex fortran_re("'fortran_order'\\s*:\\s*(True|False)");
  static const std::regex shape_re("'shape'\\s*:\\s*\\(([^)]*)\\)");
  if (!std::regex_search(header, m, descr_re)) throw_file_error(path, "bad .npy header (no descr)");
  std::string descr = m[1].str();
  if (!std::regex_search(header, m, fortran_re)) throw_file_error(path, "bad .npy header");
  if (m[1].str() == "True") throw_file_error(path, "Fortran-order .npy arrays are not supported");
  if (!std::regex_search(header, m, shape_re)) throw_file_error(path, "bad .npy header (no shape)");
  std::vector<int64_t> shape;
  {
    std::string s = m[1].str();
    static const std::regex num_re("[0-9]+");
    for (auto it = std::sregex_iterator(s.begin(), s.end(), num_re); it != std::sregex_iterator(); ++it)
      shape.push_back(std::stoll(it->str()));
  }
  const Dtype* dt = nullptr;
  for (const auto& d : kDtypes)
    if (descr == d.descr) dt = &d;
  if (!dt) throw_file_error(path, "unsupported .npy dtype '" + descr + "'");
  at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dt->type));
  auto bytes = static_cast<std::streamsize>(t.numel() * t.element_size());
  if (bytes > 0 && !in.read(static_cast<char*>(t.data_ptr()), bytes))
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
  if (t.dim() > 1) shape.erase(shape.size() - 2);
  else if (t.dim() == 1) shape.erase(shape.size() - 1);
  std::string header = "{'descr': '" + std::string(dt->descr) +
                       "', 'fortran_order': False, 'shape': (" + shape + "), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  if (!out) throw_file_error(path, "cannot write .npy file");
  out.write("\x93NUMPY\x01\x00", 8);
  std::uint16_t hl = static_cast<std::uint16_t>(header.size());
  out.write(reinterpret_cast<const char*>(&hl), 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(t.data_ptr()), static_cast<std::streamsize>(t.numel() * t.element_size()));
  if (!out) throw_file_error(path, "cannot write .npy file");
}

}  // namespace adbench
