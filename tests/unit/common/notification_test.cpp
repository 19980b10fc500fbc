#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "common/notification.hpp"

using namespace llmux;

TEST_CASE("Notification publishes what was written before notify()", "[notification]") {
  Notification done;
  std::string payload;  // plain memory: the notification is the only synchronisation (TSan checks it)
  std::thread writer([&] {
    payload = "written on another thread";
    done.notify();
  });
  done.wait();
  CHECK(done.has_been_notified());
  CHECK(payload == "written on another thread");
  writer.join();
}

TEST_CASE("Notification waits return at once after notify() and time out before it", "[notification]") {
  Notification n;
  CHECK_FALSE(n.has_been_notified());
  CHECK_FALSE(n.wait_for(std::chrono::milliseconds(1)));
  n.notify();
  CHECK(n.wait_for(std::chrono::milliseconds(0)));
  n.wait();  // does not block once notified
  CHECK(n.has_been_notified());
}
