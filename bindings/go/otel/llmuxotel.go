// Package llmuxotel traces the calls of an llmux Router with OpenTelemetry,
// following the GenAI semantic conventions: one CLIENT span per call, named
// "chat <model>" or "embeddings <model>", and one child span per backend
// attempt ("attempt <model group>"), so retries and fallbacks show as the
// attempts they were.
//
// Wrap a Router and call it through the wrapper; the span of each call is a
// child of the span in the ctx passed to the call:
//
//	traced := llmuxotel.Wrap(router) // the global TracerProvider; or WithTracerProvider(tp)
//	resp, err := traced.Completion(ctx, req)
//
// The spans are built from each call's router metadata (llmux.Metadata: the
// group and deployment that served, provider, attempts with their errors and
// latencies, cost, tokens) when the call ends, with the call's own start and
// end times. Attributes never hold an API key or message content.
//
// This is a module of its own so that the llmux module keeps no dependencies.
package llmuxotel

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/url"
	"strconv"
	"time"

	llmux "github.com/llmux/llmux/bindings/go"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.39.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans.
const ScopeName = "github.com/llmux/llmux/bindings/go/otel"

// The span attributes llmux adds to the GenAI conventions' own.
const (
	CallIDKey             = attribute.Key("llmux.call_id")
	ModelGroupKey         = attribute.Key("llmux.model_group")
	DeploymentIDKey       = attribute.Key("llmux.deployment_id")
	DeploymentModelKey    = attribute.Key("llmux.deployment_model")
	AttemptsKey           = attribute.Key("llmux.attempts")
	RetriesKey            = attribute.Key("llmux.retries")
	FallbacksKey          = attribute.Key("llmux.fallbacks")
	FallbackModelGroupKey = attribute.Key("llmux.fallback_model_group")
	ResponseCostKey       = attribute.Key("llmux.response_cost")
	StreamKey             = attribute.Key("llmux.stream")
	TimeToFirstTokenKey   = attribute.Key("llmux.time_to_first_token_ms")
	AttemptIndexKey       = attribute.Key("llmux.attempt.index") // 0-based, in the order the router tried them

	// GenAISystemKey is gen_ai.system, the conventions' name for
	// gen_ai.provider.name before they renamed it: both are set, for the
	// backends that still read the old one.
	GenAISystemKey = attribute.Key("gen_ai.system")
)

// Option configures Wrap.
type Option func(*config)

type config struct {
	provider trace.TracerProvider
}

// WithTracerProvider makes the spans with tp instead of the global
// TracerProvider (otel.GetTracerProvider at the time of Wrap).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.provider = tp }
}

// Router is an llmux Router whose chat completions, streams and embeddings
// are traced. Its other methods are the wrapped Router's. Like the Router,
// it is safe for concurrent use.
type Router struct {
	*llmux.Router
	tracer trace.Tracer
}

// Wrap traces the calls made through the returned Router. The wrapped
// Router stays the caller's: closing either closes it.
func Wrap(router *llmux.Router, options ...Option) *Router {
	c := config{}
	for _, o := range options {
		o(&c)
	}
	if c.provider == nil {
		c.provider = otel.GetTracerProvider()
	}
	return &Router{Router: router, tracer: c.provider.Tracer(ScopeName,
		trace.WithInstrumentationVersion(llmux.Version()), trace.WithSchemaURL(semconv.SchemaURL))}
}

// Completion is llmux.Router.Completion, traced as a "chat" span.
func (r *Router) Completion(ctx context.Context, req *llmux.ChatCompletionRequest) (*llmux.ChatCompletionResponse, error) {
	start := time.Now()
	resp, err := r.Router.Completion(ctx, req)
	c := r.call(ctx, "chat", start, err)
	if req != nil {
		c.requestedModel = req.Model
	}
	if resp != nil {
		c.metadata, c.responseID, c.responseModel = &resp.Metadata, resp.ID, resp.Model
	}
	c.end()
	return resp, err
}

// CompletionRaw is llmux.Router.CompletionRaw, traced as a "chat" span.
func (r *Router) CompletionRaw(ctx context.Context, request []byte) ([]byte, error) {
	start := time.Now()
	resp, err := r.Router.CompletionRaw(ctx, request)
	r.rawCall(ctx, "chat", start, request, resp, err)
	return resp, err
}

