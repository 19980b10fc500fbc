#include "router/deployment_pool.hpp"

#include <catch2/catch.hpp>

using namespace llmux;
using namespace llmux::router;

namespace {
DeploymentConfig dep(std::string group, std::string model, std::string id) {
  DeploymentConfig c;
  c.model_name = std::move(group);
  c.model = "openai/" + model;
  c.provider = "openai";
  c.provider_model = model;
  c.api_base = "http://127.0.0.1:1/v1";
  c.id = std::move(id);
  return c;
}
}  // namespace

TEST_CASE("resolution order: id, alias, exact name, wildcard, litellm_params.model", "[pool]") {
  RouterSettings s;
  s.model_group_alias["friendly"] = ModelGroupAlias{"g", false};
  std::vector<DeploymentConfig> list = {dep("g", "m1", "id1"), dep("g", "m2", "id2"), dep("vendor/*", "*", "w1"),
                                        dep("*", "*", "catchall")};
  auto pool = DeploymentPool::build(list, s, nullptr);
  REQUIRE(pool.ok());
  const DeploymentPool& p = **pool;

  auto byid = p.resolve("id2");
  REQUIRE(byid);
  CHECK(byid->single->deployment->id() == "id2");

  auto alias = p.resolve("friendly");
  REQUIRE(alias);
  CHECK(alias->group->name == "g");
  CHECK(alias->group_name == "friendly");  // metadata/fallbacks keep the alias name (LiteLLM)

  auto exact = p.resolve("g");
  REQUIRE(exact);
  CHECK(exact->group->members.size() == 2);

  auto wild = p.resolve("vendor/llama-3");
  REQUIRE(wild);
  CHECK(wild->group->name == "vendor/*");
  REQUIRE(wild->wildcard_captures);
  CHECK(DeploymentPool::apply_captures("*", *wild->wildcard_captures) == "llama-3");

  auto lp = p.resolve("openai/m1");  // more specific than the catch-all? no: wildcard wins over litellm model
  REQUIRE(lp);
  CHECK(lp->group->name == "*");

  auto catchall = p.resolve("anything");
  REQUIRE(catchall);
  CHECK(catchall->group->name == "*");
}

TEST_CASE("litellm_params.model lookup and unknown names", "[pool]") {
  RouterSettings s;
  auto pool = DeploymentPool::build({dep("g", "m1", "id1")}, s, nullptr);
  REQUIRE(pool.ok());
  auto lp = (*pool)->resolve("openai/m1");
  REQUIRE(lp);
  CHECK(lp->group->name == "g");
  CHECK_FALSE((*pool)->resolve("nope").has_value());
}

TEST_CASE("unresolved names go to the first default fallback", "[pool]") {
  RouterSettings s;
  s.fallbacks.push_back(FallbackRule{"*", {"g"}});
  auto pool = DeploymentPool::build({dep("g", "m1", "id1")}, s, nullptr);
  REQUIRE(pool.ok());
  auto r = (*pool)->resolve("nope");
  REQUIRE(r);
  CHECK(r->group->name == "g");
}

TEST_CASE("unsupported providers are rejected naming the deployment and provider", "[pool]") {
  RouterSettings s;
  DeploymentConfig d = dep("claude", "x", "id1");
  d.provider = "sagemaker";
  d.model = "sagemaker/anthropic.claude";
  auto pool = DeploymentPool::build({d}, s, nullptr);
  REQUIRE_FALSE(pool.ok());
  CHECK(pool.error().kind == ErrorKind::kInvalidConfig);
  CHECK(pool.error().message.find("claude") != std::string::npos);
  CHECK(pool.error().message.find("sagemaker") != std::string::npos);
  // A mock-only deployment needs no provider adapter.
  d.mock_response = "hi";
  CHECK(DeploymentPool::build({d}, s, nullptr).ok());
}

TEST_CASE("rebuilt snapshots keep live state of surviving deployments", "[pool]") {
  RouterSettings s;
  auto first = DeploymentPool::build({dep("g", "m1", "id1")}, s, nullptr);
  REQUIRE(first.ok());
  (*first)->by_id("id1")->deployment->add_in_flight(3);
  auto second = DeploymentPool::build({dep("g", "m1", "id1"), dep("g", "m2", "id2")}, s, first->get());
  REQUIRE(second.ok());
  CHECK((*second)->by_id("id1")->deployment->in_flight() == 3);
  CHECK((*second)->by_id("id1")->health == (*first)->by_id("id1")->health);
}

TEST_CASE("wildcard patterns: most specific first, captures substituted", "[pool]") {
  RouterSettings s;
  auto pool = DeploymentPool::build({dep("*", "*", "a"), dep("team/*/chat", "x-*", "b")}, s, nullptr);
  REQUIRE(pool.ok());
  auto r = (*pool)->resolve("team/alpha/chat");
  REQUIRE(r);
  CHECK(r->group->name == "team/*/chat");
  CHECK(DeploymentPool::apply_captures("x-*", *r->wildcard_captures) == "x-alpha");
}
