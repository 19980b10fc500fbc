package llmux_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	llmux "github.com/llmux/llmux/bindings/go"
)

func TestKindString(t *testing.T) {
	for kind, want := range map[llmux.Kind]string{
		llmux.KindBadRequest:             "BadRequestError",
		llmux.KindContextWindowExceeded:  "ContextWindowExceededError",
		llmux.KindAuthentication:         "AuthenticationError",
		llmux.KindTimeout:                "Timeout",
		llmux.KindRateLimit:              "RateLimitError",
		llmux.KindNoDeploymentsAvailable: "NoDeploymentsAvailableError",
		llmux.KindConnection:             "APIConnectionError",
		llmux.KindCancelled:              "CancelledError",
		llmux.KindInvalidConfig:          "InvalidConfigError",
		llmux.KindInternal:               "InternalError",
		llmux.Kind(999):                  "UnknownError",
	} {
		if got := kind.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(kind), got, want)
		}
	}
}

// Scripted provider failures come back as *Error values with LiteLLM's
// classification, and match their Kind sentinel with errors.Is.
func TestCompletionErrors(t *testing.T) {
	router := newTestRouter(t)
	for _, tc := range []struct {
		group, deploymentID string
		kind                llmux.Kind
		sentinel            error
		status              int
		messagePart         string
	}{
		{"rate-limited", "rate-limited-1", llmux.KindRateLimit, llmux.ErrRateLimit, 429, "Rate limit"},
		{"denied", "denied-1", llmux.KindAuthentication, llmux.ErrAuthentication, 401, "Incorrect API key"},
		{"missing", "missing-1", llmux.KindNotFound, llmux.ErrNotFound, 404, "status-404"},
		{"broken", "broken-1", llmux.KindInternalServer, llmux.ErrInternalServer, 500, "status-500"},
		{"small", "small-1", llmux.KindContextWindowExceeded, llmux.ErrContextWindowExceeded, 400, ""},
		{"refused", "refused-1", llmux.KindContentPolicyViolation, llmux.ErrContentPolicyViolation, 400, ""},
		{"reset", "reset-1", llmux.KindConnection, llmux.ErrConnection, 500, ""},
	} {
		t.Run(tc.group, func(t *testing.T) {
			resp, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{
				Model: tc.group, Messages: userMessage("hi"),
			})
			if err == nil {
				t.Fatalf("Completion succeeded: %+v", resp)
			}
			var e *llmux.Error
			if !errors.As(err, &e) {
				t.Fatalf("errors.As(%v, *llmux.Error) = false", err)
			}
			if e.Kind != tc.kind || e.Status != tc.status || e.Type != tc.kind.String() {
				t.Errorf("kind %v, status %d, type %q; want %v, %d", e.Kind, e.Status, e.Type, tc.kind, tc.status)
			}
			if !errors.Is(err, tc.sentinel) || !errors.Is(err, tc.kind) || errors.Is(err, llmux.ErrCancelled) {
				t.Errorf("errors.Is: %v should match only its own kind %v", err, tc.kind)
			}
			if !strings.Contains(e.Message, tc.messagePart) || !strings.Contains(err.Error(), e.Type) {
				t.Errorf("message %q / Error() %q: want %q and the type", e.Message, err.Error(), tc.messagePart)
			}
			if e.LLMProvider != "openai" || e.Metadata.DeploymentID != tc.deploymentID ||
				e.Metadata.ModelGroup != tc.group || e.Metadata.Attempts != 1 {
				t.Errorf("provider %q, metadata %+v: want openai, %s in group %s after 1 attempt", e.LLMProvider,
					e.Metadata, tc.deploymentID, tc.group)
			}
			if len(e.Raw) == 0 {
				t.Error("Raw is empty")
			}
			assertNoSecret(t, "error", err.Error()+string(e.Raw))
		})
	}
}

func TestRateLimitRetryAfter(t *testing.T) {
	router := newTestRouter(t)
	_, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "rate-limited", Messages: userMessage("hi")})
	var e *llmux.Error
	if !errors.As(err, &e) || e.Kind != llmux.KindRateLimit {
		t.Fatalf("err = %v, want a RateLimitError", err)
	}
	if e.RetryAfter != time.Second {
		t.Errorf("RetryAfter = %v, want the provider's Retry-After of 1s", e.RetryAfter)
	}
}

func TestUnknownModel(t *testing.T) {
	router := newTestRouter(t)
	_, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "no-such-group", Messages: userMessage("hi")})
	var e *llmux.Error
	if !errors.As(err, &e) || e.Kind != llmux.KindBadRequest || e.Status != 400 || !errors.Is(err, llmux.ErrBadRequest) {
		t.Fatalf("err = %v, want a BadRequestError (400)", err)
	}
	if !strings.Contains(e.Message, "no-such-group") {
		t.Errorf("message %q does not name the model", e.Message)
	}
}

