#pragma once
// Clean interrupts. SIGINT, SIGTERM and SIGHUP are taken by one thread that waits for them: it
// lets the file being written finish, removes every registered staging file and folder, and exits
// with 128 + the signal number (130 for Ctrl-C, 143 for SIGTERM). Writers mark each file they
// write with a WriteScope, so no new file appears in a staging folder while it is being removed.
#include <filesystem>

namespace adbench {

/// Installs handlers for SIGINT/SIGTERM/SIGHUP (SA_RESTART) that pass the signal through a pipe
/// to a cleanup thread, whichever thread the kernel delivers it to. Call once, early in main.
/// Without it (library use, tests) signals keep their default action.
void install_interrupt_handler();

/// Registers a file or folder to remove (recursively) when an interrupt arrives.
void remove_on_interrupt(const std::filesystem::path& path);
/// Unregisters it (committed, or removed by its owner).
void forget_on_interrupt(const std::filesystem::path& path);

/// Registers a child process that gets the same signal when an interrupt arrives; the handler waits
/// (up to 30 s) for it to end before cleaning up and exiting. stop_forwarding_to() once reaped.
void forward_interrupt_to(long pid);
void stop_forwarding_to(long pid);

/// True once an interrupt has arrived (the process is about to exit).
bool interrupted();

/// Held while one output file or folder entry is written. After an interrupt, constructing one
/// never returns: the handler is removing the staging outputs and ends the process. Nests.
class WriteScope {
 public:
  WriteScope();
  ~WriteScope();
  WriteScope(const WriteScope&) = delete;
  WriteScope& operator=(const WriteScope&) = delete;
};

}  // namespace adbench
