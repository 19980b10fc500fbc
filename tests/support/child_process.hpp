// -----------------------------------------------------------------------------
// File: tests/support/child_process.hpp
// -----------------------------------------------------------------------------
// This very program run again as a helper process (fork + exec of
// /proc/self/exe with other arguments; or another program), talked to by lines: the parent writes
// to the child's stdin and reads the child's stdout; the child's stderr is the
// parent's. For tests, benchmarks and the demo that need several processes
// (replicas of a fleet sharing one Redis), not threads.
//
// The child is killed by the kernel when the thread that started it ends
// (PR_SET_PDEATHSIG), so a parent that crashes leaves nothing behind: start
// children on a thread that outlives them (main's). It inherits no
// descriptor of the parent's but its three standard ones. The destructor
// closes the child's stdin (a well-behaved child exits on end of input),
// waits a few seconds, then kills it.
//
// The child side needs nothing of this file: read std::cin by lines, write
// lines to stdout and flush them.
//
// Thread safety: none; use each object from one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmux::testing {

class ChildProcess {
 public:
  // Starts `program` (a path; kSelf: this program) with `args` (argv[1..]).
  // Throws std::runtime_error when it cannot fork; a program that cannot be
  // executed exits with status 127 at once.
  static constexpr const char* kSelf = "/proc/self/exe";
  ChildProcess(const std::string& program, const std::vector<std::string>& args);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Writes `line` and a newline to the child's stdin; false when the child
  // is gone.
  bool send(std::string_view line);
  // The next line the child wrote (without its newline); nullopt when the
  // child closed its stdout (exited) or nothing came within `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // Closes the child's stdin and waits for it to exit (killing it after
  // `grace`); returns its exit status as waitpid's WEXITSTATUS, or -1 when it
  // was killed by a signal. Idempotent.
  int finish(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffer_;  // read from the child, not yet returned
  int status_ = -1;
};

}  // namespace llmux::testing
