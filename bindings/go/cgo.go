package llmux

/*
// pkg-config finds an installed llmux (llmux.pc) or, with PKG_CONFIG_PATH=<build-dir>,
// a build tree (llmux-uninstalled.pc): llmux.h, llmux_version.h and -lllmux come from either.
#cgo pkg-config: llmux
#include <string.h>
#include "bridge.h"
*/
import "C"

import (
	"bytes"
	"fmt"
	"os"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// callOutcome is the final result of an asynchronous call, copied into Go
// memory by the goroutine that delivers the bridge's events. Decoding
// happens later, on the caller's goroutine.
type callOutcome struct {
	status    C.llmux_status
	body      []byte // the response JSON when status is LLMUX_OK
	errType   string
	errMsg    string
	errStatus int
	errJSON   []byte
}

// asyncCall is what a call's cgo.Handle refers to while the call runs.
type asyncCall struct {
	// done receives exactly one outcome; its buffer of one keeps the
	// delivering goroutine from ever waiting for the caller.
	done chan callOutcome
	// chunks is set for streams only.
	chunks *chunkQueue
}

func newAsyncCall(stream bool) *asyncCall {
	call := &asyncCall{done: make(chan callOutcome, 1)}
	if stream {
		call.chunks = newChunkQueue()
	}
	return call
}

// eventQueue is the Go end of the bridge's event queue (bridge.h).
var eventQueue struct {
	once sync.Once
	err  error
}

// openEventQueue creates the bridge's pipe and starts the goroutine that
// delivers its events, once per process.
func openEventQueue() error {
	eventQueue.once.Do(func() {
		fd, err := C.llmuxgo_queue_open()
		if fd < 0 {
			eventQueue.err = fmt.Errorf("llmux: creating the pipe of the event queue: %w", err)
			return
		}
		// The read end is non-blocking: the os.File registers it with the network poller.
		go deliverEvents(os.NewFile(uintptr(fd), "llmux event queue"))
	})
	return eventQueue.err
}

// deliverEvents runs for the life of the process: woken through the pipe, it
// takes the queued events and hands each to its call. Both the wait and the
// hand-off stay inside the Go scheduler, so the caller waiting for the
// outcome runs as soon as it is delivered.
func deliverEvents(wake *os.File) {
	pipe, err := wake.SyscallConn()
	if err == nil {
		var drain [256]byte
		// The callback returns false to wait for the next wake-up: each one
		// costs a single read, which empties the pipe (the C side writes one
		// byte per empty-to-non-empty transition of the queue).
		err = pipe.Read(func(fd uintptr) bool {
			for {
				n, err := syscall.Read(int(fd), drain[:])
				if err != syscall.EINTR && n < len(drain) {
					break
				}
			}
			events := C.llmuxgo_queue_take()
			for event := events; event != nil; event = event.next {
				deliver(event)
			}
			C.llmuxgo_events_free(events)
			return false
		})
	}
	// The pipe is never closed: calls would wait forever.
	panic(fmt.Sprintf("llmux: waiting on the pipe of the event queue: %v", err))
}

// deliver copies one event into Go memory and hands it to its call.
func deliver(event *C.llmuxgo_event) {
	if event.about != C.LLMUXGO_FOR_CALL {
		deliverObserved(event)
		return
	}
	handle := cgo.Handle(event.call)
	call := handle.Value().(*asyncCall)
	if event.is_outcome == 0 {
		if !call.chunks.stopped.Load() {
			call.chunks.push(copyBytes(event.data, event.data_len))
		}
		return
	}
	// The outcome is a call's last event: the handle's last use.
	handle.Delete()
	call.done <- outcomeOf(event)
}

// outcomeOf copies a call's outcome event into Go memory.
func outcomeOf(event *C.llmuxgo_event) callOutcome {
	outcome := callOutcome{status: event.status}
	switch {
	case event.status == C.LLMUX_OK:
		outcome.body = copyBytes(event.data, event.data_len)
	case event.error_type != nil:
		outcome.errType = C.GoString(event.error_type)
		outcome.errMsg = C.GoString(event.error_message)
		outcome.errStatus = int(event.error_status)
		outcome.errJSON = copyBytes(event.data, event.data_len)
	default:
		outcome.errMsg = "out of memory while copying the call's outcome"
	}
	return outcome
}

// chunkQueue buffers stream chunks between the delivering goroutine and the
// consumer. It is unbounded on purpose: delivery must never wait for one
// slow consumer (every call of the process shares it), and a stream's chunks
// are bounded by the size of one response anyway.
type chunkQueue struct {
	mu    sync.Mutex
	items [][]byte
	// ready holds a token whenever items may be non-empty (capacity 1, so
	// the producer never blocks on it).
	ready chan struct{}
	// stopped is set when the consumer closed the stream (and cancelled the
	// call): chunks delivered after that are dropped.
	stopped atomic.Bool
}

func newChunkQueue() *chunkQueue { return &chunkQueue{ready: make(chan struct{}, 1)} }

func (q *chunkQueue) push(chunk []byte) {
	q.mu.Lock()
	q.items = append(q.items, chunk)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *chunkQueue) pop() ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil, false
	}
	chunk := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	return chunk, true
}

func (q *chunkQueue) discard() {
	q.mu.Lock()
	q.items = nil
	q.mu.Unlock()
}

// copyError copies the fields of an llmux_error (nil: nothing to copy).
func (o *callOutcome) copyError(cerr *C.llmux_error) {
	if cerr == nil {
		return
	}
	o.errType = C.GoString(C.llmux_error_type(cerr))
	o.errMsg = C.GoString(C.llmux_error_message(cerr))
	o.errStatus = int(C.llmux_error_status(cerr))
	detail := C.llmux_error_json(cerr)
	o.errJSON = copyBytes(detail, C.strlen(detail))
}

// copyBytes copies borrowed C memory into Go memory.
func copyBytes(p *C.char, n C.size_t) []byte {
	return bytes.Clone(unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n)))
}

// cString points C at Go memory holding no Go pointers, as cgo permits for
// the duration of a call; the library copies what it keeps.
func cString(b []byte) (*C.char, C.size_t) {
	return (*C.char)(unsafe.Pointer(unsafe.SliceData(b))), C.size_t(len(b))
}

// takeString copies a library-allocated string and frees it.
func takeString(s *C.char) string {
	if s == nil {
		return ""
	}
	defer C.llmux_free(unsafe.Pointer(s))
	return C.GoString(s)
}

// Version is the version of the loaded llmux library ("0.1.0").
func Version() string { return C.GoString(C.llmux_version()) }
