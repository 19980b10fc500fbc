package llmuxotel_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	llmux "github.com/llmux/llmux/bindings/go"
	llmuxotel "github.com/llmux/llmux/bindings/go/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// The deployments answer locally through mock_response (no provider, no
// network); their api_base is what the metadata reports.
const secret = "sk-otel-test-secret"

const config = `
model_list:
  # "flaky": tried first (order 1), fails with a 500 and cools down at once (allowed_fails 0);
  # the retry goes to "steady".
  - model_name: flaky
    litellm_params: {model: openai/first, mock_response: litellm.InternalServerError, order: 1,
                     api_base: "https://first.example.com:8443/v1", api_key: ` + secret + `}
    model_info: {id: flaky-first}
  - model_name: flaky
    litellm_params: {model: openai/second, mock_response: "Second time lucky.", order: 2,
                     api_base: "https://second.example.com/v1", api_key: ` + secret + `,
                     input_cost_per_token: 0.5, output_cost_per_token: 1}
    model_info: {id: flaky-second}
  - model_name: limited
    litellm_params: {model: openai/limited, mock_response: litellm.RateLimitError, api_key: ` + secret + `}
    model_info: {id: limited-1}
  - model_name: backup
    litellm_params: {model: openai/backup, mock_response: "From the backup.", api_base: "http://127.0.0.1:9/v1"}
    model_info: {id: backup-1}
  - model_name: vectors
    litellm_params: {model: openai/text-embedding-3-small, mock_response: "embedded", api_key: ` + secret + `}
    model_info: {id: vectors-1}
router_settings:
  num_retries: 1
  allowed_fails: 0
  fallbacks: [{limited: [backup]}]
`

// newTraced is a traced router over config and the spans it ends.
func newTraced(t *testing.T) (*llmuxotel.Router, *tracetest.SpanRecorder, trace.Tracer) {
	t.Helper()
	router, err := llmux.NewRouter(config)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	t.Cleanup(func() { router.Close() })
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return llmuxotel.Wrap(router, llmuxotel.WithTracerProvider(tp)), recorder, tp.Tracer("test")
}

func chat(model string) *llmux.ChatCompletionRequest {
	return &llmux.ChatCompletionRequest{Model: model, Messages: []llmux.Message{{Role: "user", Content: "a private question"}}}
}

// spans finds the one ended span named callName and the spans whose parent it is, in the order they ended
// (the order of the attempts).
func spans(t *testing.T, recorder *tracetest.SpanRecorder, callName string) (sdktrace.ReadOnlySpan, []sdktrace.ReadOnlySpan) {
	t.Helper()
	var calls, children []sdktrace.ReadOnlySpan
	for _, s := range recorder.Ended() {
		if s.Name() == callName {
			calls = append(calls, s)
		}
	}
	if len(calls) != 1 {
		t.Fatalf("%d spans named %q, want 1 (ended: %v)", len(calls), callName, names(recorder.Ended()))
	}
	for _, s := range recorder.Ended() {
		if s.Parent().SpanID() == calls[0].SpanContext().SpanID() {
			if !strings.HasPrefix(s.Name(), "attempt ") || s.SpanContext().TraceID() != calls[0].SpanContext().TraceID() {
				t.Errorf("span %q (trace %v) is a child of %q", s.Name(), s.SpanContext().TraceID(), callName)
			}
			children = append(children, s)
		}
	}
	return calls[0], children
}

func names(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return out
}

// checkAttributes compares the span's attributes named in want, and reports
// those named in absent that it has.
func checkAttributes(t *testing.T, span sdktrace.ReadOnlySpan, want map[attribute.Key]attribute.Value, absent ...attribute.Key) {
	t.Helper()
	got := map[attribute.Key]attribute.Value{}
	for _, kv := range span.Attributes() {
		got[kv.Key] = kv.Value
		if strings.Contains(kv.Value.Emit(), secret) || strings.Contains(kv.Value.Emit(), "private question") {
			t.Errorf("span %q: attribute %s holds the api key or the message: %q", span.Name(), kv.Key, kv.Value.Emit())
		}
	}
	for k, v := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("span %q: no attribute %s (want %s)", span.Name(), k, v.Emit())
		} else if g != v {
			t.Errorf("span %q: %s = %s (%s), want %s (%s)", span.Name(), k, g.Emit(), g.Type(), v.Emit(), v.Type())
		}
	}
	for _, k := range absent {
		if v, ok := got[k]; ok {
			t.Errorf("span %q: attribute %s = %s, want none", span.Name(), k, v.Emit())
		}
	}
}

func str(s string) attribute.Value   { return attribute.StringValue(s) }
func num(n int) attribute.Value      { return attribute.IntValue(n) }
func boolean(b bool) attribute.Value { return attribute.BoolValue(b) }

