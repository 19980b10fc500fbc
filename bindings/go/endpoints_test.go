package llmux_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	llmux "github.com/llmux/llmux/bindings/go"
)

const endpointsConfig = `model_list:
  - model_name: m
    litellm_params: {model: openai/x, mock_response: mocked words}
    model_info: {id: mock-1}
  - model_name: bad
    litellm_params: {model: openai/y, llmux_mock_error: {status_code: 429, message: slow down}}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3, api_key: sk-ant, api_base: "http://127.0.0.1:9"}
router_settings: {num_retries: 0}
`

func TestEndpoints(t *testing.T) {
	router := newRouterFrom(t, endpointsConfig)
	ctx := context.Background()
	var text struct {
		Object  string `json:"object"`
		Choices []struct {
			Text string `json:"text"`
		} `json:"choices"`
		Llmux struct {
			DeploymentID string `json:"deployment_id"`
		} `json:"_llmux"`
	}
	raw, err := router.TextCompletion(ctx, []byte(`{"model":"m","prompt":"p"}`))
	if err != nil {
		t.Fatalf("TextCompletion: %v", err)
	}
	if err := json.Unmarshal(raw, &text); err != nil {
		t.Fatal(err)
	}
	if text.Object != "text_completion" || len(text.Choices) != 1 || text.Choices[0].Text != "mocked words" ||
		text.Llmux.DeploymentID != "mock-1" {
		t.Fatalf("TextCompletion = %s", raw)
	}
	raw, err = router.Moderation(ctx, []byte(`{"model":"m","input":"p"}`))
	if err != nil || !strings.Contains(string(raw), `"results"`) {
		t.Fatalf("Moderation = %s, %v", raw, err)
	}
	raw, err = router.Responses(ctx, []byte(`{"model":"m","input":"p"}`))
	if err != nil || !strings.Contains(string(raw), `"output_text"`) {
		t.Fatalf("Responses = %s, %v", raw, err)
	}
	if EndpointName := llmux.EndpointResponses.String(); EndpointName != "responses" {
		t.Fatalf("String = %q", EndpointName)
	}
}

func TestEndpointErrors(t *testing.T) {
	router := newRouterFrom(t, endpointsConfig)
	ctx := context.Background()
	var e *llmux.Error
	_, err := router.Moderation(ctx, []byte(`{"model":"claude","input":"p"}`))
	if !errors.As(err, &e) || e.Kind != llmux.KindBadRequest ||
		!strings.Contains(e.Message, "moderations endpoint is not supported by provider 'anthropic'") {
		t.Fatalf("Moderation on anthropic: %v", err)
	}
	_, err = router.Call(ctx, llmux.EndpointTextCompletions, []byte(`{"model":"bad","prompt":"p"}`))
	if !errors.As(err, &e) || e.Kind != llmux.KindRateLimit {
		t.Fatalf("a mock 429: %v", err)
	}
	_, err = router.Call(ctx, llmux.Endpoint(42), []byte(`{"model":"m","prompt":"p"}`))
	if !errors.As(err, &e) || e.Kind != llmux.KindInvalidArgument {
		t.Fatalf("an unknown endpoint: %v", err)
	}
	_, err = router.TextCompletion(ctx, []byte(`{"model":"m"}`))
	if !errors.As(err, &e) || !strings.Contains(e.Message, "'prompt' is required") {
		t.Fatalf("no prompt: %v", err)
	}
}
