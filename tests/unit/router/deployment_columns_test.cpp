// The deployment pool's per-group columns (common/deployment_columns.hpp):
// what routing strategies scan instead of the Deployment objects. The values
// must be the deployments' own counters, and a deployment's slot must live
// exactly as long as the deployment (attempts started under an old snapshot
// count on it after a rebuild; a slot is reused only when its deployment is
// gone).
#include "common/deployment_columns.hpp"
#include "router/deployment_pool.hpp"
#include "strategy/cost_based.hpp"

#include <catch2/catch.hpp>

#include <cstdint>

using namespace llmux;
using namespace llmux::router;

namespace {

DeploymentConfig dep(std::string group, std::string id, double price_in = -1) {
  DeploymentConfig c;
  c.model_name = std::move(group);
  c.model = "openai/m";
  c.provider = "openai";
  c.provider_model = "m";
  c.api_base = "http://127.0.0.1:1/v1";
  c.id = std::move(id);
  if (price_in >= 0) {
    c.input_cost_per_token = price_in;
    c.output_cost_per_token = 2 * price_in;
  }
  return c;
}

std::shared_ptr<const DeploymentPool> build(std::vector<DeploymentConfig> list, const DeploymentPool* previous) {
  RouterSettings s;
  auto pool = DeploymentPool::build(std::move(list), s, previous);
  REQUIRE(pool.ok());
  return std::move(pool).value();
}

const Deployment& member(const ModelGroup& g, std::string_view id) {
  for (const Deployment* d : g.deployments) {
    if (d->id() == id) return *d;
  }
  FAIL("no deployment " << id);
  throw 0;
}

}  // namespace

TEST_CASE("a group built at once is one contiguous run of slots holding the deployments' counters", "[pool][columns]") {
  auto pool = build({dep("g", "a", 1e-6), dep("h", "x"), dep("g", "b", 3e-6), dep("g", "c")}, nullptr);
  const ModelGroup& g = *pool->group("g");
  REQUIRE(g.column_table != nullptr);
  REQUIRE(g.column_page != nullptr);  // members 0..2 of one page
  CHECK(g.column_base == 0);
  CHECK(g.column_slots == std::vector<uint32_t>{0, 1, 2});
  CHECK(pool->group("h")->column_table != g.column_table);  // one table per group
  CHECK(g.column_table->slots_in_use() == 3);

  // The deployments' counters are the columns: writes through either side
  // are seen by the other.
  const CandidateColumns all = g.all_columns();
  const Deployment& b = member(g, "b");
  b.add_in_flight(3);
  b.count_tokens(TimePoint{}, 40);
  b.fleet_view().set_others_in_flight(5);
  columns::visit(all, [&](auto cols) {
    CHECK(cols.in_flight(1) == 3);
    CHECK(cols.in_flight(0) == 0);
    CHECK(cols.tokens(1).value(TimePoint{}) == 40);
    CHECK(cols.fleet(1).others_in_flight() == 5);
    // Prices as cost-based routing compares them; unknown sides cost 5.0 each.
    CHECK(cols.price(0) == strategy::CostBased::price(member(g, "a").config()));
    CHECK(cols.price(1) == Approx(9e-6));
    CHECK(cols.price(2) == 10.0);
    return 0;
  });
  CHECK(b.in_flight() == 3);
}

