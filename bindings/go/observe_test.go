package llmux_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	llmux "github.com/llmux/llmux/bindings/go"
)

// eventLog collects what a router's OnEvent and Log receive.
type eventLog struct {
	mu     sync.Mutex
	events []llmux.Event
	logs   []string
	levels []llmux.LogLevel
	seen   chan struct{}
}

func newEventLog() *eventLog { return &eventLog{seen: make(chan struct{}, 1024)} }

func (l *eventLog) onEvent(ev llmux.Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	l.seen <- struct{}{}
}

func (l *eventLog) log(level llmux.LogLevel, message string) {
	l.mu.Lock()
	l.logs = append(l.logs, message)
	l.levels = append(l.levels, level)
	l.mu.Unlock()
}

// waitFor waits until an event of the type for the call has arrived (a hang
// guard, not a timing check) and returns every event of that call.
func (l *eventLog) waitFor(t *testing.T, typ llmux.EventType, callID uint64) []llmux.Event {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		l.mu.Lock()
		var ofCall []llmux.Event
		found := false
		for _, ev := range l.events {
			if ev.CallID == callID {
				ofCall = append(ofCall, ev)
				found = found || ev.Type == typ
			}
		}
		l.mu.Unlock()
		if found {
			return ofCall
		}
		select {
		case <-l.seen:
		case <-deadline:
			t.Fatalf("no %s event for call %d", typ, callID)
		}
	}
}

func types(events []llmux.Event) []llmux.EventType {
	var out []llmux.EventType
	for _, ev := range events {
		out = append(out, ev.Type)
	}
	return out
}

func newObservedRouter(t *testing.T, config string, log *eventLog) *llmux.Router {
	t.Helper()
	router, err := llmux.NewRouterWithOptions(config, llmux.RouterOptions{OnEvent: log.onEvent, Log: log.log,
		RandomSeed: 5})
	if err != nil {
		t.Fatalf("NewRouterWithOptions: %v", err)
	}
	t.Cleanup(func() { router.Close() })
	return router
}

func TestLogReceivesConfigWarningsBeforeTheRouterIsReturned(t *testing.T) {
	log := newEventLog()
	newObservedRouter(t, "model_list:\n"+deployment("gpt", "ok-gpt", "gpt-1")+
		"general_settings:\n  master_key: sk-master\n", log)
	// No waiting: the warning was delivered on this goroutine.
	log.mu.Lock()
	defer log.mu.Unlock()
	i := slices.IndexFunc(log.logs, func(m string) bool { return strings.Contains(m, "general_settings") })
	if i < 0 {
		t.Fatalf("logs = %q, want the general_settings warning", log.logs)
	}
	if log.levels[i] != llmux.LogWarn || log.levels[i].String() != "warning" {
		t.Errorf("level = %v, want LogWarn", log.levels[i])
	}
}

func TestOnEventSuccess(t *testing.T) {
	log := newEventLog()
	router := newObservedRouter(t, "model_list:\n"+deployment("gpt", "ok-gpt", "gpt-1"), log)
	resp, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "gpt",
		Messages: userMessage("hi")})
	if err != nil {
		t.Fatalf("Completion: %v", err)
	}
	events := log.waitFor(t, llmux.EventSuccess, resp.Metadata.CallID)
	if got := types(events); !slices.Equal(got, []llmux.EventType{llmux.EventSuccess}) {
		t.Fatalf("events = %v, want [success]", got)
	}
	ev := events[0]
	if ev.ModelGroup != "gpt" || ev.DeploymentID != "gpt-1" || ev.Err != nil {
		t.Errorf("event = %+v, want group gpt, deployment gpt-1, no error", ev)
	}
	if ev.Metadata == nil || ev.Metadata.Attempts != 1 || ev.Metadata.DeploymentID != "gpt-1" {
		t.Errorf("metadata = %+v, want one attempt on gpt-1", ev.Metadata)
	}
	if ev.Usage == nil || ev.Usage.TotalTokens != resp.Usage.TotalTokens || ev.Usage.TotalTokens == 0 {
		t.Errorf("usage = %+v, want the response's %+v", ev.Usage, resp.Usage)
	}
	if ev.ResponseCost != resp.Metadata.ResponseCost || len(ev.Raw) == 0 {
		t.Errorf("cost %v (response %v), raw %q", ev.ResponseCost, resp.Metadata.ResponseCost, ev.Raw)
	}
}

