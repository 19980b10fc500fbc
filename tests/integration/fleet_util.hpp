// Helpers of the fleet tests (router_fleet_*_test.cpp): replicas — Routers
// each with its own Redis link, as replicas in separate processes would have —
// on one real redis-server (support/redis_server.hpp), their events, and
// polling with a bound.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "llmux/router.hpp"
#include "support/redis_server.hpp"

namespace llmux::testing {

// What a router reported through on_event: its type and error message, in
// order. Thread-safe (the router's I/O thread adds, the test reads).
class RecordedEvents {
 public:
  void add(const RouterEvent& e) {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.emplace_back(e.type, e.error ? e.error->message : "");
  }
  int count(RouterEventType type) const {
    std::lock_guard<std::mutex> lock(mu_);
    return static_cast<int>(std::count_if(seen_.begin(), seen_.end(), [type](const auto& s) { return s.first == type; }));
  }
  std::string last_message(RouterEventType type) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = seen_.rbegin(); it != seen_.rend(); ++it) {
      if (it->first == type) return it->second;
    }
    return "";
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<RouterEventType, std::string>> seen_;
};

// One replica: a router and what it reported.
struct Replica {
  RecordedEvents events;
  std::unique_ptr<Router> router;
};
using Fleet = std::vector<std::unique_ptr<Replica>>;

// RouterOptions of a replica: seeded, quiet, its events recorded in `replica`.
inline RouterOptions replica_options(Replica& replica, uint64_t seed) {
  RouterOptions opts;
  opts.random_seed = seed;
  opts.log = [](std::string_view) {};
  RecordedEvents* events = &replica.events;
  opts.on_event = [events](const RouterEvent& e) { events->add(e); };
  return opts;
}

// A replica from `yaml` (a config error fails the test). Its link may not be
// up yet: see wait_connected.
inline std::unique_ptr<Replica> make_replica(const std::string& yaml, uint64_t seed) {
  auto r = std::make_unique<Replica>();
  auto router = Router::from_config(yaml, replica_options(*r, seed));
  if (!router.ok()) FAIL("router config rejected: " << router.error().to_string());
  r->router = std::move(router).value();
  return r;
}

// `n` replicas seeded seed, seed + 1, ...
inline Fleet make_fleet(const std::string& yaml, size_t n, uint64_t seed) {
  Fleet fleet;
  for (size_t i = 0; i < n; ++i) fleet.push_back(make_replica(yaml, seed + i));
  return fleet;
}

// Polls `pred` until it holds or `limit` passed; its last value.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

// Whether the replica's Redis link came up (its first shared_state_up event).
inline bool connected(const Replica& r) { return r.events.count(RouterEventType::kSharedStateUp) > 0; }

// Waits until the replica's link is up (every replica's, for a fleet).
inline void wait_connected(const Replica& r) {
  REQUIRE(wait_until([&] { return connected(r); }, std::chrono::milliseconds(5000)));
}
inline void wait_connected(const Fleet& fleet) {
  for (const auto& r : fleet) wait_connected(*r);
}

// router_settings lines that put a router on `redis`, then `extra`.
inline std::string redis_settings(const RedisServer& redis, const std::string& extra = "") {
  return fmt::format("  redis_host: {}\n  redis_port: {}\n{}", redis.host(), redis.port(), extra);
}

}  // namespace llmux::testing
