package llmux

/*
#cgo CFLAGS: -I${SRCDIR}/../../capi
#cgo LDFLAGS: -lllmux
#include <stdint.h>
#include <string.h>
#include "llmux.h"
*/
import "C"

import (
	"bytes"
	"runtime/cgo"
	"sync"
	"sync/atomic"
	"unsafe"
)

// callOutcome is the final result of an asynchronous call, copied out of the
// borrowed C memory inside the done callback. Decoding happens later, on the
// caller's goroutine, so the router's I/O thread only pays for the copies.
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
	// done receives exactly one outcome; its buffer of one keeps the done
	// callback from ever blocking the I/O thread.
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

// chunkQueue buffers stream chunks between the router's I/O thread and the
// consumer. It is unbounded on purpose: a chunk callback must never block the
// I/O thread (every call of the router shares it), and a stream's chunks are
// bounded by the size of one response anyway.
type chunkQueue struct {
	mu    sync.Mutex
	items [][]byte
	// ready holds a token whenever items may be non-empty (capacity 1, so
	// the producer never blocks on it).
	ready chan struct{}
	// stopped is set when the consumer closed the stream: the next chunk
	// callback tells the router to stop.
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

//export llmuxGoDone
func llmuxGoDone(handle C.uintptr_t, status C.llmux_status, response *C.char, length C.size_t, cerr *C.llmux_error) {
	h := cgo.Handle(handle)
	call := h.Value().(*asyncCall)
	// The done callback runs exactly once per started call: the handle's last use.
	h.Delete()
	outcome := callOutcome{status: status}
	if status == C.LLMUX_OK {
		outcome.body = copyBytes(response, length)
	} else {
		outcome.copyError(cerr)
	}
	call.done <- outcome
}

// copyError copies the fields of a borrowed llmux_error (nil: nothing to copy).
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

//export llmuxGoChunk
func llmuxGoChunk(handle C.uintptr_t, chunk *C.char, length C.size_t) C.int {
	queue := cgo.Handle(handle).Value().(*asyncCall).chunks
	if queue.stopped.Load() {
		return 0
	}
	queue.push(copyBytes(chunk, length))
	return 1
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