TEST_CASE("slots follow their deployment across pool rebuilds and are reused only when it is gone", "[pool][columns]") {
  auto p1 = build({dep("g", "a"), dep("g", "b"), dep("g", "c")}, nullptr);
  const ModelGroup& g1 = *p1->group("g");
  const auto table = g1.column_owner;
  const Deployment& a = member(g1, "a");
  a.add_in_flight(2);  // attempts in flight across the rebuild

  // b leaves, d joins: a and c keep their slots; b's slot is still held by
  // p1 (its calls may still be running), so d gets a new one.
  auto p2 = build({dep("g", "a"), dep("g", "c"), dep("g", "d")}, p1.get());
  const ModelGroup& g2 = *p2->group("g");
  CHECK(g2.column_owner == table);
  CHECK(g2.column_slots == std::vector<uint32_t>{0, 2, 3});
  CHECK(g2.column_page == nullptr);  // not consecutive: gathered through the slots
  CHECK(&member(g2, "a") == &a);
  CHECK(table->slots_in_use() == 4);
  columns::visit(g2.all_columns(), [&](auto cols) {
    CHECK(cols.in_flight(0) == 2);
    return 0;
  });
  a.add_in_flight(-2);  // the attempts end (through the old snapshot's entry)
  columns::visit(g2.all_columns(), [&](auto cols) {
    CHECK(cols.in_flight(0) == 0);
    return 0;
  });

  // The old snapshot goes: b with it, and its slot returns, cleared.
  member(g1, "b").add_in_flight(7);
  p1.reset();
  CHECK(table->slots_in_use() == 3);
  auto p3 = build({dep("g", "a"), dep("g", "c"), dep("g", "d"), dep("g", "e")}, p2.get());
  const ModelGroup& g3 = *p3->group("g");
  CHECK(g3.column_slots == std::vector<uint32_t>{0, 2, 3, 1});  // the lowest free slot
  CHECK(member(g3, "e").in_flight() == 0);
  columns::visit(g3.all_columns(), [&](auto cols) {
    CHECK(cols.in_flight(3) == 0);
    return 0;
  });
  p2.reset();
  p3.reset();
  CHECK(table->slots_in_use() == 0);
}

TEST_CASE("a group outgrowing its first page continues on a new one", "[pool][columns]") {
  std::vector<DeploymentConfig> list;
  for (int i = 0; i < 8; ++i) list.push_back(dep("g", "d" + std::to_string(i)));
  auto p1 = build(list, nullptr);
  REQUIRE(p1->group("g")->column_page != nullptr);
  for (int i = 8; i < 20; ++i) list.push_back(dep("g", "d" + std::to_string(i)));
  auto p2 = build(list, p1.get());
  const ModelGroup& g = *p2->group("g");
  REQUIRE(g.column_table != nullptr);
  CHECK(g.column_page == nullptr);  // two pages
  CHECK((g.column_slots[8] >> DeploymentColumns::kPageShift) == 1);
  const Deployment& last = member(g, "d19");
  last.add_in_flight(4);
  columns::visit(g.all_columns(), [&](auto cols) {
    CHECK(cols.in_flight(19) == 4);
    CHECK(cols.in_flight(0) == 0);
    return 0;
  });
}

TEST_CASE("a group assembled from several groups has no columns", "[pool][columns]") {
  auto pool = build({dep("g", "a"), dep("h", "b")}, nullptr);
  ModelGroup mixed;
  for (const auto& e : pool->entries()) mixed.members.push_back(e.get());
  mixed.index_members(nullptr);
  CHECK(mixed.column_table == nullptr);
  CHECK(mixed.all_columns().table == nullptr);
  ModelGroup same;
  same.members.push_back(pool->entries()[0].get());
  same.index_members(nullptr);
  CHECK(same.column_table == pool->group("g")->column_table);
}

namespace {

uintptr_t line_of(const void* p) { return reinterpret_cast<uintptr_t>(p) / 64; }

}  // namespace