func TestRetriedCompletion(t *testing.T) {
	traced, recorder, tracer := newTraced(t)
	ctx, parent := tracer.Start(context.Background(), "handler")
	resp, err := traced.Completion(ctx, chat("flaky"))
	parent.End()
	if err != nil {
		t.Fatalf("Completion: %v", err)
	}
	span, attempts := spans(t, recorder, "chat flaky")
	if span.Parent().SpanID() != parent.SpanContext().SpanID() || span.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("call span's parent = %v, want the ctx's span %v", span.Parent(), parent.SpanContext())
	}
	if span.SpanKind() != trace.SpanKindClient || span.Status().Code != codes.Unset {
		t.Errorf("call span: kind %v, status %v; want client, unset", span.SpanKind(), span.Status())
	}
	m := resp.Metadata
	checkAttributes(t, span, map[attribute.Key]attribute.Value{
		"gen_ai.operation.name":      str("chat"),
		"gen_ai.system":              str("openai"),
		"gen_ai.provider.name":       str("openai"),
		"gen_ai.request.model":       str("flaky"),
		"gen_ai.response.model":      str(resp.Model),
		"gen_ai.response.id":         str(resp.ID),
		"gen_ai.usage.input_tokens":  num(resp.Usage.PromptTokens),
		"gen_ai.usage.output_tokens": num(resp.Usage.CompletionTokens),
		"server.address":             str("second.example.com"),
		"server.port":                num(443),
		"llmux.call_id":              attribute.Int64Value(int64(m.CallID)),
		"llmux.model_group":          str("flaky"),
		"llmux.deployment_id":        str("flaky-second"),
		"llmux.deployment_model":     str("second"),
		"llmux.attempts":             num(2),
		"llmux.retries":              num(1),
		"llmux.fallbacks":            num(0),
		"llmux.response_cost":        attribute.Float64Value(m.ResponseCost),
		"llmux.stream":               boolean(false),
	}, "llmux.fallback_model_group", "error.type", "llmux.time_to_first_token_ms")
	if m.ResponseCost <= 0 || resp.Model != "second" || resp.ID == "" {
		t.Errorf("response: cost %v, model %q, id %q; want a cost, \"second\", an id", m.ResponseCost, resp.Model, resp.ID)
	}

	if len(attempts) != 2 {
		t.Fatalf("%d attempt spans (%v), want 2", len(attempts), names(attempts))
	}
	checkAttributes(t, attempts[0], map[attribute.Key]attribute.Value{
		"llmux.attempt.index": num(0), "llmux.model_group": str("flaky"), "llmux.deployment_id": str("flaky-first"),
		"error.type": str("InternalServerError"), "http.response.status_code": num(500),
	})
	if attempts[0].Status().Code != codes.Error || attempts[0].SpanKind() != trace.SpanKindClient {
		t.Errorf("failed attempt: status %v, kind %v; want error, client", attempts[0].Status(), attempts[0].SpanKind())
	}
	checkAttributes(t, attempts[1], map[attribute.Key]attribute.Value{
		"llmux.attempt.index": num(1), "llmux.model_group": str("flaky"), "llmux.deployment_id": str("flaky-second"),
	}, "error.type", "http.response.status_code")
	if attempts[1].Status().Code != codes.Unset {
		t.Errorf("successful attempt: status %v, want unset", attempts[1].Status())
	}
	// The attempts lie in the call, in the order they were made.
	if attempts[0].StartTime().Before(span.StartTime()) || attempts[1].StartTime().Before(attempts[0].StartTime()) {
		t.Errorf("attempts start at %v and %v, the call at %v: want them in order, from the call's start",
			attempts[0].StartTime(), attempts[1].StartTime(), span.StartTime())
	}
}

func TestFallback(t *testing.T) {
	traced, recorder, _ := newTraced(t)
	// No span in ctx: the call span is a root.
	_, err := traced.Completion(context.Background(), chat("limited"))
	if err != nil {
		t.Fatalf("Completion with a fallback: %v", err)
	}
	span, attempts := spans(t, recorder, "chat limited")
	if span.Parent().IsValid() {
		t.Errorf("call span has parent %v, want none", span.Parent())
	}
	checkAttributes(t, span, map[attribute.Key]attribute.Value{
		"llmux.model_group": str("backup"), "llmux.fallbacks": num(1), "llmux.fallback_model_group": str("backup"),
		"server.address": str("127.0.0.1"), "server.port": num(9),
	}, "error.type")
	var groups []string
	for _, a := range attempts {
		groups = append(groups, a.Name())
	}
	// limited is tried, retried once (its one deployment cooled down: no deployment is left), then backup.
	if len(attempts) == 0 || attempts[0].Name() != "attempt limited" || attempts[len(attempts)-1].Name() != "attempt backup" {
		t.Errorf("attempt spans %v: want limited's first, backup's last", groups)
	}
}