func TestInvalidRequests(t *testing.T) {
	router := newTestRouter(t)
	ctx := context.Background()
	for name, body := range map[string]string{
		"not JSON":      `{"model": "gpt", "messages": [`,
		"not an object": `["gpt"]`,
		"null":          `null`,
		"no model":      `{"messages":[{"role":"user","content":"hi"}]}`,
		"invalid UTF-8": "{\"model\":\"gpt\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}",
		"empty":         ``,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := router.CompletionRaw(ctx, []byte(body))
			var e *llmux.Error
			if !errors.As(err, &e) || e.Kind != llmux.KindInvalidArgument {
				t.Fatalf("err = %v, want an InvalidArgumentError", err)
			}
			if e.Status != 400 || e.Message == "" {
				t.Errorf("status %d, message %q: want 400 and a reason", e.Status, e.Message)
			}
		})
	}
	if _, err := router.EmbeddingRaw(ctx, []byte(`{"model":`)); !errors.Is(err, llmux.ErrInvalidArgument) {
		t.Errorf("EmbeddingRaw of broken JSON: err = %v, want an InvalidArgumentError", err)
	}
	// A stream reports a refused body when it starts or as its end.
	stream, err := router.StreamRaw(ctx, []byte(`{"model":`))
	if err == nil {
		if stream.Next() {
			t.Error("StreamRaw of broken JSON yields a chunk")
		}
		err = stream.Err()
		stream.Close()
	}
	if !errors.Is(err, llmux.ErrInvalidArgument) {
		t.Errorf("StreamRaw of broken JSON: err = %v, want an InvalidArgumentError", err)
	}
	// A nil typed request is refused before it is encoded.
	if _, err := router.Completion(ctx, nil); !errors.Is(err, llmux.ErrInvalidArgument) {
		t.Errorf("Completion(nil): err = %v, want an InvalidArgumentError", err)
	}
	if _, err := router.Embedding(ctx, nil); !errors.Is(err, llmux.ErrInvalidArgument) {
		t.Errorf("Embedding(nil): err = %v, want an InvalidArgumentError", err)
	}
	if _, err := router.Stream(ctx, nil); !errors.Is(err, llmux.ErrInvalidArgument) {
		t.Errorf("Stream(nil): err = %v, want an InvalidArgumentError", err)
	}
}

func TestBadConfig(t *testing.T) {
	for name, config := range map[string]string{
		"broken YAML":      "model_list: [",
		"empty":            "",
		"bad strategy":     "model_list:\n" + deployment("gpt", "ok-gpt", "gpt-1") + "router_settings: {routing_strategy: fastest}\n",
		"no model_name":    "model_list: [{litellm_params: {model: openai/ok-gpt}}]\n",
		"not a model list": `{"model_list": 3}`,
	} {
		t.Run(name, func(t *testing.T) {
			router, err := llmux.NewRouter(config)
			if err == nil {
				router.Close()
				t.Fatal("NewRouter succeeded")
			}
			var e *llmux.Error
			if !errors.As(err, &e) || e.Kind != llmux.KindInvalidConfig || !errors.Is(err, llmux.ErrInvalidConfig) {
				t.Fatalf("err = %v, want an InvalidConfigError", err)
			}
			if e.Message == "" {
				t.Error("the error has no message")
			}
		})
	}
	_, err := llmux.NewRouter("model_list:\n" + deployment("gpt", "ok-gpt", "gpt-1") +
		"router_settings: {routing_strategy: fastest}\n")
	if err == nil || !strings.Contains(err.Error(), "routing_strategy") {
		t.Errorf("err = %v, want the key path routing_strategy named", err)
	}
}

func TestContextCancel(t *testing.T) {
	router := newTestRouter(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for n, err := inFlight(router, "hang"); err == nil && n == 0; n, err = inFlight(router, "hang") {
			time.Sleep(2 * time.Millisecond)
		}
		cancel()
	}()
	_, err := router.Completion(ctx, &llmux.ChatCompletionRequest{Model: "hang", Messages: userMessage("hi")})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	var e *llmux.Error
	if !errors.As(err, &e) || e.Kind != llmux.KindCancelled || e.Metadata.RequestedModel != "hang" {
		t.Fatalf("err = %v, want a CancelledError with the call's metadata", err)
	}
	waitInFlight(t, router, "hang", 0)
}

func TestContextDeadline(t *testing.T) {
	router := newTestRouter(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := router.Embedding(ctx, &llmux.EmbeddingRequest{Model: "hang", Input: "hello"})
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, llmux.ErrCancelled) {
		t.Fatalf("err = %v, want context.DeadlineExceeded and KindCancelled", err)
	}
	waitInFlight(t, router, "hang", 0)
}

func TestContextDoneBeforeCall(t *testing.T) {
	router := newTestRouter(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := router.Completion(ctx, &llmux.ChatCompletionRequest{Model: "gpt", Messages: userMessage("hi")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Completion: err = %v, want context.Canceled", err)
	}
	if _, err := router.Stream(ctx, &llmux.ChatCompletionRequest{Model: "gpt", Messages: userMessage("hi")}); !errors.Is(err, context.Canceled) {
		t.Errorf("Stream: err = %v, want context.Canceled", err)
	}
}
