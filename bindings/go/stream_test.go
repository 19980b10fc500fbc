package llmux_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	llmux "github.com/llmux/llmux/bindings/go"
)

func TestStream(t *testing.T) {
	router := newTestRouter(t)
	stream, err := router.Stream(context.Background(), &llmux.ChatCompletionRequest{Model: "gpt", Messages: userMessage("hi")})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer stream.Close()
	var content strings.Builder
	chunks := 0
	for stream.Next() {
		chunks++
		chunk := stream.Chunk()
		if len(stream.Raw()) == 0 || chunk.Object != "chat.completion.chunk" {
			t.Errorf("chunk %d: object %q, raw %q", chunks, chunk.Object, stream.Raw())
		}
		for _, choice := range chunk.Choices {
			content.WriteString(choice.Delta.Content)
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("Err: %v", err)
	}
	if content.String() != "Hello from ok-gpt." || chunks < 2 {
		t.Errorf("content %q in %d chunks, want \"Hello from ok-gpt.\" in several", content.String(), chunks)
	}
	m := stream.Metadata()
	if m == nil {
		t.Fatal("Metadata() = nil after the end of the stream")
	}
	if m.DeploymentID != "gpt-1" || m.ModelGroup != "gpt" || m.Attempts != 1 || m.TimeToFirstToken <= 0 {
		t.Errorf("metadata = %+v, want gpt-1 in group gpt after 1 attempt, with a time to first token", m)
	}
	if stream.Next() {
		t.Error("Next() after the end = true")
	}
}

func TestStreamIncludeUsage(t *testing.T) {
	router := newTestRouter(t)
	stream, err := router.Stream(context.Background(), &llmux.ChatCompletionRequest{
		Model: "gpt", Messages: userMessage("hi"), StreamOptions: &llmux.StreamOptions{IncludeUsage: true},
	})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	var last *llmux.ChatCompletionChunk
	var content strings.Builder
	for chunk, err := range stream.Chunks() {
		if err != nil {
			t.Fatalf("stream error: %v", err)
		}
		for _, choice := range chunk.Choices {
			content.WriteString(choice.Delta.Content)
		}
		last = chunk
	}
	if content.String() != "Hello from ok-gpt." {
		t.Errorf("content = %q, want \"Hello from ok-gpt.\"", content.String())
	}
	if last == nil || last.Usage == nil || last.Usage.CompletionTokens <= 0 {
		t.Fatalf("last chunk = %+v, want one carrying usage", last)
	}
	m := stream.Metadata()
	if m == nil || m.Usage.CompletionTokens != last.Usage.CompletionTokens || !m.UsageReported {
		t.Errorf("metadata = %+v, want the usage of the last chunk %+v", m, last.Usage)
	}
}

func TestStreamRaw(t *testing.T) {
	router := newTestRouter(t)
	stream, err := router.StreamRaw(context.Background(),
		[]byte(`{"model":"gpt","messages":[{"role":"user","content":"hi"}],"stream":true}`))
	if err != nil {
		t.Fatalf("StreamRaw: %v", err)
	}
	defer stream.Close()
	var content strings.Builder
	for stream.Next() {
		content.WriteString(stream.Chunk().Choices[0].Delta.Content)
	}
	if stream.Err() != nil || content.String() != "Hello from ok-gpt." {
		t.Errorf("content %q, err %v: want \"Hello from ok-gpt.\"", content.String(), stream.Err())
	}
}

// Breaking out of the range loop closes the stream; the router goes on.
func TestStreamEarlyBreak(t *testing.T) {
	router := newTestRouter(t)
	stream, err := router.Stream(context.Background(), &llmux.ChatCompletionRequest{Model: "gpt", Messages: userMessage("hi")})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	seen := 0
	for _, err := range stream.Chunks() {
		if err != nil {
			t.Fatalf("stream error: %v", err)
		}
		seen++
		break
	}
	if seen != 1 {
		t.Fatalf("saw %d chunks, want 1", seen)
	}
	if stream.Next() || stream.Chunk() != nil {
		t.Error("the stream yields chunks after the loop was left")
	}
	if stream.Err() != nil || stream.Metadata() == nil {
		t.Errorf("after an early break: Err %v, Metadata %v; want nil error and the metadata", stream.Err(),
			stream.Metadata())
	}
	waitInFlight(t, router, "gpt", 0)
	if _, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "gpt", Messages: userMessage("again")}); err != nil {
		t.Errorf("Completion after the early break: %v", err)
	}
}

// Close on a stream that has not produced anything cancels the call: the
// fake deployment never answers, so only a cancellation lets Close return.
func TestStreamCloseCancels(t *testing.T) {
	router := newTestRouter(t)
	stream, err := router.Stream(context.Background(), &llmux.ChatCompletionRequest{Model: "hang", Messages: userMessage("hi")})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	waitInFlight(t, router, "hang", 1)
	if err := stream.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if stream.Next() || stream.Err() != nil {
		t.Errorf("after Close: Next true or Err %v", stream.Err())
	}
	if m := stream.Metadata(); m == nil || m.RequestedModel != "hang" {
		t.Errorf("Metadata() after Close = %+v, want the call's metadata", m)
	}
	if err := stream.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	waitInFlight(t, router, "hang", 0)
}

func TestStreamContextCancel(t *testing.T) {
	router := newTestRouter(t)
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := router.Stream(ctx, &llmux.ChatCompletionRequest{Model: "hang", Messages: userMessage("hi")})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer stream.Close()
	go func() {
		// Cancel while Next waits, once the call is in flight.
		for n, err := inFlight(router, "hang"); err == nil && n == 0; n, err = inFlight(router, "hang") {
			time.Sleep(2 * time.Millisecond)
		}
		cancel()
	}()
	if stream.Next() {
		t.Fatal("Next() = true on a deployment that never answers")
	}
	err = stream.Err()
	if !errors.Is(err, context.Canceled) || !errors.Is(err, llmux.ErrCancelled) {
		t.Fatalf("Err() = %v, want context.Canceled and KindCancelled", err)
	}
}

func TestStreamErrorBeforeFirstChunk(t *testing.T) {
	router := newTestRouter(t)
	stream, err := router.Stream(context.Background(), &llmux.ChatCompletionRequest{Model: "denied", Messages: userMessage("hi")})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer stream.Close()
	if stream.Next() {
		t.Fatal("Next() = true on a deployment that answers 401")
	}
	var llmuxErr *llmux.Error
	if !errors.As(stream.Err(), &llmuxErr) || llmuxErr.Kind != llmux.KindAuthentication || llmuxErr.Status != 401 {
		t.Fatalf("Err() = %v, want an AuthenticationError (401)", stream.Err())
	}
	if m := stream.Metadata(); m == nil || m.DeploymentID != "denied-1" {
		t.Errorf("Metadata() = %+v, want the failed deployment denied-1", m)
	}
}
