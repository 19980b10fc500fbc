// Command llmux_bindings_go_driver is the Go row of the bindings benchmark
// (run by benchmarks/bindings/run_bindings.sh), one call at a time:
// CompletionRaw (the request bytes as they are), the typed Completion (the
// same request as a ChatCompletionRequest, encoded and the response decoded
// on every call), or raw-http, the floor in Go: a net/http keep-alive client
// POSTing the bytes llmux sends (--body) to the same server and reading the
// whole answer. It prints one JSON line with the figures every driver
// reports: nearest-rank p50/p99 of the per-call wall time, the mean, CPU
// time per call (getrusage over the measured loop, every thread of the
// process), requests per second, and the Go heap allocations per call.
//
//	llmux_bindings_go_driver --api=raw|typed --config=FILE --request=FILE [--calls=20000] [--warmup=2000]
//	                         [--cpuprofile=FILE]
//	llmux_bindings_go_driver --api=raw-http --url=http://127.0.0.1:P/v1 --api-key=KEY --body=FILE [...]
//
// --cpuprofile writes a pprof CPU profile of the measured loop (go tool
// pprof): it samples the Go threads only, not the library's I/O thread.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	llmux "github.com/llmux/llmux/bindings/go"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go driver: "+format+"\n", args...)
	os.Exit(1)
}

func cpuSeconds() float64 {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		fail("getrusage: %v", err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano()).Seconds()
}

// typedRequest decodes the request into the typed struct; top-level keys the
// struct has no field for (the router-only metadata and num_retries) go to
// Extra, so the typed call sends what the raw call sends.
func typedRequest(body []byte) *llmux.ChatCompletionRequest {
	var req llmux.ChatCompletionRequest
	if err := json.Unmarshal(body, &req); err != nil {
		fail("the request does not decode as a ChatCompletionRequest: %v", err)
	}
	encoded, err := json.Marshal(req)
	if err != nil {
		fail("encoding the typed request: %v", err)
	}
	var all, known map[string]json.RawMessage
	if json.Unmarshal(body, &all) != nil || json.Unmarshal(encoded, &known) != nil {
		fail("the request is not a JSON object")
	}
	for key, value := range all {
		if _, ok := known[key]; !ok {
			if req.Extra == nil {
				req.Extra = map[string]any{}
			}
			req.Extra[key] = value
		}
	}
	return &req
}

func percentileMicros(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return float64(sorted[rank-1].Nanoseconds()) / 1e3
}

func main() {
	api := flag.String("api", "raw", "raw (CompletionRaw), typed (Completion) or raw-http (net/http)")
	configPath := flag.String("config", "", "router config file (JSON or YAML)")
	requestPath := flag.String("request", "", "chat-completions request body file")
	url := flag.String("url", "", "raw-http: the API base (.../v1)")
	apiKey := flag.String("api-key", "", "raw-http: the bearer token")
	bodyPath := flag.String("body", "", "raw-http: the body to POST")
	calls := flag.Int("calls", 20000, "measured calls")
	warmup := flag.Int("warmup", 2000, "calls before the measurement")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured loop to this file")
	flag.Parse()

	if *api == "raw-http" {
		body, err := os.ReadFile(*bodyPath)
		if err != nil {
			fail("%v", err)
		}
		measure("net/http keep-alive", rawHTTP(*url, *apiKey, bytes.TrimSpace(body)), *calls, *warmup, *cpuProfile)
		return
	}
	config, err := os.ReadFile(*configPath)
	if err != nil {
		fail("%v", err)
	}
	body, err := os.ReadFile(*requestPath)
	if err != nil {
		fail("%v", err)
	}
	body = bytes.TrimSpace(body)
	router, err := llmux.NewRouter(string(config))
	if err != nil {
		fail("NewRouter: %v", err)
	}
	defer router.Close()

	ctx := context.Background()
	var call func() bool
	var apiName string
	switch *api {
	case "raw":
		apiName = "CompletionRaw"
		call = func() bool {
			resp, err := router.CompletionRaw(ctx, body)
			if err != nil {
				fmt.Fprintln(os.Stderr, "go driver:", err)
			}
			return err == nil && len(resp) > 0
		}
	case "typed":
		apiName = "Completion"
		req := typedRequest(body)
		call = func() bool {
			resp, err := router.Completion(ctx, req)
			if err != nil {
				fmt.Fprintln(os.Stderr, "go driver:", err)
			}
			return err == nil && len(resp.Choices) > 0
		}
	default:
		fail("--api must be raw, typed or raw-http, not %q", *api)
	}
	measure(apiName, call, *calls, *warmup, *cpuProfile)
}

// rawHTTP is one net/http client (keep-alive: the default transport keeps
// the connection) doing what any client must: send the request, read the
// whole answer.
func rawHTTP(base, apiKey string, body []byte) func() bool {
	target := strings.TrimSuffix(base, "/") + "/chat/completions"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
	var answer bytes.Buffer
	return func() bool {
		req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			fail("%v", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := client.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, "go driver:", err)
			return false
		}
		answer.Reset()
		_, err = io.Copy(&answer, resp.Body)
		resp.Body.Close()
		return err == nil && resp.StatusCode == http.StatusOK && answer.Len() > 0
	}
}

// measure runs the warm-up and the measured loop and prints the JSON line.
func measure(apiName string, call func() bool, calls, warmup int, cpuProfile string) {
	for i := 0; i < warmup; i++ {
		if !call() {
			fail("a warm-up call failed")
		}
	}
	samples := make([]time.Duration, calls)
	failures := 0
	if cpuProfile != "" {
		out, err := os.Create(cpuProfile)
		if err != nil {
			fail("%v", err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			fail("starting the CPU profile: %v", err)
		}
	}
	var mem0, mem1 runtime.MemStats
	runtime.ReadMemStats(&mem0)
	cpu0 := cpuSeconds()
	start := time.Now()
	for i := range samples {
		t0 := time.Now()
		if !call() {
			failures++
		}
		samples[i] = time.Since(t0)
	}
	wall := time.Since(start).Seconds()
	cpu := cpuSeconds() - cpu0
	runtime.ReadMemStats(&mem1)
	pprof.StopCPUProfile() // flushes the profile; a no-op without --cpuprofile

	slices.Sort(samples)
	var sum time.Duration
	for _, s := range samples {
		sum += s
	}
	result := map[string]any{
		"driver": "go", "api": apiName, "mode": "sequential", "concurrency": 1,
		"calls": calls, "warmup": warmup, "errors": failures, "wall_s": wall,
		"rps": float64(calls) / wall, "cpu_us_per_call": cpu * 1e6 / float64(max(calls, 1)),
		"latency_us": nil,
		// Go heap allocations per call (runtime.MemStats): deterministic, unlike the timings.
		"go_allocs_per_call":      float64(mem1.Mallocs-mem0.Mallocs) / float64(max(calls, 1)),
		"go_alloc_bytes_per_call": float64(mem1.TotalAlloc-mem0.TotalAlloc) / float64(max(calls, 1)),
	}
	if calls > 0 {
		result["latency_us"] = map[string]float64{
			"p50":  percentileMicros(samples, 0.50),
			"p99":  percentileMicros(samples, 0.99),
			"mean": float64(sum.Nanoseconds()) / float64(calls) / 1e3,
			"min":  float64(samples[0].Nanoseconds()) / 1e3,
			"max":  float64(samples[len(samples)-1].Nanoseconds()) / 1e3,
		}
	}
	line, _ := json.Marshal(result)
	fmt.Println(string(line))
	if failures > 0 {
		os.Exit(1)
	}
}
