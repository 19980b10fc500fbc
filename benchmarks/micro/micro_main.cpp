// llmux micro benchmarks: routing decision, request JSON, SSE framing.
//
//   llmux_micro_bench [--summary_out=FILE] [Google Benchmark flags]
//
// Runs the benchmarks with Google Benchmark's console output (and its JSON
// file with --benchmark_out=FILE --benchmark_out_format=json), then prints one
// line per figure: "figure / budget (DESIGN.md §5) or baseline = ratio", and
// writes those lines as JSON to --summary_out when given. Times are CPU time
// per iteration; with --benchmark_repetitions the median is used.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/alloc_counter.hpp"
#include "micro/micro_registry.hpp"

namespace llmux::bench {
namespace {

struct Figure {
  double cpu_ns = 0;           // per iteration
  double bytes_per_second = 0; // 0 when not set
  double allocations = -1;     // per iteration (counter allocations_per_iteration); <0 when not counted
  bool from_median = false;
  std::string error;
};

// Console output as usual, plus a copy of every result for the summary.
class CollectingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      Figure& f = figures_[r.run_name.function_name];
      if (r.error_occurred) {
        f.error = r.error_message;
        continue;
      }
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (r.run_type == Run::RT_Aggregate && !median) continue;
      if (f.from_median && !median) continue;
      f.from_median = median;
      f.cpu_ns = r.GetAdjustedCPUTime() * 1e9 / benchmark::GetTimeUnitMultiplier(r.time_unit);
      auto it = r.counters.find("bytes_per_second");
      f.bytes_per_second = it != r.counters.end() ? static_cast<double>(it->second) : 0;
      auto a = r.counters.find("allocations_per_iteration");
      f.allocations = a != r.counters.end() ? static_cast<double>(a->second) : -1;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  const std::map<std::string, Figure>& figures() const { return figures_; }

