#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

#include <cerrno>

#include "common/futex_notification.hpp"
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

TEST_CASE("FutexNotification publishes what was written before notify(), waiter first or notifier first",
          "[notification][futex]") {
  // Many rounds so both orders happen: the waiter asleep in FUTEX_WAIT when
  // notify() comes, and notify() done before wait() looks. Each round the
  // waiter destroys the event right after wait() returns, as a blocking call
  // does with its stack frame.
  for (int round = 0; round < 2000; ++round) {
    std::string payload;  // plain memory: the notification is the only synchronisation (TSan checks it)
    std::thread writer;
    {
      FutexNotification done;
      writer = std::thread([&] {
        payload = "round " + std::to_string(round);
        done.notify();
      });
      if (round % 2 == 0) std::this_thread::yield();
      done.wait();
      CHECK(done.has_been_notified());
    }
    CHECK(payload == "round " + std::to_string(round));
    writer.join();
  }
}

TEST_CASE("FutexNotification wait returns at once after notify() and keeps errno", "[notification][futex]") {
  FutexNotification n;
  CHECK_FALSE(n.has_been_notified());
  n.notify();
  errno = 1234;
  n.wait();
  CHECK(errno == 1234);
  CHECK(n.has_been_notified());
}
