package llmux_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	llmux "github.com/llmux/llmux/bindings/go"
)

func TestHealth(t *testing.T) {
	router := newTestRouter(t)
	health, err := router.Health("gpt")
	if err != nil {
		t.Fatalf("Health: %v", err)
	}
	if len(health) != 1 {
		t.Fatalf("Health(gpt) = %+v, want one deployment", health)
	}
	h := health[0]
	if h.ID != "gpt-1" || h.ModelGroup != "gpt" || h.APIBase != fakeBaseURL || !h.Healthy || h.State != "healthy" ||
		h.InFlight != 0 || h.CooldownRemaining != 0 {
		t.Errorf("Health(gpt) = %+v, want gpt-1 healthy and idle", h)
	}

	all, err := router.Health("")
	if err != nil {
		t.Fatalf("Health(\"\"): %v", err)
	}
	if len(all) != testDeploymentCount {
		t.Errorf("Health(\"\") lists %d deployments, want %d", len(all), testDeploymentCount)
	}
	none, err := router.Health("no-such-group")
	if err != nil || len(none) != 0 {
		t.Errorf("Health(no-such-group) = %+v, %v; want nothing", none, err)
	}
}

// A 429 in a group with another deployment cools the deployment down.
func TestHealthCooldown(t *testing.T) {
	router := newRouterFrom(t, "model_list:\n"+
		deployment("pair", "status-429-pair", "pair-limited")+
		deployment("pair", "ok-pair", "pair-ok")+
		"router_settings: {num_retries: 0, cooldown_time: 60, routing_strategy: simple-shuffle}\n")
	for {
		_, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "pair", Messages: userMessage("hi")})
		if err != nil {
			break // simple-shuffle picked the limited one: it is cooling down now
		}
	}
	health, err := router.Health("pair")
	if err != nil {
		t.Fatalf("Health: %v", err)
	}
	states := map[string]llmux.DeploymentHealth{}
	for _, h := range health {
		states[h.ID] = h
	}
	limited := states["pair-limited"]
	if limited.State != "cooling_down" || limited.Healthy || limited.Status != 429 || limited.CooldownRemaining <= 0 ||
		!strings.Contains(limited.Reason, "429") {
		t.Errorf("pair-limited = %+v, want cooling down after a 429", limited)
	}
	if states["pair-ok"].State != "healthy" {
		t.Errorf("pair-ok = %+v, want healthy", states["pair-ok"])
	}
}

func TestDeployments(t *testing.T) {
	router := newTestRouter(t)
	deployments, err := router.Deployments()
	if err != nil {
		t.Fatalf("Deployments: %v", err)
	}
	if len(deployments) != testDeploymentCount {
		t.Fatalf("Deployments() lists %d deployments, want %d", len(deployments), testDeploymentCount)
	}
	byID := map[string]llmux.Deployment{}
	for _, d := range deployments {
		byID[d.ID()] = d
	}
	gpt, ok := byID["gpt-1"]
	if !ok {
		t.Fatalf("gpt-1 is not listed: %+v", deployments)
	}
	if gpt.ModelName != "gpt" || gpt.LiteLLMParams["model"] != "openai/ok-gpt" || gpt.LiteLLMParams["api_key"] != "***" {
		t.Errorf("gpt-1 = %+v, want model_name gpt, model openai/ok-gpt, api_key ***", gpt)
	}
	assertNoSecret(t, "deployments", fmt.Sprint(deployments))
}

func TestMetrics(t *testing.T) {
	router := newTestRouter(t)
	if _, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "gpt", Messages: userMessage("hi")}); err != nil {
		t.Fatalf("Completion: %v", err)
	}
	metrics, err := router.Metrics()
	if err != nil {
		t.Fatalf("Metrics: %v", err)
	}
	if !strings.Contains(metrics, "llmux_calls_total") {
		t.Errorf("metrics after a call lack llmux_calls_total:\n%s", metrics)
	}
	assertNoSecret(t, "metrics", metrics)
}

func TestAddRemoveDeployment(t *testing.T) {
	router := newTestRouter(t)
	ctx := context.Background()
	request := &llmux.ChatCompletionRequest{Model: "added", Messages: userMessage("hi")}
	if _, err := router.Completion(ctx, request); !errors.Is(err, llmux.ErrBadRequest) {
		t.Fatalf("Completion before the deployment exists: err = %v, want a BadRequestError", err)
	}

	if err := router.AddDeployment(deploymentYAML("added", "ok-added", "added-1")); err != nil {
		t.Fatalf("AddDeployment (YAML): %v", err)
	}
	resp, err := router.Completion(ctx, request)
	if err != nil {
		t.Fatalf("Completion on the added deployment: %v", err)
	}
	if resp.Choices[0].Message.Content != "Hello from ok-added." || resp.Metadata.DeploymentID != "added-1" {
		t.Errorf("content %q from %q, want \"Hello from ok-added.\" from added-1", resp.Choices[0].Message.Content,
			resp.Metadata.DeploymentID)
	}
	jsonDeployment := fmt.Sprintf(`{"model_name":"added","litellm_params":{"model":"openai/ok-added-json",`+
		`"api_base":%q,"api_key":%q},"model_info":{"id":"added-2"}}`, fakeBaseURL, testSecret)
	if err := router.AddDeployment(jsonDeployment); err != nil {
		t.Fatalf("AddDeployment (JSON): %v", err)
	}
	health, err := router.Health("added")
	if err != nil || len(health) != 2 {
		t.Fatalf("Health(added) = %+v, %v; want both added deployments", health, err)
	}

	var e *llmux.Error
	if err := router.AddDeployment(jsonDeployment); !errors.As(err, &e) || e.Kind != llmux.KindInvalidArgument ||
		!strings.Contains(e.Message, "added-2") {
		t.Errorf("AddDeployment of an existing id: err = %v, want an InvalidArgumentError naming added-2", err)
	}
	if err := router.AddDeployment("model_name: [unclosed"); !errors.As(err, &e) || e.Kind != llmux.KindInvalidConfig {
		t.Errorf("AddDeployment of broken YAML: err = %v, want an InvalidConfigError", err)
	}

	if err := router.RemoveDeployment("added-1"); err != nil {
		t.Fatalf("RemoveDeployment(added-1): %v", err)
	}
	if err := router.RemoveDeployment("added-2"); err != nil {
		t.Fatalf("RemoveDeployment(added-2): %v", err)
	}
	if _, err := router.Completion(ctx, request); !errors.Is(err, llmux.ErrBadRequest) {
		t.Errorf("Completion after removing the group's deployments: err = %v, want a BadRequestError", err)
	}
	if err := router.RemoveDeployment("added-1"); !errors.As(err, &e) || e.Kind != llmux.KindNotFound ||
		!strings.Contains(e.Message, "added-1") {
		t.Errorf("RemoveDeployment of an unknown id: err = %v, want a NotFoundError naming added-1", err)
	}
}