func TestOnEventFallbackAndFailure(t *testing.T) {
	log := newEventLog()
	router := newObservedRouter(t, "model_list:\n"+deployment("broken", "status-500", "broken-1")+
		deployment("gpt", "ok-gpt", "gpt-1")+deployment("bad", "status-400", "bad-1")+
		"router_settings:\n  num_retries: 0\n  fallbacks: [{broken: [gpt]}]\n", log)
	resp, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "broken",
		Messages: userMessage("hi")})
	if err != nil {
		t.Fatalf("Completion: %v", err)
	}
	events := log.waitFor(t, llmux.EventSuccess, resp.Metadata.CallID)
	i := slices.IndexFunc(events, func(ev llmux.Event) bool { return ev.Type == llmux.EventFallback })
	if i < 0 {
		t.Fatalf("events = %v, want a fallback", types(events))
	}
	fb := events[i]
	if fb.ModelGroup != "broken" || fb.FallbackGroup != "gpt" || fb.Err == nil || fb.Err.Kind != llmux.KindInternalServer {
		t.Errorf("fallback = %+v (error %v), want broken -> gpt after an InternalServerError", fb, fb.Err)
	}
	if last := events[len(events)-1]; last.Type != llmux.EventSuccess || last.Metadata.Fallbacks != 1 {
		t.Errorf("last event = %+v, want the success after one fallback", last)
	}

	_, err = router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "bad",
		Messages: userMessage("hi")})
	var lerr *llmux.Error
	if !errors.As(err, &lerr) {
		t.Fatalf("err = %v, want an *llmux.Error", err)
	}
	events = log.waitFor(t, llmux.EventFailure, lerr.Metadata.CallID)
	failure := events[len(events)-1]
	if failure.Err == nil || !errors.Is(failure.Err, llmux.KindBadRequest) || failure.Err.Status != 400 {
		t.Errorf("failure error = %v, want a 400 BadRequestError", failure.Err)
	}
	if failure.DeploymentID != "bad-1" || failure.Metadata == nil || failure.Metadata.Attempts != 1 ||
		failure.Usage != nil {
		t.Errorf("failure = %+v, want deployment bad-1, one attempt, no usage", failure)
	}
}

func TestRouterWithoutCallbacksStillTakesASeed(t *testing.T) {
	router, err := llmux.NewRouterWithOptions("model_list:\n"+deployment("gpt", "ok-gpt", "gpt-1"),
		llmux.RouterOptions{RandomSeed: 9})
	if err != nil {
		t.Fatalf("NewRouterWithOptions: %v", err)
	}
	defer router.Close()
	if _, err := router.CompletionRaw(context.Background(),
		[]byte(`{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`)); err != nil {
		t.Fatalf("CompletionRaw: %v", err)
	}
}

func TestObservedRouterConfigErrorAndClose(t *testing.T) {
	log := newEventLog()
	_, err := llmux.NewRouterWithOptions("model_list: 3\n", llmux.RouterOptions{OnEvent: log.onEvent, Log: log.log})
	if !errors.Is(err, llmux.KindInvalidConfig) {
		t.Fatalf("err = %v, want KindInvalidConfig", err)
	}
	// Closing a router with callbacks twice, with a call in flight, is fine.
	router, err := llmux.NewRouterWithOptions("model_list:\n"+deployment("hang", "hang-1", "hang-1"),
		llmux.RouterOptions{OnEvent: log.onEvent})
	if err != nil {
		t.Fatalf("NewRouterWithOptions: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := router.CompletionRaw(context.Background(),
			[]byte(`{"model":"hang","messages":[{"role":"user","content":"hi"}]}`))
		done <- err
	}()
	waitInFlight(t, router, "hang", 1)
	router.Close()
	router.Close()
	if err := <-done; !errors.Is(err, llmux.KindCancelled) {
		t.Errorf("err = %v, want KindCancelled", err)
	}
}
