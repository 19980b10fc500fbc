/*
 * driver_common.h — what the C and C++ drivers of the bindings benchmark
 * share: flag parsing, file reading, clocks, and the one-JSON-line report
 * every driver prints (run_bindings.py reads it). Header-only C that also
 * compiles as C++, so both native drivers compute their figures the same way
 * the Python, Go and Rust drivers do:
 *   latency percentiles: nearest rank over the measured calls (sorted[ceil(p*n)-1]);
 *   CPU per call: getrusage(RUSAGE_SELF) user+sys over the measured loop, every
 *   thread of the process (the router's I/O thread included) / calls;
 *   req/s: calls / wall seconds of the measured loop.
 */
#ifndef LLMUX_BENCH_DRIVER_COMMON_H_
#define LLMUX_BENCH_DRIVER_COMMON_H_

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The value of `--name=value` in argv, or `fallback` when absent. */
static const char* bench_flag(int argc, char** argv, const char* name, const char* fallback) {
  const size_t n = strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=') return argv[i] + n + 1;
  }
  return fallback;
}

static void bench_die(const char* driver, const char* what, const char* detail) {
  fprintf(stderr, "%s: %s%s%s\n", driver, what, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

static int bench_flag_int(int argc, char** argv, const char* name, int fallback) {
  const char* v = bench_flag(argc, argv, name, NULL);
  if (v == NULL) return fallback;
  char* end = NULL;
  const long n = strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0' || n < 0 || n > 100000000) bench_die("driver", "bad integer flag", name);
  return (int)n;
}

/* The whole file, NUL-terminated (malloc'ed; the caller frees); *len gets its size. */
static char* bench_read_file(const char* path, size_t* len) {
  FILE* f = fopen(path, "rb");
  if (f == NULL) bench_die("driver", "cannot open", path);
  size_t cap = 4096, size = 0;
  char* buf = (char*)malloc(cap);
  for (size_t got; buf != NULL && (got = fread(buf + size, 1, cap - size - 1, f)) > 0;) {
    size += got;
    if (cap - size - 1 == 0) buf = (char*)realloc(buf, cap *= 2);
  }
  fclose(f);
  if (buf == NULL) bench_die("driver", "out of memory reading", path);
  buf[size] = '\0';
  *len = size;
  return buf;
}

static int64_t bench_now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static double bench_cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
         (double)u.ru_stime.tv_usec * 1e-6;
}

static int bench_compare_i64(const void* a, const void* b) {
  const int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples, in microseconds. */
static double bench_percentile_us(const int64_t* sorted, int n, double p) {
  if (n <= 0) return 0;
  int rank = (int)ceil(p * n);
  if (rank < 1) rank = 1;
  if (rank > n) rank = n;
  return (double)sorted[rank - 1] / 1e3;
}

/* What one driver measured. `samples_ns` (may be NULL for closed loops with
 * many calls in flight, where per-call latency means little) is sorted here. */
typedef struct bench_result {
  const char* driver;   /* "cpp", "c", ... */
  const char* api;      /* the call measured, e.g. "Router::completion" */
  const char* mode;     /* "sequential" or "async" */
  int concurrency;      /* calls in flight */
  int calls;            /* measured calls */
  int warmup;           /* calls before the measurement */
  int errors;           /* failed measured calls */
  double wall_seconds;  /* of the measured loop */
  double cpu_seconds;   /* of the measured loop, whole process */
  int64_t* samples_ns;
} bench_result;

/* Prints the result as one JSON line on stdout. */
static void bench_report(const bench_result* r) {
  printf("{\"driver\":\"%s\",\"api\":\"%s\",\"mode\":\"%s\",\"concurrency\":%d,\"calls\":%d,\"warmup\":%d,"
         "\"errors\":%d,\"wall_s\":%.6f,\"rps\":%.2f,\"cpu_us_per_call\":%.3f,\"latency_us\":",
         r->driver, r->api, r->mode, r->concurrency, r->calls, r->warmup, r->errors, r->wall_seconds,
         r->wall_seconds > 0 ? r->calls / r->wall_seconds : 0.0, r->calls > 0 ? r->cpu_seconds * 1e6 / r->calls : 0.0);
  if (r->samples_ns == NULL || r->calls == 0) {
    printf("null}\n");
  } else {
    qsort(r->samples_ns, (size_t)r->calls, sizeof(int64_t), bench_compare_i64);
    double sum = 0;
    for (int i = 0; i < r->calls; ++i) sum += (double)r->samples_ns[i];
    printf("{\"p50\":%.3f,\"p99\":%.3f,\"mean\":%.3f,\"min\":%.3f,\"max\":%.3f}}\n",
           bench_percentile_us(r->samples_ns, r->calls, 0.50), bench_percentile_us(r->samples_ns, r->calls, 0.99),
           sum / r->calls / 1e3, (double)r->samples_ns[0] / 1e3, (double)r->samples_ns[r->calls - 1] / 1e3);
  }
  fflush(stdout);
}

#endif /* LLMUX_BENCH_DRIVER_COMMON_H_ */
