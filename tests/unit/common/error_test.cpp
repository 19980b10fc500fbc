#include "llmux/error.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <utility>

#include <sys/wait.h>
#include <unistd.h>

using namespace llmux;

TEST_CASE("every error kind has a distinct LiteLLM-style name and a status", "[error]") {
  std::set<std::string_view> names;
  for (int k = static_cast<int>(ErrorKind::kBadRequest); k <= static_cast<int>(ErrorKind::kInvalidArgument); ++k) {
    const auto kind = static_cast<ErrorKind>(k);
    const auto name = error_kind_name(kind);
    CHECK(name != "UnknownError");
    CHECK(names.insert(name).second);
    CHECK(error_kind_default_status(kind) >= 400);
  }
  CHECK(error_kind_name(ErrorKind::kRateLimit) == "RateLimitError");
  CHECK(error_kind_name(ErrorKind::kTimeout) == "Timeout");
  CHECK(error_kind_name(ErrorKind::kConnectionError) == "APIConnectionError");
  CHECK(error_kind_default_status(ErrorKind::kConnectionError) == 500);  // as LiteLLM reports it
  CHECK(error_kind_default_status(ErrorKind::kTimeout) == 408);
}

TEST_CASE("Error keeps the provider status and formats with its type name", "[error]") {
  Error e(ErrorKind::kTimeout, "gateway timed out", 504);
  CHECK(e.status == 504);
  CHECK(e.provider_status == 504);
  CHECK(e.to_string() == "Timeout: gateway timed out");
  Error none(ErrorKind::kConnectionError, "refused");
  CHECK(none.status == 500);
  CHECK(none.provider_status == 0);
}

TEST_CASE("Result holds a value or an error", "[error]") {
  Result<int> ok(7);
  REQUIRE(ok.ok());
  CHECK(*ok == 7);
  Result<int> bad(Error(ErrorKind::kInvalidArgument, "no"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::kInvalidArgument);
  Status s;
  CHECK(s.ok());
  Status f(Error(ErrorKind::kInvalidConfig, "x"));
  CHECK_FALSE(f.ok());
}

TEST_CASE("Result's accessors: value_or has no precondition, the checked ones hold on the right side", "[error]") {
  Result<std::string> ok(std::string("seven"));
  Result<std::string> bad(Error(ErrorKind::kRateLimit, "slow down"));
  CHECK(ok.value_or("fallback") == "seven");
  CHECK(bad.value_or("fallback") == "fallback");
  CHECK(std::move(bad).value_or(std::string("moved")) == "moved");
  CHECK(static_cast<bool>(ok));
  CHECK_FALSE(static_cast<bool>(bad));
  CHECK(ok->size() == 5);
  CHECK(ok.value() == "seven");
  CHECK(bad.error().to_string() == "RateLimitError: slow down");
  const Status failed(Error(ErrorKind::kNotFound, "gone"));
  CHECK(failed.error().kind == ErrorKind::kNotFound);
}

namespace {

// Runs `body` in a forked child with stderr captured; returns (whether the
// child died — killed by a signal, or exited non-zero —, what it wrote to
// stderr). The test binary itself never aborts. ThreadSanitizer turns the
// child's abort() into an exit with its own code rather than SIGABRT, so
// "died" is the portable verdict.
template <class F>
std::pair<bool, std::string> run_in_child(F&& body) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], STDERR_FILENO);
    body();
    _exit(0);  // the check did not fire
  }
  close(fds[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  const bool died = WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0);
  return {died, out};
}

}  // namespace

TEST_CASE("Result::value() on an error aborts with a message naming the error (in a child process)", "[error]") {
  auto [died, message] = run_in_child([] {
    Result<int> bad(Error(ErrorKind::kRateLimit, "slow down"));
    std::printf("%d\n", bad.value());
  });
  CHECK(died);
  CHECK_THAT(message, Catch::Contains("Result::value() called on an error") &&
                          Catch::Contains("RateLimitError: slow down"));

  auto [died2, message2] = run_in_child([] {
    Result<int> ok(1);
    std::printf("%d\n", static_cast<int>(ok.error().kind));
  });
  CHECK(died2);
  CHECK_THAT(message2, Catch::Contains("Result::error() called on a success"));

  auto [died3, message3] = run_in_child([] {
    Status ok;
    std::printf("%d\n", static_cast<int>(ok.error().kind));
  });
  CHECK(died3);
  CHECK_THAT(message3, Catch::Contains("Status::error() called on a success"));

  // The control: a correct access does not abort.
  auto [died4, message4] = run_in_child([] {
    Result<int> ok(1);
    if (ok.value() != 1) std::abort();
  });
  CHECK_FALSE(died4);
  CHECK(message4.empty());
}