func TestFailedCompletion(t *testing.T) {
	traced, recorder, tracer := newTraced(t)
	ctx, parent := tracer.Start(context.Background(), "handler")
	// The request's own fallbacks: none, so the call fails with limited's error.
	req := chat("limited")
	req.Extra = map[string]any{"fallbacks": []any{}, "num_retries": 0}
	_, err := traced.Completion(ctx, req)
	parent.End()
	var e *llmux.Error
	if !errors.As(err, &e) || e.Type != "RateLimitError" {
		t.Fatalf("Completion: %v, want a RateLimitError", err)
	}
	span, attempts := spans(t, recorder, "chat limited")
	if span.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("call span's parent = %v, want %v", span.Parent().SpanID(), parent.SpanContext().SpanID())
	}
	if span.Status().Code != codes.Error || span.Status().Description != err.Error() {
		t.Errorf("call span status %+v, want error %q", span.Status(), err.Error())
	}
	checkAttributes(t, span, map[attribute.Key]attribute.Value{
		"error.type": str("RateLimitError"), "gen_ai.request.model": str("limited"), "llmux.attempts": num(1),
		"llmux.deployment_id": str("limited-1"),
	}, "gen_ai.response.id", "gen_ai.usage.output_tokens", "server.address")
	if len(attempts) != 1 || attempts[0].Status().Code != codes.Error {
		t.Fatalf("attempt spans %v, want one that failed", names(attempts))
	}
	checkAttributes(t, attempts[0], map[attribute.Key]attribute.Value{
		"error.type": str("RateLimitError"), "http.response.status_code": num(429), "llmux.attempt.index": num(0),
	})
}

func TestStream(t *testing.T) {
	traced, recorder, tracer := newTraced(t)
	ctx, parent := tracer.Start(context.Background(), "handler")
	defer parent.End()
	stream, err := traced.Stream(ctx, chat("flaky"))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	var text, id string
	for chunk, err := range stream.Chunks() {
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if id == "" {
			id = chunk.ID
		}
		if len(chunk.Choices) > 0 {
			text += chunk.Choices[0].Delta.Content
		}
	}
	if text != "Second time lucky." {
		t.Errorf("streamed %q", text)
	}
	span, attempts := spans(t, recorder, "chat flaky")
	if span.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("stream span's parent = %v, want %v", span.Parent().SpanID(), parent.SpanContext().SpanID())
	}
	checkAttributes(t, span, map[attribute.Key]attribute.Value{
		"llmux.stream": boolean(true), "gen_ai.response.id": str(id), "gen_ai.response.model": str("second"),
		"llmux.attempts": num(2), "llmux.deployment_id": str("flaky-second"),
	}, "error.type")
	if !hasAttribute(span, "llmux.time_to_first_token_ms") {
		t.Errorf("stream span has no llmux.time_to_first_token_ms")
	}
	if len(attempts) != 2 {
		t.Errorf("attempt spans %v, want 2", names(attempts))
	}
}

func TestStreamClosedEarly(t *testing.T) {
	traced, recorder, _ := newTraced(t)
	stream, err := traced.Stream(context.Background(), chat("flaky"))
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	for range stream.Chunks() {
		break // closes the stream
	}
	span, _ := spans(t, recorder, "chat flaky")
	if span.Status().Code != codes.Unset {
		t.Errorf("a stream the reader closed: status %v, want unset (not a failure of the call)", span.Status())
	}
	stream.Close() // a second Close ends no second span
	spans(t, recorder, "chat flaky")
}

func TestEmbeddingAndRaw(t *testing.T) {
	traced, recorder, _ := newTraced(t)
	if _, err := traced.Embedding(context.Background(), &llmux.EmbeddingRequest{Model: "vectors", Input: "hello"}); err != nil {
		t.Fatalf("Embedding: %v", err)
	}
	span, attempts := spans(t, recorder, "embeddings vectors")
	checkAttributes(t, span, map[attribute.Key]attribute.Value{
		"gen_ai.operation.name": str("embeddings"), "gen_ai.response.model": str("text-embedding-3-small"),
		"llmux.deployment_id": str("vectors-1"),
	})
	if len(attempts) != 1 {
		t.Errorf("attempt spans %v, want 1", names(attempts))
	}

	raw, err := traced.CompletionRaw(context.Background(),
		[]byte(`{"model":"backup","messages":[{"role":"user","content":"a private question"}]}`))
	if err != nil {
		t.Fatalf("CompletionRaw: %v", err)
	}
	span, _ = spans(t, recorder, "chat backup")
	if !strings.Contains(string(raw), `"From the backup."`) {
		t.Errorf("CompletionRaw answered %s", raw)
	}
	checkAttributes(t, span, map[attribute.Key]attribute.Value{
		"gen_ai.request.model": str("backup"), "gen_ai.response.model": str("backup"), "llmux.deployment_id": str("backup-1"),
		"llmux.attempts": num(1),
	})
	if !hasAttribute(span, "gen_ai.response.id") {
		t.Errorf("raw completion span has no gen_ai.response.id")
	}
}

func hasAttribute(span sdktrace.ReadOnlySpan, key attribute.Key) bool {
	for _, kv := range span.Attributes() {
		if kv.Key == key {
			return true
		}
	}
	return false
}
