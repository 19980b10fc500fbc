package llmux

/*
#include "llmux.h"
*/
import "C"

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"runtime"
)

// Stream is a streaming chat completion in progress. Read it with Next and
// Chunk (or range over Chunks), then check Err; Close cancels it early.
// A Stream is for one goroutine; cancel its context to stop it from another.
//
// Chunks are buffered without limit between the router's I/O thread and the
// reader, so a slow reader never stalls the router's other calls; a stream
// holds at most one response's chunks.
type Stream struct {
	router *Router
	ctx    context.Context
	id     uint64
	call   *asyncCall

	chunk    *ChatCompletionChunk
	raw      []byte
	outcome  *callOutcome // set once the outcome was delivered
	err      error
	metadata *Metadata
	ended    bool // Next returns false from now on
}

// Stream starts a streaming chat completion ("stream": true is implied).
// A failure before the first chunk is retried and failed over invisibly; one
// after it ends the stream with an error (KindMidStream), never silently.
func (r *Router) Stream(ctx context.Context, req *ChatCompletionRequest) (*Stream, error) {
	if req == nil {
		return nil, invalidArgument("the request is nil")
	}
	body, err := req.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("llmux: encoding the request: %w", err)
	}
	return r.StreamRaw(ctx, body)
}

// StreamRaw starts a streaming chat completion from an OpenAI body as is.
func (r *Router) StreamRaw(ctx context.Context, request []byte) (*Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	call := newAsyncCall(true)
	id, err := r.start(callStream, request, call)
	if err != nil {
		return nil, err
	}
	s := &Stream{router: r, ctx: ctx, id: id, call: call}
	// A Stream dropped unread must not keep its call (and chunks) alive.
	runtime.AddCleanup(s, func(abandoned streamCall) { abandoned.stop() }, streamCall{r, id, call.chunks})
	return s, nil
}

// streamCall is what the cleanup of an abandoned Stream needs (not the Stream).
type streamCall struct {
	router *Router
	id     uint64
	chunks *chunkQueue
}

func (c streamCall) stop() {
	c.chunks.stopped.Store(true)
	c.router.cancel(c.id)
}

// Next waits for the next chunk and reports whether there is one. It returns
// false at the end of the stream, on failure (see Err), after Close, and
// when the context is done.
func (s *Stream) Next() bool {
	if s.ended {
		return false
	}
	ctxDone := s.ctx.Done()
	for {
		if data, ok := s.call.chunks.pop(); ok {
			chunk, err := decodeChunk(data)
			if err != nil {
				s.stop(fmt.Errorf("llmux: decoding a stream chunk: %w", err))
				return false
			}
			s.chunk, s.raw = chunk, data
			return true
		}
		if s.outcome != nil {
			s.finish(nil)
			return false
		}
		select {
		case <-s.call.chunks.ready:
		case o := <-s.call.done:
			// Chunks delivered before the outcome may still be queued: drain them first.
			s.outcome = &o
		case <-ctxDone:
			ctxDone = nil
			s.router.cancel(s.id)
			o := <-s.call.done
			s.outcome = &o
			if o.status != C.LLMUX_OK {
				s.call.chunks.discard()
				s.finish(s.ctx.Err())
				return false
			}
		}
	}
}

// Chunk is the chunk Next found.
func (s *Stream) Chunk() *ChatCompletionChunk { return s.chunk }

// Raw is the JSON of the chunk Next found.
func (s *Stream) Raw() []byte { return s.raw }

// Err is the error that ended the stream; nil after a clean end or Close.
func (s *Stream) Err() error { return s.err }

// Metadata is the router metadata of the ended stream (deployment, attempts,
// usage, time to first token ...); nil while it runs.
func (s *Stream) Metadata() *Metadata { return s.metadata }

// Close stops the stream: a stream still running is cancelled, and Close
// waits for the library to let go of it. Close is idempotent and returns nil.
func (s *Stream) Close() error {
	if !s.ended {
		s.stop(nil)
	}
	return nil
}

// Chunks ranges over the chunks; the error, if any, comes last with a nil
// chunk. Breaking out of the loop closes (cancels) the stream.
func (s *Stream) Chunks() iter.Seq2[*ChatCompletionChunk, error] {
	return func(yield func(*ChatCompletionChunk, error) bool) {
		defer s.Close()
		for s.Next() {
			if !yield(s.Chunk(), nil) {
				return
			}
		}
		if err := s.Err(); err != nil {
			yield(nil, err)
		}
	}
}

// stop ends the stream early with err (nil: the reader closed it),
// cancelling the call if it still runs.
func (s *Stream) stop(err error) {
	if s.outcome == nil {
		s.call.chunks.stopped.Store(true)
		s.router.cancel(s.id)
		o := <-s.call.done
		s.outcome = &o
	}
	s.call.chunks.discard()
	s.ended = true
	s.chunk, s.raw = nil, nil
	s.err = err
	s.setMetadata()
}

// finish ends the stream with its outcome; ctxErr is the context's error
// when the context cancelled it.
func (s *Stream) finish(ctxErr error) {
	s.ended = true
	s.chunk, s.raw = nil, nil
	if s.outcome.status != C.LLMUX_OK {
		s.err = s.router.callError(*s.outcome, ctxErr)
	}
	s.setMetadata()
}

func (s *Stream) setMetadata() {
	if s.outcome.status != C.LLMUX_OK {
		s.metadata = &newError(*s.outcome).Metadata
		return
	}
	var final struct {
		Metadata Metadata `json:"_llmux"`
	}
	if err := json.Unmarshal(s.outcome.body, &final); err != nil {
		s.err = fmt.Errorf("llmux: decoding the stream's metadata: %w", err)
		return
	}
	s.metadata = &final.Metadata
}
