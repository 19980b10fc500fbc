// -----------------------------------------------------------------------------
// File: benchmarks/micro/micro_registry.hpp
// -----------------------------------------------------------------------------
// The micro benchmarks register themselves at run time (so that names can be
// built from parameters) and declare what each figure is judged against: a
// budget from DESIGN.md §5, or a baseline benchmark run in the same process.
// micro_main.cpp prints "figure / budget-or-baseline = ratio" for each one and
// writes those lines as JSON. Single-threaded; used only from main().
#pragma once

#include <string>
#include <vector>

namespace llmux::bench {

struct Comparison {
  std::string label;   // what the figure is, for humans
  std::string figure;  // benchmark name
  // Exactly one of the two is set: a budget in ns per iteration, or the name of
  // a baseline benchmark (ratio = figure time / baseline time).
  double budget_ns = 0;
  std::string baseline;
  std::string baseline_label;
  // Whether bytes/s is meaningful for this pair (prints MB/s too).
  bool throughput = false;
};

// Each file adds its benchmarks with benchmark::RegisterBenchmark and appends
// the comparisons it wants reported.
void register_routing_benchmarks(std::vector<Comparison>& out);
void register_request_json_benchmarks(std::vector<Comparison>& out);
void register_sse_benchmarks(std::vector<Comparison>& out);
void register_anthropic_benchmarks(std::vector<Comparison>& out);
void register_gemini_benchmarks(std::vector<Comparison>& out);
void register_aws_benchmarks(std::vector<Comparison>& out);
void register_bedrock_benchmarks(std::vector<Comparison>& out);
void register_azure_benchmarks(std::vector<Comparison>& out);
void register_vertex_benchmarks(std::vector<Comparison>& out);
void register_redis_link_benchmarks(std::vector<Comparison>& out);

}  // namespace llmux::bench
