/*
 * The C ABI row of the bindings benchmark (run by benchmarks/bindings/run_bindings.sh):
 * llmux_completion through libllmux.so, one call at a time, each response
 * freed with llmux_free — what every binding does underneath.
 *
 *   llmux_bindings_c_driver --config=FILE --request=FILE [--calls=20000] [--warmup=2000]
 *
 * Prints one JSON line (driver_common.h).
 */
#include "llmux.h"
#include "driver_common.h"

static const char* const kDriver = "c";

static const char* required(int argc, char** argv, const char* name) {
  const char* v = bench_flag(argc, argv, name, NULL);
  if (v == NULL) bench_die(kDriver, "missing flag", name);
  return v;
}

/* One blocking call; 1 when it returned a response. */
static int call_once(llmux_router* router, const char* request, size_t len) {
  char* response = NULL;
  llmux_error* error = NULL;
  const llmux_status status = llmux_completion(router, request, len, &response, &error);
  const int ok = status == LLMUX_OK && response != NULL && response[0] != '\0';
  if (!ok && error != NULL) fprintf(stderr, "%s: llmux_completion: %s\n", kDriver, llmux_error_message(error));
  llmux_free(response);
  llmux_error_free(error);
  return ok;
}

int main(int argc, char** argv) {
  const int calls = bench_flag_int(argc, argv, "--calls", 20000);
  const int warmup = bench_flag_int(argc, argv, "--warmup", 2000);
  size_t config_len = 0, request_len = 0;
  char* config = bench_read_file(required(argc, argv, "--config"), &config_len);
  char* request = bench_read_file(required(argc, argv, "--request"), &request_len);

  if (llmux_abi_version() != LLMUX_ABI_VERSION) bench_die(kDriver, "the library's ABI version differs from the header's", NULL);
  llmux_router* router = NULL;
  llmux_error* error = NULL;
  if (llmux_router_new(config, config_len, &router, &error) != LLMUX_OK) {
    bench_die(kDriver, "llmux_router_new failed", llmux_error_message(error));
  }

  for (int i = 0; i < warmup; ++i) {
    if (!call_once(router, request, request_len)) bench_die(kDriver, "a warm-up call failed", NULL);
  }
  int64_t* samples = (int64_t*)malloc(sizeof(int64_t) * (size_t)(calls > 0 ? calls : 1));
  if (samples == NULL) bench_die(kDriver, "out of memory", NULL);
  bench_result r;
  memset(&r, 0, sizeof r);
  r.driver = kDriver;
  r.api = "llmux_completion";
  r.mode = "sequential";
  r.concurrency = 1;
  r.calls = calls;
  r.warmup = warmup;
  const double cpu0 = bench_cpu_seconds();
  const int64_t start = bench_now_ns();
  for (int i = 0; i < calls; ++i) {
    const int64_t t0 = bench_now_ns();
    r.errors += call_once(router, request, request_len) ? 0 : 1;
    samples[i] = bench_now_ns() - t0;
  }
  r.wall_seconds = (double)(bench_now_ns() - start) / 1e9;
  r.cpu_seconds = bench_cpu_seconds() - cpu0;
  r.samples_ns = samples;
  bench_report(&r);

  llmux_router_free(router);
  free(samples);
  free(request);
  free(config);
  return r.errors > 0 ? 1 : 0;
}
