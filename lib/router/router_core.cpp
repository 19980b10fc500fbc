#include "router/router_core.hpp"

#include "router/call.hpp"

#include <algorithm>

namespace llmux::router {

void RouterCore::emit(const RouterEvent& event) const {
  if (!on_event) return;
  try {
    on_event(event);
  } catch (...) {
    // An observer must not break routing.
  }
}

void RouterCore::emit(RouterEventType type, uint64_t call_id, std::string_view group, const PoolEntry* entry,
                      const Error* error, double seconds, std::string_view fallback_group) const {
  if (!on_event) return;
  RouterEvent ev;
  ev.type = type;
  ev.call_id = call_id;
  ev.model_group = group;
  if (entry) ev.deployment_id = entry->deployment->id();
  ev.error = error;
  ev.fallback_group = fallback_group;
  if (type == RouterEventType::kCooldown) ev.cooldown_seconds = seconds;
  if (type == RouterEventType::kRetry) ev.retry_in_seconds = seconds;
  emit(ev);
}

void RouterCore::emit_outcome(uint64_t call_id, std::string_view group, const PoolEntry* entry,
                              const Result<Response>& result) const {
  if (!on_event) return;
  RouterEvent ev;
  ev.type = result.ok() ? RouterEventType::kSuccess : RouterEventType::kFailure;
  ev.call_id = call_id;
  ev.model_group = group;
  if (entry) ev.deployment_id = entry->deployment->id();
  ev.error = result.ok() ? nullptr : &result.error();
  ev.metadata = result.ok() ? &result.value().metadata : &result.error().metadata;
  if (result.ok()) ev.usage = &result.value().usage;
  emit(ev);
}

void RouterCore::add_slot_waiter(const std::string& group, Call* call) { slot_waiters[group].push_back(call); }

void RouterCore::remove_slot_waiter(const std::string& group, Call* call) {
  auto it = slot_waiters.find(group);
  if (it == slot_waiters.end()) return;
  auto& q = it->second;
  q.erase(std::remove(q.begin(), q.end(), call), q.end());
  if (q.empty()) slot_waiters.erase(it);
}

void RouterCore::wake_slot_waiter(const std::string& group) {
  auto it = slot_waiters.find(group);
  if (it == slot_waiters.end() || it->second.empty()) return;
  Call* waiter = it->second.front();
  it->second.pop_front();
  if (it->second.empty()) slot_waiters.erase(it);
  waiter->wake();
}

}  // namespace llmux::router