// Embedding is llmux.Router.Embedding, traced as an "embeddings" span.
func (r *Router) Embedding(ctx context.Context, req *llmux.EmbeddingRequest) (*llmux.EmbeddingResponse, error) {
	start := time.Now()
	resp, err := r.Router.Embedding(ctx, req)
	c := r.call(ctx, "embeddings", start, err)
	if req != nil {
		c.requestedModel = req.Model
	}
	if resp != nil {
		c.metadata, c.responseModel = &resp.Metadata, resp.Model
	}
	c.end()
	return resp, err
}

// EmbeddingRaw is llmux.Router.EmbeddingRaw, traced as an "embeddings" span.
func (r *Router) EmbeddingRaw(ctx context.Context, request []byte) ([]byte, error) {
	start := time.Now()
	resp, err := r.Router.EmbeddingRaw(ctx, request)
	r.rawCall(ctx, "embeddings", start, request, resp, err)
	return resp, err
}

// rawCall ends the span of a call whose request and response are JSON.
func (r *Router) rawCall(ctx context.Context, operation string, start time.Time, request, resp []byte, err error) {
	c := r.call(ctx, operation, start, err)
	var req struct {
		Model string `json:"model"`
	}
	if json.Unmarshal(request, &req) == nil {
		c.requestedModel = req.Model
	}
	if err == nil {
		var answer struct {
			ID       string         `json:"id"`
			Model    string         `json:"model"`
			Metadata llmux.Metadata `json:"_llmux"`
		}
		if json.Unmarshal(resp, &answer) == nil {
			c.metadata, c.responseID, c.responseModel = &answer.Metadata, answer.ID, answer.Model
		}
	}
	c.end()
}

// Stream is llmux.Router.Stream, traced as a "chat" span that ends with the
// stream: read it to its end, or Close it.
func (r *Router) Stream(ctx context.Context, req *llmux.ChatCompletionRequest) (*Stream, error) {
	start := time.Now()
	stream, err := r.Router.Stream(ctx, req)
	model := ""
	if req != nil {
		model = req.Model
	}
	return r.stream(ctx, start, model, stream, err)
}

// StreamRaw is llmux.Router.StreamRaw, traced like Stream.
func (r *Router) StreamRaw(ctx context.Context, request []byte) (*Stream, error) {
	start := time.Now()
	stream, err := r.Router.StreamRaw(ctx, request)
	var req struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(request, &req) // the router has refused a malformed body already
	return r.stream(ctx, start, req.Model, stream, err)
}

func (r *Router) stream(ctx context.Context, start time.Time, model string, stream *llmux.Stream, err error) (*Stream, error) {
	c := r.call(ctx, "chat", start, err)
	c.requestedModel, c.stream = model, true
	if err != nil {
		c.end()
		return nil, err
	}
	return &Stream{Stream: stream, call: c}, nil
}

// Stream is a traced llmux.Stream. Its span ends when Next reports the end
// (or the failure) of the stream, or at Close; a Stream dropped unread
// leaves its span unended, as it leaves its call running.
type Stream struct {
	*llmux.Stream
	call  *call
	ended bool
}

// Next is llmux.Stream.Next; it ends the span when the stream ends.
func (s *Stream) Next() bool {
	if s.Stream.Next() {
		if chunk := s.Chunk(); chunk != nil && s.call.responseID == "" {
			s.call.responseID, s.call.responseModel = chunk.ID, chunk.Model
		}
		return true
	}
	s.end()
	return false
}

// Close is llmux.Stream.Close; it ends the span.
func (s *Stream) Close() error {
	err := s.Stream.Close()
	s.end()
	return err
}

