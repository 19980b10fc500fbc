// Self-test of the helper-process support (tests/support/child_process.hpp):
// lines both ways, end of input, exit statuses, a child that ignores its end of
// input, and a program that cannot be executed.
#include <catch2/catch.hpp>

#include <chrono>

#include "support/child_process.hpp"

namespace llmux::testing {
namespace {

using namespace std::chrono_literals;

TEST_CASE("a child answers line by line and exits on end of input", "[child_process]") {
  ChildProcess cat("/bin/cat", {});
  REQUIRE(cat.pid() > 0);
  REQUIRE(cat.send("hello"));
  REQUIRE(cat.send("second line"));
  CHECK(cat.read_line(5000ms) == std::optional<std::string>("hello"));
  CHECK(cat.read_line(5000ms) == std::optional<std::string>("second line"));
  CHECK_FALSE(cat.read_line(50ms).has_value());  // nothing more yet: a timeout, not a hang
  CHECK(cat.finish() == 0);
  CHECK_FALSE(cat.send("after the end"));
  CHECK_FALSE(cat.read_line(50ms).has_value());
  CHECK(cat.finish() == 0);  // idempotent
}

TEST_CASE("the exit status comes back; a child that outstays its grace is killed", "[child_process]") {
  {
    ChildProcess sh("/bin/sh", {"-c", "echo one; echo two; exit 3"});
    CHECK(sh.read_line(5000ms) == std::optional<std::string>("one"));
    CHECK(sh.read_line(5000ms) == std::optional<std::string>("two"));
    CHECK_FALSE(sh.read_line(5000ms).has_value());  // end of its output
    CHECK(sh.finish() == 3);
  }
  {
    ChildProcess stubborn("/bin/sh", {"-c", "trap '' PIPE; sleep 30"});
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(stubborn.finish(100ms) == -1);  // killed
    CHECK(std::chrono::steady_clock::now() - t0 < 20s);
  }
  {
    ChildProcess missing("/nonexistent/program", {});
    CHECK(missing.finish() == 127);
  }
}

}  // namespace
}  // namespace llmux::testing
