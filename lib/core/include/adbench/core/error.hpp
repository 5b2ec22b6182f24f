#pragma once
// Error types. User and input errors (a missing file, a corrupt image, an unknown name) throw
// InputError: `main` prints its one-line message and exits with kExitBadInput. Broken invariants
// throw InternalError (exit 1). Never validate input with assert(): Release builds drop it.
#include <filesystem>
#include <source_location>
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

/// A broken invariant inside adbench (a bug). Records where it was thrown: `throw InternalError("x")`
/// captures the throwing file and line, which `main` prints ("internal error at lib/x.cpp:12: x").
class InternalError : public Error {
 public:
  explicit InternalError(const std::string& message,
                         std::source_location where = std::source_location::current())
      : Error(message), where_(where) {}
  const std::source_location& where() const noexcept { return where_; }
  /// "<file>:<line>" of the throw: the file relative to the source tree when it lies inside it.
  std::string location() const;

 private:
  std::source_location where_;
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
