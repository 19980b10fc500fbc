// Package llmux routes OpenAI-style chat completions and embeddings across
// the deployments of a LiteLLM-style config — load balancing, retries,
// fallbacks, cooldowns, rate limits and streaming failover — in process,
// through the llmux C library (cgo over capi/llmux.h).
//
// # Using it
//
// Build a Router from config text (YAML or JSON, as LiteLLM's config.yaml),
// call it from any number of goroutines, and Close it when done:
//
//	router, err := llmux.NewRouter(configYAML)
//	if err != nil { ... }
//	defer router.Close()
//	resp, err := router.Completion(ctx, &llmux.ChatCompletionRequest{
//		Model:    "gpt-4o",
//		Messages: []llmux.Message{{Role: "user", Content: "Hello"}},
//	})
//
// Every response carries Metadata: the deployment and model group that
// served, attempts, retries, fallbacks, latency, time to first token, cost.
// Router-only request keys (num_retries, fallbacks, timeout, metadata,
// mock_response, ...) go in the request's Extra map. CompletionRaw and
// EmbeddingRaw take and return JSON bytes as they are.
//
// Streams: Router.Stream returns a *Stream; read it with Next/Chunk/Err or
// range over Stream.Chunks. Breaking out of the loop or calling Close cancels
// the call. Chunks are buffered without limit so that a slow reader never
// stalls the router's I/O thread.
//
// Waiting: the library's callbacks stay in C. A synchronous call waits on its
// own thread, blocked in C until the router's I/O thread signals its outcome,
// while at most 8 calls of the process wait that way (the quickest return at
// low concurrency); the calls beyond those, and streams, hold no OS thread:
// the callbacks queue each result and, through a pipe that Go's network
// poller watches, wake the one goroutine (per process) that hands results to
// their callers.
//
// Cancellation: when a call's context is done, the call is cancelled in the
// library and returns an *Error of KindCancelled that also matches ctx.Err()
// with errors.Is. Close cancels the calls still in flight (their errors match
// ErrClosed).
//
// Errors are values: every failure is an *Error (errors.As) with a Kind
// mirroring llmux_status, LiteLLM's type name and HTTP status, RetryAfter and
// the call's Metadata; errors.Is(err, llmux.ErrRateLimit) matches on the kind.
//
// # Finding the library
//
// The package asks pkg-config for llmux (#cgo pkg-config: llmux), so an
// installed llmux (its llmux.pc) needs no cgo flags:
//
//	go get github.com/llmux/llmux/bindings/go
//	PKG_CONFIG_PATH=<prefix>/lib/pkgconfig go build   # for a prefix pkg-config does not search
//
// A build tree of llmux holds llmux-uninstalled.pc, which pkg-config prefers
// there; its flags carry an rpath to the tree's library:
//
//	PKG_CONFIG_PATH=$BUILD go test ./...
package llmux
