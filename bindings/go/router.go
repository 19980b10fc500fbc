package llmux

/*
#include <stdlib.h>
#include "bridge.h"

// The bridge never calls into Go, and the library copies the request before
// a start returns: the call id can stay on the caller's stack.
#cgo noescape llmuxgo_completion_async
#cgo noescape llmuxgo_completion_stream
#cgo noescape llmuxgo_embedding_async
#cgo nocallback llmuxgo_completion_async
#cgo nocallback llmuxgo_completion_stream
#cgo nocallback llmuxgo_embedding_async
#cgo noescape llmuxgo_waiter_start
#cgo nocallback llmuxgo_waiter_start
#cgo nocallback llmuxgo_waiter_wait
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Router routes chat completions and embeddings across the deployments of a
// LiteLLM-style config. It is safe for concurrent use. Close it when done:
// it owns an I/O thread and connections.
type Router struct {
	// mu guards c: calls into the library hold it shared, Close exclusively,
	// so the library's router is never used after it was freed. No lock is
	// held while waiting for a call's outcome.
	mu     sync.RWMutex
	c      *C.llmux_router
	closed atomic.Bool
	// observer is the C end of the OnEvent/Log callbacks; nil without them.
	observer *C.llmuxgo_observer
}

// NewRouter builds a router from LiteLLM config text (YAML or JSON):
// model_list, router_settings and the routing subset of litellm_settings.
// A wrong config is an *Error of KindInvalidConfig naming the key path.
// Config warnings go to the library's process-wide log (stderr by default);
// NewRouterWithOptions takes a Log of the router's own, and OnEvent.
func NewRouter(config string) (*Router, error) {
	return NewRouterWithOptions(config, RouterOptions{})
}

// NewRouterWithOptions is NewRouter with callbacks for the routing events and
// the library's log messages (see RouterOptions).
func NewRouterWithOptions(config string, options RouterOptions) (*Router, error) {
	if abi := int(C.llmux_abi_version()); abi != C.LLMUX_ABI_VERSION {
		return nil, fmt.Errorf("llmux: the loaded library has ABI version %d, this package needs %d", abi,
			C.LLMUX_ABI_VERSION)
	}
	if err := openEventQueue(); err != nil {
		return nil, err
	}
	if config == "" {
		return nil, &Error{Kind: KindInvalidConfig, Status: 400, Type: KindInvalidConfig.String(),
			Message: "the config text is empty"}
	}
	var router *C.llmux_router
	var cerr *C.llmux_error
	text := (*C.char)(unsafe.Pointer(unsafe.StringData(config)))
	if options.OnEvent == nil && options.Log == nil {
		copts := C.llmux_router_options{random_seed: C.uint64_t(options.RandomSeed)}
		copts.struct_size = C.size_t(unsafe.Sizeof(copts))
		status := C.llmux_router_new_with_options(text, C.size_t(len(config)), &copts, &router, &cerr)
		runtime.KeepAlive(config)
		if status != C.LLMUX_OK {
			return nil, takeError(status, cerr)
		}
		return &Router{c: router}, nil
	}
	obs := newObserver(options)
	handle := cgo.NewHandle(obs)
	var cobs *C.llmuxgo_observer
	status := C.llmuxgo_router_new(text, C.size_t(len(config)), C.uintptr_t(handle),
		cBool(options.OnEvent != nil), cBool(options.Log != nil), C.uint64_t(options.RandomSeed), &cobs, &router, &cerr)
	runtime.KeepAlive(config)
	if status != C.LLMUX_OK {
		handle.Delete()
		obs.push(observed{}, true) // ends its goroutine
		return nil, takeError(status, cerr)
	}
	// The config warnings, on this goroutine, before the router is returned.
	kept := C.llmuxgo_observer_created(cobs)
	for event := kept; event != nil; event = event.next {
		if options.Log != nil {
			options.Log(LogLevel(event.level), string(copyBytes(event.data, event.data_len)))
		}
	}
	C.llmuxgo_events_free(kept)
	return &Router{c: router, observer: cobs}, nil
}

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Close cancels the calls still in flight (they return a KindCancelled
// *Error whose cause is ErrClosed), stops the router's thread and frees it.
// Calls made afterwards return ErrClosed. Close is idempotent.
func (r *Router) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == nil {
		return nil
	}
	r.closed.Store(true)
	// Queues the outcomes of the calls in flight (cancelled); their callers
	// take them from the event queue, without this lock.
	C.llmux_router_free(r.c)
	r.c = nil
	if r.observer != nil {
		// After everything the router reported: its observer goroutine ends.
		C.llmuxgo_observer_closed(r.observer)
		r.observer = nil
	}
	return nil
}

// Completion sends a chat completion and waits for its outcome. When ctx is
// done first the call is cancelled: the error then is a KindCancelled *Error
// that also matches ctx.Err() with errors.Is.
func (r *Router) Completion(ctx context.Context, req *ChatCompletionRequest) (*ChatCompletionResponse, error) {
	if req == nil {
		return nil, invalidArgument("the request is nil")
	}
	// The request is encoded into a pooled buffer: the library copies it
	// before the call starts, so the buffer is free again once the call ended.
	buf := requestBuffers.Get().(*[]byte)
	body, ok := appendChatRequest((*buf)[:0], req)
	if ok {
		defer func() {
			*buf = body[:0]
			requestBuffers.Put(buf)
		}()
	} else {
		requestBuffers.Put(buf)
		var err error
		if body, err = req.marshalReflect(); err != nil {
			return nil, fmt.Errorf("llmux: encoding the request: %w", err)
		}
	}
	raw, err := r.CompletionRaw(ctx, body)
	if err != nil {
		return nil, err
	}
	resp, err := decodeChatResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("llmux: decoding the response: %w", err)
	}
	return resp, nil
}

// requestBuffers holds the buffers Completion encodes requests into.
var requestBuffers = sync.Pool{New: func() any { return new([]byte) }}

// CompletionRaw sends an OpenAI chat-completions body as is and returns the
// response JSON (the provider's body plus the "_llmux" metadata member).
func (r *Router) CompletionRaw(ctx context.Context, request []byte) ([]byte, error) {
	return r.call(ctx, callCompletion, request)
}

// Embedding computes embeddings, with Completion's context handling.
func (r *Router) Embedding(ctx context.Context, req *EmbeddingRequest) (*EmbeddingResponse, error) {
	if req == nil {
		return nil, invalidArgument("the request is nil")
	}
	body, err := req.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("llmux: encoding the request: %w", err)
	}
	raw, err := r.EmbeddingRaw(ctx, body)
	if err != nil {
		return nil, err
	}
	resp, err := decodeEmbeddingResponse(raw)
	if err != nil {
		return nil, fmt.Errorf("llmux: decoding the response: %w", err)
	}
	return resp, nil
}

// EmbeddingRaw sends an OpenAI embeddings body as is and returns the
// response JSON with its "_llmux" member.
func (r *Router) EmbeddingRaw(ctx context.Context, request []byte) ([]byte, error) {
	return r.call(ctx, callEmbedding, request)
}

// Health reports the deployments of a model group ("" = every group).
func (r *Router) Health(group string) ([]DeploymentHealth, error) {
	var health []DeploymentHealth
	err := r.query(&health, func(c *C.llmux_router, out **C.char, cerr **C.llmux_error) C.llmux_status {
		cgroup := C.CString(group)
		defer C.free(unsafe.Pointer(cgroup))
		return C.llmux_router_health(c, cgroup, out, cerr)
	})
	return health, err
}

// HealthReport is the active health checks' latest results for a model
// group ("" = every group), shaped like LiteLLM's /health answer. It sends
// nothing (see CheckHealth).
func (r *Router) HealthReport(group string) (*HealthReport, error) {
	report := &HealthReport{}
	err := r.query(report, func(c *C.llmux_router, out **C.char, cerr **C.llmux_error) C.llmux_status {
		cgroup := C.CString(group)
		defer C.free(unsafe.Pointer(cgroup))
		return C.llmux_router_health_report(c, cgroup, out, cerr)
	})
	if err != nil {
		return nil, err
	}
	return report, nil
}

// CheckHealth checks the deployments of a model group ("" = every group) now
// — a minimal request to each, outside routing — and returns the report once
// every check ended (each within its health_check_timeout, 60 s by default).
// The results count for routing like background ones. When ctx ends first,
// CheckHealth returns ctx.Err() at once; the checks still finish and count.
func (r *Router) CheckHealth(ctx context.Context, group string) (*HealthReport, error) {
	type outcome struct {
		report *HealthReport
		err    error
	}
	done := make(chan outcome, 1)
	go func() {
		report := &HealthReport{}
		err := r.query(report, func(c *C.llmux_router, out **C.char, cerr **C.llmux_error) C.llmux_status {
			cgroup := C.CString(group)
			defer C.free(unsafe.Pointer(cgroup))
			return C.llmux_router_check_health(c, cgroup, out, cerr)
		})
		if err != nil {
			report = nil
		}
		done <- outcome{report, err}
	}()
	select {
	case o := <-done:
		return o.report, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Deployments lists the router's deployments, secrets masked.
func (r *Router) Deployments() ([]Deployment, error) {
	var deployments []Deployment
	err := r.query(&deployments, func(c *C.llmux_router, out **C.char, cerr **C.llmux_error) C.llmux_status {
		return C.llmux_router_deployments(c, out, cerr)
	})
	return deployments, err
}

// Metrics is the router's metrics in the Prometheus text exposition format.
func (r *Router) Metrics() (string, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.c == nil {
		return "", ErrClosed
	}
	var text *C.char
	var cerr *C.llmux_error
	if status := C.llmux_router_metrics(r.c, &text, &cerr); status != C.LLMUX_OK {
		return "", takeError(status, cerr)
	}
	return takeString(text), nil
}

// AddDeployment adds one deployment: a model_list entry as YAML or JSON.
func (r *Router) AddDeployment(deployment string) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.c == nil {
		return ErrClosed
	}
	if deployment == "" {
		return invalidArgument("the deployment text is empty")
	}
	var cerr *C.llmux_error
	text := unsafe.StringData(deployment)
	status := C.llmux_router_add_deployment(r.c, (*C.char)(unsafe.Pointer(text)), C.size_t(len(deployment)), &cerr)
	runtime.KeepAlive(deployment)
	if status != C.LLMUX_OK {
		return takeError(status, cerr)
	}
	return nil
}

// RemoveDeployment removes a deployment by id; calls in flight to it finish
// normally.
func (r *Router) RemoveDeployment(id string) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.c == nil {
		return ErrClosed
	}
	cid := C.CString(id)
	defer C.free(unsafe.Pointer(cid))
	var cerr *C.llmux_error
	if status := C.llmux_router_remove_deployment(r.c, cid, &cerr); status != C.LLMUX_OK {
		return takeError(status, cerr)
	}
	return nil
}

// query runs a library function that returns JSON and decodes it into out.
func (r *Router) query(out any, fn func(*C.llmux_router, **C.char, **C.llmux_error) C.llmux_status) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.c == nil {
		return ErrClosed
	}
	var text *C.char
	var cerr *C.llmux_error
	if status := fn(r.c, &text, &cerr); status != C.LLMUX_OK {
		return takeError(status, cerr)
	}
	if err := json.Unmarshal([]byte(takeString(text)), out); err != nil {
		return fmt.Errorf("llmux: decoding the library's JSON: %w", err)
	}
	return nil
}

type callKind int

const (
	callCompletion callKind = iota
	callStream
	callEmbedding
	// callEndpoint + an Endpoint: llmux_call_async (endpoints.go).
	callEndpoint callKind = 100
)

// maxDirectWaits bounds the calls that wait for their outcome on their own
// thread (blocked in C, woken by the router's I/O thread directly): the
// quickest way back at low concurrency. The calls beyond it wait in Go for the
// event queue, which holds no thread per call however many are in flight.
const maxDirectWaits = 8

// directWaits counts the calls waiting on their own thread now.
var directWaits atomic.Int32

// call runs one call to its end.
func (r *Router) call(ctx context.Context, kind callKind, request []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if directWaits.Add(1) <= maxDirectWaits {
		defer directWaits.Add(-1)
		return r.callDirect(ctx, kind, request)
	}
	directWaits.Add(-1)
	call := newAsyncCall(false)
	id, err := r.start(kind, request, call)
	if err != nil {
		return nil, err
	}
	var outcome callOutcome
	var ctxErr error
	select {
	case outcome = <-call.done:
	case <-ctx.Done():
		ctxErr = ctx.Err()
		r.cancel(id)
		// The outcome always follows, promptly after a cancel.
		outcome = <-call.done
	}
	if outcome.status == C.LLMUX_OK {
		return outcome.body, nil
	}
	return nil, r.callError(outcome, ctxErr)
}

// idleWaiters keeps the C waiters between calls (at most maxDirectWaits are
// in use at once, so that many suffice): a call then costs two cgo calls,
// start and wait.
//
// Why the wait blocks in C rather than parking the goroutine on an eventfd
// that Go's network poller watches (tried, and measured in the same runs of
// the bindings benchmark, GOMAXPROCS=1): parking cut the context switches per
// call from about 8 to 5 (a cgo call blocked for more than sysmon's 20 us
// loses its P, and another thread is started to poll the network) but added
// about 5 us p50 at equal CPU: those switches happen while the call waits for
// the network anyway, whereas the poller's way back (a read that finds
// nothing, two epoll_pwait, a read) puts four system calls where a condition
// variable puts one futex wait.
var idleWaiters = make(chan *C.llmuxgo_waiter, maxDirectWaits)

func getWaiter() (*C.llmuxgo_waiter, error) {
	select {
	case w := <-idleWaiters:
		return w, nil
	default:
	}
	w := C.llmuxgo_waiter_new()
	if w == nil {
		return nil, refusedCall(KindOutOfMemory)
	}
	return w, nil
}

// putWaiter keeps w for the next call once its outcome was taken (the next
// llmuxgo_waiter_start frees the outcome's copies).
func putWaiter(w *C.llmuxgo_waiter) {
	select {
	case idleWaiters <- w:
	default:
		C.llmuxgo_waiter_free(w)
	}
}

// callDirect runs one call whose outcome this goroutine's thread waits for
// in C. A cancellable ctx cancels the call when it is done first; the outcome
// (cancelled) follows promptly.
func (r *Router) callDirect(ctx context.Context, kind callKind, request []byte) ([]byte, error) {
	w, err := getWaiter()
	if err != nil {
		return nil, err
	}
	id, err := r.startWaiter(kind, request, w)
	if err != nil {
		putWaiter(w)
		return nil, err
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { r.cancel(id) })
	}
	C.llmuxgo_waiter_wait(w)
	var ctxErr error
	if stop != nil && !stop() {
		ctxErr = ctx.Err()
	}
	outcome := outcomeOf(&w.outcome)
	putWaiter(w)
	if outcome.status == C.LLMUX_OK {
		return outcome.body, nil
	}
	return nil, r.callError(outcome, ctxErr)
}

// startWaiter is start for a call whose outcome goes to waiter.
func (r *Router) startWaiter(kind callKind, request []byte, waiter *C.llmuxgo_waiter) (uint64, error) {
	if len(request) == 0 {
		return 0, invalidArgument("the request body is empty")
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.c == nil {
		return 0, ErrClosed
	}
	what, endpoint := C.int(C.LLMUXGO_WAIT_COMPLETION), C.llmux_endpoint(0)
	switch {
	case kind == callEmbedding:
		what = C.LLMUXGO_WAIT_EMBEDDING
	case kind >= callEndpoint:
		what, endpoint = C.LLMUXGO_WAIT_ENDPOINT, C.llmux_endpoint(kind-callEndpoint)
	}
	ptr, n := cString(request)
	var id C.uint64_t
	status := C.llmuxgo_waiter_start(r.c, what, endpoint, ptr, n, waiter, &id)
	runtime.KeepAlive(request)
	if status != C.LLMUX_OK {
		return 0, refusedCall(Kind(status))
	}
	return uint64(id), nil
}

// start hands a request to the library; on success the call's outcome will
// be delivered exactly once, releasing the call's handle.
func (r *Router) start(kind callKind, request []byte, call *asyncCall) (uint64, error) {
	if len(request) == 0 {
		return 0, invalidArgument("the request body is empty")
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.c == nil {
		return 0, ErrClosed
	}
	handle := cgo.NewHandle(call)
	ptr, n := cString(request)
	var id C.uint64_t
	var status C.llmux_status
	switch kind {
	case callCompletion:
		status = C.llmuxgo_completion_async(r.c, ptr, n, C.uintptr_t(handle), &id)
	case callStream:
		status = C.llmuxgo_completion_stream(r.c, ptr, n, C.uintptr_t(handle), &id)
	case callEmbedding:
		status = C.llmuxgo_embedding_async(r.c, ptr, n, C.uintptr_t(handle), &id)
	default:
		endpoint := C.llmux_endpoint(kind - callEndpoint)
		status = C.llmuxgo_call_async(r.c, endpoint, ptr, n, C.uintptr_t(handle), &id)
	}
	runtime.KeepAlive(request)
	if status != C.LLMUX_OK {
		// The library refused the request before taking it: no event will come.
		handle.Delete()
		return 0, refusedCall(Kind(status))
	}
	return uint64(id), nil
}

// refusedCall is the error of a call the library would not start. Router,
// request and callbacks are never NULL here, so an invalid argument can only
// be text that is not UTF-8.
func refusedCall(kind Kind) *Error {
	if kind == KindInvalidArgument {
		return invalidArgument("the request is not valid UTF-8")
	}
	return &Error{Kind: kind, Type: kind.String(), Message: "the library could not start the call"}
}

// cancel asks the library to cancel a call; a call that already finished
// (or a closed router) makes it a no-op.
func (r *Router) cancel(id uint64) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.c != nil {
		C.llmux_cancel(r.c, C.uint64_t(id))
	}
}

// callError builds the error of a failed call; a cancellation carries its
// cause (the context's error, or ErrClosed when Close cancelled it).
func (r *Router) callError(outcome callOutcome, ctxErr error) *Error {
	e := newError(outcome)
	if e.Kind == KindCancelled {
		switch {
		case ctxErr != nil:
			e.cause = ctxErr
		case r.closed.Load():
			e.cause = ErrClosed
		}
	}
	return e
}