 private:
  std::map<std::string, Figure> figures_;
};

std::string format_ns(double ns) {
  if (ns < 1000) return fmt::format("{:.1f} ns", ns);
  if (ns < 1e6) return fmt::format("{:.2f} µs", ns / 1e3);
  return fmt::format("{:.2f} ms", ns / 1e6);
}

std::string format_rate(const Figure& f) {
  return f.bytes_per_second > 0 ? fmt::format(" ({:.0f} MB/s)", f.bytes_per_second / 1e6) : std::string();
}

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// The routing decision per strategy and group size, from the figures named
// routing/<strategy>/<deployments>: {"<strategy>":{"8":{"ns":..,
// "allocations_per_decision":..},"1000":{..}},..} (allocations -1: not counted).
std::string routing_table(const std::map<std::string, Figure>& figures) {
  std::map<std::string, std::vector<std::string>> rows;
  for (const auto& [name, f] : figures) {
    constexpr std::string_view kPrefix = "routing/";
    if (name.rfind(kPrefix, 0) != 0 || !f.error.empty()) continue;
    const std::string_view rest = std::string_view(name).substr(kPrefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) continue;
    const std::string_view n = rest.substr(slash + 1);
    if (n.empty() || n.find_first_not_of("0123456789") != std::string_view::npos) continue;
    rows[std::string(rest.substr(0, slash))].push_back(fmt::format(
        R"("{}":{{"ns":{:.3f},"allocations_per_decision":{:.4f}}})", n, f.cpu_ns, f.allocations));
  }
  std::string out = "{";
  bool first = true;
  for (const auto& [strategy, sizes] : rows) {
    out += fmt::format(R"({}"{}":{{)", first ? "" : ",", strategy);
    for (size_t i = 0; i < sizes.size(); ++i) out += (i ? "," : "") + sizes[i];
    out += "}";
    first = false;
  }
  return out + "}";
}

int report(const std::vector<Comparison>& comparisons, const std::map<std::string, Figure>& figures,
           const std::string& summary_path) {
  std::vector<std::string> json_items;
  int over_budget = 0;
  std::printf("\n== llmux micro benchmarks: figure / budget (DESIGN.md §5) or baseline = ratio ==\n");
  for (const Comparison& c : comparisons) {
    auto fig = figures.find(c.figure);
    if (fig == figures.end()) continue;  // filtered out with --benchmark_filter
    if (!fig->second.error.empty()) {
      std::printf("%s: not measured (%s)\n", c.label.c_str(), fig->second.error.c_str());
      json_items.push_back(fmt::format(R"({{"name":"{}","label":"{}","error":"{}"}})", c.figure,
                                       json_escape(c.label), json_escape(fig->second.error)));
      continue;
    }
    const Figure& f = fig->second;
    if (c.budget_ns > 0) {
      const double ratio = f.cpu_ns / c.budget_ns;
      const bool ok = ratio <= 1.0;
      over_budget += ok ? 0 : 1;
      const std::string allocs =
          f.allocations >= 0 ? fmt::format(", {:.2f} allocations per iteration", f.allocations) : std::string();
      std::printf("%s: %s / budget %s = %.3f -> %s%s\n", c.label.c_str(), format_ns(f.cpu_ns).c_str(),
                  format_ns(c.budget_ns).c_str(), ratio, ok ? "within budget" : "OVER BUDGET", allocs.c_str());
      json_items.push_back(fmt::format(
          R"({{"name":"{}","label":"{}","figure_ns":{:.3f},"budget_ns":{:.1f},"ratio":{:.4f},"within_budget":{}{}}})",
          c.figure, json_escape(c.label), f.cpu_ns, c.budget_ns, ratio, ok,
          f.allocations >= 0 ? fmt::format(R"(,"allocations_per_iteration":{:.4f})", f.allocations) : std::string()));
      continue;
    }
    auto base = figures.find(c.baseline);
    if (base == figures.end() || !base->second.error.empty() || base->second.cpu_ns <= 0) {
      std::printf("%s: %s%s (baseline %s not measured)\n", c.label.c_str(), format_ns(f.cpu_ns).c_str(),
                  format_rate(f).c_str(), c.baseline.c_str());
      continue;
    }
    const Figure& b = base->second;
    const double ratio = f.cpu_ns / b.cpu_ns;
    std::printf("%s: %s%s / baseline (%s) %s%s = %.2f\n", c.label.c_str(), format_ns(f.cpu_ns).c_str(),
                format_rate(f).c_str(), c.baseline_label.c_str(), format_ns(b.cpu_ns).c_str(),
                format_rate(b).c_str(), ratio);
    json_items.push_back(fmt::format(
        R"({{"name":"{}","label":"{}","figure_ns":{:.3f},"figure_mb_per_s":{:.1f},"baseline_name":"{}",)"
        R"("baseline_label":"{}","baseline_ns":{:.3f},"baseline_mb_per_s":{:.1f},"ratio":{:.4f}}})",
        c.figure, json_escape(c.label), f.cpu_ns, f.bytes_per_second / 1e6, c.baseline, json_escape(c.baseline_label),
        b.cpu_ns, b.bytes_per_second / 1e6, ratio));
  }
  if (over_budget > 0) std::printf("%d figure(s) over budget\n", over_budget);

  if (!summary_path.empty()) {
    std::FILE* out = std::fopen(summary_path.c_str(), "w");
    if (out == nullptr) {
      std::fprintf(stderr, "cannot write %s\n", summary_path.c_str());
      return 1;
    }
    std::string text = "{\"benchmark\":\"llmux_micro\",\"time\":\"cpu_ns_per_iteration\",\"comparisons\":[\n";
    for (size_t i = 0; i < json_items.size(); ++i) text += json_items[i] + (i + 1 < json_items.size() ? ",\n" : "\n");
    text += "],\n\"routing\":" + routing_table(figures) + "}\n";
    std::fputs(text.c_str(), out);
    std::fclose(out);
    std::printf("summary written to %s\n", summary_path.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace llmux::bench

int main(int argc, char** argv) {
  // Our own flag is taken out before Google Benchmark sees the arguments.
  std::string summary_path;
  std::vector<char*> args;
  constexpr std::string_view kSummaryFlag = "--summary_out=";
  for (int i = 0; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.substr(0, kSummaryFlag.size()) == kSummaryFlag) {
      summary_path = std::string(a.substr(kSummaryFlag.size()));
    } else {
      args.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;

  // The interposer must see this thread's allocations, or every "allocations
  // per ..." figure would silently read 0.
  if (llmux::bench::alloc_counter::available()) {
    const auto before = llmux::bench::alloc_counter::this_thread();
    std::vector<char>* probe = new std::vector<char>(64);
    delete probe;
    const auto counted = llmux::bench::alloc_counter::this_thread() - before;
    if (counted.allocations < 2 || counted.frees < 2) {
      std::fprintf(stderr, "allocation counter is linked but does not count (saw %llu)\n",
                   static_cast<unsigned long long>(counted.allocations));
      return 1;
    }
  }

  std::vector<llmux::bench::Comparison> comparisons;
  llmux::bench::register_routing_benchmarks(comparisons);
  llmux::bench::register_request_json_benchmarks(comparisons);
  llmux::bench::register_sse_benchmarks(comparisons);
  llmux::bench::register_anthropic_benchmarks(comparisons);
  llmux::bench::register_bedrock_benchmarks(comparisons);
  llmux::bench::register_gemini_benchmarks(comparisons);
  llmux::bench::register_aws_benchmarks(comparisons);
  llmux::bench::register_azure_benchmarks(comparisons);
  llmux::bench::register_vertex_benchmarks(comparisons);
  llmux::bench::register_redis_link_benchmarks(comparisons);

  llmux::bench::CollectingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return llmux::bench::report(comparisons, reporter.figures(), summary_path);
}
