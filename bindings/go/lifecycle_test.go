package llmux_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	llmux "github.com/llmux/llmux/bindings/go"
)

func TestConcurrentCalls(t *testing.T) {
	router := newTestRouter(t)
	const goroutines, callsEach = 200, 5
	errs := make(chan error, goroutines*callsEach)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range callsEach {
				var content string
				var err error
				switch (g + i) % 3 {
				case 0:
					var resp *llmux.ChatCompletionResponse
					resp, err = router.Completion(context.Background(), &llmux.ChatCompletionRequest{
						Model: "gpt", Messages: userMessage(fmt.Sprintf("call %d.%d", g, i)),
					})
					if err == nil {
						content = resp.Choices[0].Message.Content
					}
				case 1:
					var stream *llmux.Stream
					stream, err = router.Stream(context.Background(), &llmux.ChatCompletionRequest{
						Model: "gpt", Messages: userMessage("stream"),
					})
					if err == nil {
						for stream.Next() {
							content += stream.Chunk().Choices[0].Delta.Content
						}
						err = stream.Err()
						stream.Close()
					}
				case 2:
					var resp *llmux.EmbeddingResponse
					resp, err = router.Embedding(context.Background(), &llmux.EmbeddingRequest{Model: "embed", Input: "x"})
					if err == nil && len(resp.Data) == 1 && len(resp.Data[0].Embedding) == 4 {
						content = "Hello from ok-gpt."
					}
				}
				if err == nil && content != "Hello from ok-gpt." {
					err = fmt.Errorf("call %d.%d: unexpected answer %q", g, i, content)
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	failures := 0
	for err := range errs {
		if failures++; failures <= 5 {
			t.Error(err)
		}
	}
	if failures > 0 {
		t.Errorf("%d of %d calls failed", failures, goroutines*callsEach)
	}
}

// Close cancels the calls in flight; they end with a cancellation error whose
// cause is ErrClosed, and the router refuses calls afterwards.
func TestCloseWithCallsInFlight(t *testing.T) {
	router, err := llmux.NewRouter(testConfig)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	const calls = 6
	errs := make(chan error, calls)
	hang := &llmux.ChatCompletionRequest{Model: "hang", Messages: userMessage("hi")}
	for i := range calls {
		go func() {
			switch i % 3 {
			case 0:
				_, err := router.Completion(context.Background(), hang)
				errs <- err
			case 1:
				_, err := router.Embedding(context.Background(), &llmux.EmbeddingRequest{Model: "hang", Input: "x"})
				errs <- err
			case 2:
				stream, err := router.Stream(context.Background(), hang)
				if err == nil {
					for stream.Next() {
					}
					err = stream.Err()
				}
				errs <- err
			}
		}()
	}
	waitInFlight(t, router, "hang", calls)

	if err := router.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range calls {
		err := <-errs
		var e *llmux.Error
		if !errors.As(err, &e) || e.Kind != llmux.KindCancelled || !errors.Is(err, llmux.ErrClosed) {
			t.Errorf("call in flight at Close: err = %v, want a CancelledError caused by ErrClosed", err)
		}
	}
	if err := router.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := router.Completion(context.Background(), hang); !errors.Is(err, llmux.ErrClosed) {
		t.Errorf("Completion after Close: err = %v, want ErrClosed", err)
	}
	if _, err := router.Stream(context.Background(), hang); !errors.Is(err, llmux.ErrClosed) {
		t.Errorf("Stream after Close: err = %v, want ErrClosed", err)
	}
	if _, err := router.Health(""); !errors.Is(err, llmux.ErrClosed) {
		t.Errorf("Health after Close: err = %v, want ErrClosed", err)
	}
	if _, err := router.Metrics(); !errors.Is(err, llmux.ErrClosed) {
		t.Errorf("Metrics after Close: err = %v, want ErrClosed", err)
	}
	if err := router.AddDeployment(deploymentYAML("late", "ok-late", "late-1")); !errors.Is(err, llmux.ErrClosed) {
		t.Errorf("AddDeployment after Close: err = %v, want ErrClosed", err)
	}
}

// Close racing with calls being started and cancelled never crashes: every
// call either completes or fails with an error value.
func TestCloseRacingCalls(t *testing.T) {
	router, err := llmux.NewRouter(testConfig)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			if i%2 == 0 {
				cancel()
			}
			defer cancel()
			resp, err := router.Completion(ctx, &llmux.ChatCompletionRequest{Model: "gpt", Messages: userMessage("hi")})
			if (resp == nil) == (err == nil) {
				t.Errorf("Completion returned response %v and error %v", resp, err)
			}
		}()
	}
	router.Close()
	wg.Wait()
}

// More calls in flight than wait on their own thread (router.go's
// maxDirectWaits): the rest wait on the event queue. Either way a cancelled
// context ends its call with a cancellation caused by the context, and Close
// ends the others with one caused by ErrClosed.
func TestManyCallsInFlightCancelledAndClosed(t *testing.T) {
	router, err := llmux.NewRouter(testConfig)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	const calls = 24
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		cancellable bool
		err         error
	}
	results := make(chan result, calls)
	hang := &llmux.ChatCompletionRequest{Model: "hang", Messages: userMessage("hi")}
	for i := range calls {
		go func() {
			callCtx := context.Background()
			if i%2 == 0 {
				callCtx = ctx
			}
			var err error
			if i%4 < 2 {
				_, err = router.Completion(callCtx, hang)
			} else {
				_, err = router.Embedding(callCtx, &llmux.EmbeddingRequest{Model: "hang", Input: "x"})
			}
			results <- result{i%2 == 0, err}
		}()
	}
	waitInFlight(t, router, "hang", calls)
	// Both ways of waiting are in use: as many calls as may wait on their thread, the rest on the event queue.
	if got := llmux.DirectWaits(); got != llmux.MaxDirectWaits || calls <= llmux.MaxDirectWaits {
		t.Errorf("%d calls wait on their own thread, want %d of %d", got, llmux.MaxDirectWaits, calls)
	}
	cancel()
	for range calls / 2 {
		r := <-results
		var e *llmux.Error
		if !r.cancellable || !errors.As(r.err, &e) || e.Kind != llmux.KindCancelled || !errors.Is(r.err, context.Canceled) {
			t.Errorf("cancelled call: cancellable=%v err=%v, want a CancelledError caused by context.Canceled",
				r.cancellable, r.err)
		}
	}
	waitInFlight(t, router, "hang", calls/2)
	if err := router.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range calls / 2 {
		r := <-results
		var e *llmux.Error
		if r.cancellable || !errors.As(r.err, &e) || e.Kind != llmux.KindCancelled || !errors.Is(r.err, llmux.ErrClosed) {
			t.Errorf("call in flight at Close: cancellable=%v err=%v, want a CancelledError caused by ErrClosed",
				r.cancellable, r.err)
		}
	}
}
