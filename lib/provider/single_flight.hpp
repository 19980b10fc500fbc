// -----------------------------------------------------------------------------
// File: provider/single_flight.hpp
// -----------------------------------------------------------------------------
// The waiting room of one credential fetch (an OAuth token, AWS credentials):
// however many calls need the credential while it is being fetched, one fetch
// runs, and each waiting call is told once, in arrival order, how it ended.
// A call that arrives after the end starts the next fetch. What is fetched,
// and when a cached one is still good, is the owner's business.
//
// Thread safety: none; used on the loop thread only.
#pragma once

#include <deque>

#include "llmux/error.hpp"
#include "provider/provider.hpp"

namespace llmux::provider {

class SingleFlight {
 public:
  // Queues `ready`. True when no fetch was in flight: the caller must start
  // one now (it counts as started) and call finish() when it ends.
  bool join(ReadyCallback ready);
  // Starts a fetch nobody waits for yet (a refresh ahead of need); false,
  // and nothing started, when one is in flight already.
  bool begin();
  bool in_flight() const { return in_flight_; }
  // Ends the fetch in flight: every queued callback gets `outcome`. A
  // callback may join again; that starts a new fetch.
  void finish(const Status& outcome);
  // Fetches started so far (for tests and metrics).
  int started() const { return started_; }

 private:
  bool in_flight_ = false;
  int started_ = 0;
  std::deque<ReadyCallback> waiters_;
};

}  // namespace llmux::provider