// Chunks is llmux.Stream.Chunks over the traced Next and Close.
func (s *Stream) Chunks() iter.Seq2[*llmux.ChatCompletionChunk, error] {
	return func(yield func(*llmux.ChatCompletionChunk, error) bool) {
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

func (s *Stream) end() {
	if s.ended {
		return
	}
	s.ended = true
	// Err is nil when the reader closed the stream early: no failure of the call's own.
	s.call.err = s.Err()
	s.call.metadata = s.Metadata()
	s.call.end()
}

// call is what the span of one call is made of, gathered until it ends.
type call struct {
	tracer         trace.Tracer
	parent         context.Context
	operation      string
	start          time.Time
	err            error
	requestedModel string // the request's model, when the metadata has none
	metadata       *llmux.Metadata
	responseID     string
	responseModel  string
	stream         bool
}

func (r *Router) call(ctx context.Context, operation string, start time.Time, err error) *call {
	return &call{tracer: r.tracer, parent: ctx, operation: operation, start: start, err: err}
}

// end makes the call's span and its attempts' spans, ending now.
func (c *call) end() {
	end := time.Now()
	var callErr *llmux.Error
	if errors.As(c.err, &callErr) && c.metadata == nil {
		c.metadata = &callErr.Metadata
	}
	m := c.metadata
	if m == nil {
		m = &llmux.Metadata{}
	}
	model := m.RequestedModel
	if model == "" {
		model = c.requestedModel
	}
	attrs := []attribute.KeyValue{
		semconv.GenAIOperationNameKey.String(c.operation),
		semconv.GenAIRequestModelKey.String(model),
		StreamKey.Bool(c.stream),
	}
	if m.Provider != "" {
		attrs = append(attrs, semconv.GenAIProviderNameKey.String(m.Provider), GenAISystemKey.String(m.Provider))
	}
	if c.responseModel != "" {
		attrs = append(attrs, semconv.GenAIResponseModelKey.String(c.responseModel))
	}
	if c.responseID != "" {
		attrs = append(attrs, semconv.GenAIResponseIDKey.String(c.responseID))
	}
	if m.UsageReported {
		attrs = append(attrs, semconv.GenAIUsageInputTokensKey.Int(m.Usage.PromptTokens),
			semconv.GenAIUsageOutputTokensKey.Int(m.Usage.CompletionTokens))
	}
	attrs = append(attrs, serverAttributes(m.APIBase)...)
	if m.CallID != 0 {
		attrs = append(attrs, CallIDKey.Int64(int64(m.CallID)), ModelGroupKey.String(m.ModelGroup),
			DeploymentIDKey.String(m.DeploymentID), DeploymentModelKey.String(m.DeploymentModel),
			AttemptsKey.Int(m.Attempts), RetriesKey.Int(m.Retries), FallbacksKey.Int(m.Fallbacks),
			ResponseCostKey.Float64(m.ResponseCost))
	}
	if m.FallbackModelGroup != "" {
		attrs = append(attrs, FallbackModelGroupKey.String(m.FallbackModelGroup))
	}
	if c.stream && m.TimeToFirstToken > 0 {
		attrs = append(attrs, TimeToFirstTokenKey.Float64(milliseconds(m.TimeToFirstToken)))
	}
	if c.err != nil {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(c.err)))
	}

	ctx, span := c.tracer.Start(c.parent, c.operation+" "+model, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(c.start), trace.WithAttributes(attrs...))
	if c.err != nil {
		span.SetStatus(codes.Error, c.err.Error())
	}
	for i, a := range m.AttemptLog {
		// Each attempt on the call's timeline: waits between attempts show as gaps.
		attemptStart := c.start.Add(a.Start)
		attemptEnd := attemptStart.Add(a.Latency)
		attemptAttrs := []attribute.KeyValue{AttemptIndexKey.Int(i), ModelGroupKey.String(a.ModelGroup),
			DeploymentIDKey.String(a.DeploymentID)}
		if a.ErrorType != "" {
			attemptAttrs = append(attemptAttrs, semconv.ErrorTypeKey.String(a.ErrorType))
			if a.Status > 0 {
				attemptAttrs = append(attemptAttrs, semconv.HTTPResponseStatusCodeKey.Int(a.Status))
			}
		}
		_, attempt := c.tracer.Start(ctx, "attempt "+a.ModelGroup, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(attemptStart), trace.WithAttributes(attemptAttrs...))
		if a.ErrorType != "" {
			attempt.SetStatus(codes.Error, a.ErrorType)
		}
		attempt.End(trace.WithTimestamp(attemptEnd))
	}
	span.End(trace.WithTimestamp(end))
}

// errorType is error.type for err: LiteLLM's exception class name for the
// router's errors ("RateLimitError", ...), the conventions' "_OTHER" otherwise.
func errorType(err error) string {
	var e *llmux.Error
	if errors.As(err, &e) && e.Type != "" {
		return e.Type
	}
	return "_OTHER"
}

// serverAttributes are server.address and server.port of an api_base (its
// host and port only: never its path, query or user info).
func serverAttributes(apiBase string) []attribute.KeyValue {
	if apiBase == "" {
		return nil
	}
	u, err := url.Parse(apiBase)
	if err != nil || u.Hostname() == "" {
		return nil
	}
	attrs := []attribute.KeyValue{semconv.ServerAddressKey.String(u.Hostname())}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	if n, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPortKey.Int(n))
	}
	return attrs
}

func milliseconds(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