TEST_CASE("a small group's written counters have a cache line per deployment; a large group's are dense",
          "[pool][columns]") {
  // Small: every attempt writes in-flight, tokens and latency means of one of
  // a few slots, from any thread; two deployments sharing a line would make
  // threads working on different deployments contend.
  std::vector<DeploymentConfig> small;
  for (int i = 0; i < 8; ++i) small.push_back(dep("g", "s" + std::to_string(i)));
  auto p1 = build(small, nullptr);
  const ModelGroup& g = *p1->group("g");
  REQUIRE(g.column_page != nullptr);
  CHECK(g.column_page->padded);
  const DeploymentColumns::Page& page = *g.column_page;
  for (uint32_t i = 0; i < 8; ++i) {
    for (uint32_t j = i + 1; j < 8; ++j) {
      const void* written_i[] = {&page.in_flight[i], &page.tokens[i], &page.latency[i], &page.ttft[i]};
      const void* written_j[] = {&page.in_flight[j], &page.tokens[j], &page.latency[j], &page.ttft[j]};
      for (const void* a : written_i) {
        for (const void* b : written_j) CHECK(line_of(a) != line_of(b));
      }
    }
    // Read-mostly columns stay off the written lines.
    CHECK(line_of(&page.price[i]) != line_of(&page.in_flight[i]));
    CHECK(line_of(&page.fleet[i]) != line_of(&page.in_flight[i]));
  }
  // Every column starts on a line of its own (and fills whole lines).
  CHECK(reinterpret_cast<uintptr_t>(&page.price[0]) % 64 == 0);
  CHECK(reinterpret_cast<uintptr_t>(&page.fleet[0]) % 64 == 0);
  CHECK(reinterpret_cast<uintptr_t>(&page.in_flight[0]) % 64 == 0);
  // The deployments count on those slots.
  member(g, "s5").add_in_flight(2);
  CHECK(page.in_flight[5].load() == 2);

  std::vector<DeploymentConfig> large;
  for (int i = 0; i < 200; ++i) large.push_back(dep("g", "l" + std::to_string(i)));
  auto p2 = build(large, nullptr);
  const DeploymentColumns::Page& dense = *p2->group("g")->column_page;
  CHECK_FALSE(dense.padded);
  CHECK(reinterpret_cast<uintptr_t>(&dense.in_flight[1]) - reinterpret_cast<uintptr_t>(&dense.in_flight[0]) ==
        sizeof(std::atomic<int64_t>));
  CHECK(reinterpret_cast<uintptr_t>(&dense.latency[1]) - reinterpret_cast<uintptr_t>(&dense.latency[0]) ==
        sizeof(PublishedMean));
  for (const void* column : {static_cast<const void*>(&dense.in_flight[0]), static_cast<const void*>(&dense.tokens[0]),
                             static_cast<const void*>(&dense.latency[0]), static_cast<const void*>(&dense.ttft[0]),
                             static_cast<const void*>(&dense.fleet[0]), static_cast<const void*>(&dense.price[0])}) {
    CHECK(reinterpret_cast<uintptr_t>(column) % 64 == 0);
  }
}

TEST_CASE("the table notes the first fleet report, from any of its pages, and keeps the note", "[pool][columns]") {
  std::vector<DeploymentConfig> list;
  for (int i = 0; i < 8; ++i) list.push_back(dep("g", "d" + std::to_string(i)));
  auto p1 = build(list, nullptr);
  for (int i = 8; i < 20; ++i) list.push_back(dep("g", "d" + std::to_string(i)));
  auto p2 = build(list, p1.get());  // a second page
  const ModelGroup& g = *p2->group("g");
  const DeploymentColumns& table = *g.column_table;
  CHECK_FALSE(table.fleet_reported());
  // Empty values are no report.
  member(g, "d3").fleet_view().set_others_in_flight(0);
  member(g, "d3").fleet_view().set_others_latency(false, {0.5, 0});
  CHECK_FALSE(table.fleet_reported());
  member(g, "d15").fleet_view().set_others_latency(true, {0.5, 2});
  CHECK(table.fleet_reported());
  member(g, "d15").fleet_view().set_others_latency(true, {});
  CHECK(table.fleet_reported());

  auto p3 = build({dep("h", "x")}, nullptr);
  const ModelGroup& h = *p3->group("h");
  CHECK_FALSE(h.column_table->fleet_reported());
  member(h, "x").fleet_view().set_others_in_flight(1);
  CHECK(h.column_table->fleet_reported());
}

TEST_CASE("a weighted group keeps simple-shuffle's running sums of its weights for the whole-group columns",
          "[pool][columns]") {
  std::vector<DeploymentConfig> list = {dep("g", "a"), dep("g", "b"), dep("g", "c"), dep("h", "x")};
  list[0].weight = 2;
  list[2].weight = 3.5;
  auto pool = build(list, nullptr);
  const ModelGroup& g = *pool->group("g");
  REQUIRE(g.any_weight);
  CHECK(g.weight_prefix == std::vector<double>{2, 2, 5.5});  // b has no weight: 0
  CHECK(g.all_columns().weight_prefix == g.weight_prefix.data());
  // No weight, rpm or tpm in the group: no sums, the pick is uniform.
  const ModelGroup& h = *pool->group("h");
  CHECK_FALSE(h.any_weight);
  CHECK(h.all_columns().weight_prefix == nullptr);

  // A rebuild with other members: the new snapshot's sums, in its order.
  std::vector<DeploymentConfig> next = {list[2], list[0], dep("g", "d")};
  next[2].weight = 4;
  next[2].rpm = 100;  // weight still wins
  auto p2 = build(next, pool.get());
  CHECK(p2->group("g")->weight_prefix == std::vector<double>{3.5, 5.5, 9.5});
}
