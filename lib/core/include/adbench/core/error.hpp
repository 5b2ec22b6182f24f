#pragma once
// Error types. User and input errors (a missing file, a corrupt image, an unknown name) throw
// InputError: `main` prints its one-line message and exits with kExitBadInput. Broken invariants
// throw InternalError (exit 1). Never validate input with assert(): Release builds drop it.
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace adbench {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInternal = 1;
inline constexpr int kExitBadInput = 2;

/// Base of every adbench exception.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad input from the user: files, folders, names, values. Message names the file or key, what was
/// expected and what was found.
class InputError : public Error {
 public:
  using Error::Error;
};

/// Where something was thrown: file and line. Like std::source_location, which clang 14 with
/// libstdc++ 12 (the fuzz build, Debian 12) does not provide; __builtin_FILE/__builtin_LINE work in
/// GCC and clang as default arguments, evaluated at the call site.
struct SourceLocation {
  const char* file = "";
  std::uint_least32_t line_number = 0;
  static constexpr SourceLocation current(const char* f = __builtin_FILE(),
                                          std::uint_least32_t l = __builtin_LINE()) noexcept {
    return {f, l};
  }
  constexpr const char* file_name() const noexcept { return file; }
  constexpr std::uint_least32_t line() const noexcept { return line_number; }
};

/// A broken invariant inside adbench (a bug). Records where it was thrown: `throw InternalError("x")`
/// captures the throwing file and line, which `main` prints ("internal error at lib/x.cpp:12: x").
class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message, SourceLocation where = SourceLocation::current())
      : Error(message), where_(where) {}
  const SourceLocation& where() const noexcept { return where_; }
  /// "<file>:<line>" of the throw: the file relative to the source tree when it lies inside it.
  std::string location() const;

 private:
  SourceLocation where_;
};

/// A user-supplied string (a file's bytes, a header field, a CLI value) fit for an error line: at
/// most `max` characters, control and non-ASCII bytes escaped as \xNN, and a longer one cut to
/// "<first max chars>... (<N> bytes)". Error lines echo user text only through this.
std::string excerpt(std::string_view text, std::size_t max = 80);

/// An error message made fit for one stderr line: ANSI escape sequences (colour codes from
/// libraries' logs) removed, newlines and tabs turned into spaces, trailing space dropped.
std::string one_line(std::string_view message);

/// "<path>: <problem>" — the canonical shape of an input error about a file.
[[noreturn]] void throw_file_error(const std::filesystem::path& path, const std::string& problem);

/// " (<strerror(errno)>)" when errno is set, else "": the OS reason of a failed stream or library
/// write, for "<path>: cannot write ..." lines. Set errno = 0 before the call it explains.
std::string os_reason();

/// Throws InputError(message) when `cond` is false.
inline void check_input(bool cond, const std::string& message) {
  if (!cond) throw InputError(message);
}

}  // namespace adbench
