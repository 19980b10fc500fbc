package llmux_test

import (
	"context"
	"errors"
	"testing"

	llmux "github.com/llmux/llmux/bindings/go"
)

const modelInfoConfig = "model_list:\n" +
	"  - model_name: g\n    litellm_params: {model: openai/gpt-4o, api_key: k, rpm: 2}\n    model_info: {id: gpt}\n" +
	"  - model_name: g\n    litellm_params: {model: anthropic/claude-haiku-4-5, api_key: k, rpm: 3}\n" +
	"    model_info: {id: claude}\n" +
	"  - model_name: custom\n    litellm_params: {model: openai/gpt-4o, api_key: k, input_cost_per_token: 0.5}\n" +
	"    model_info: {id: custom, max_input_tokens: 999, access_groups: [team]}\n"

func TestModelInfoFromTheMap(t *testing.T) {
	router := newRouterFrom(t, modelInfoConfig)
	info, err := router.DeploymentModelInfo("gpt")
	if err != nil {
		t.Fatalf("DeploymentModelInfo: %v", err)
	}
	if info.Key != "gpt-4o" || !info.Mapped || info.LiteLLMProvider != "openai" || info.Mode == nil || *info.Mode != "chat" {
		t.Errorf("info = %+v, want gpt-4o's map entry", info)
	}
	if info.MaxInputTokens == nil || *info.MaxInputTokens != 128000 || info.InputCostPerToken != 2.5e-6 {
		t.Errorf("limits/prices = %v %v, want 128000 2.5e-6", info.MaxInputTokens, info.InputCostPerToken)
	}
	if !info.Supports["supports_vision"] {
		t.Errorf("Supports = %v, want supports_vision", info.Supports)
	}
	custom, err := router.ModelInfo(llmux.ModelInfoQuery{DeploymentID: "custom"})
	if err != nil {
		t.Fatalf("ModelInfo(custom): %v", err)
	}
	if *custom.MaxInputTokens != 999 || custom.InputCostPerToken != 0.5 || *custom.MaxOutputTokens != 16384 {
		t.Errorf("custom = %+v, want model_info and custom prices over the map", custom)
	}
	if groups, ok := custom.Fields["access_groups"].([]any); !ok || len(groups) != 1 || groups[0] != "team" {
		t.Errorf("Fields[access_groups] = %v, want [team]", custom.Fields["access_groups"])
	}
	bare, err := router.ModelInfo(llmux.ModelInfoQuery{Model: "gpt-4o"})
	if err != nil || bare.OutputCostPerToken != 1e-5 {
		t.Errorf("ModelInfo(model gpt-4o) = %+v, %v", bare, err)
	}
}

func TestModelGroupInfo(t *testing.T) {
	router := newRouterFrom(t, modelInfoConfig)
	group, err := router.ModelGroupInfo("g")
	if err != nil {
		t.Fatalf("ModelGroupInfo: %v", err)
	}
	if len(group.Providers) != 2 || group.Providers[0] != "openai" || group.Providers[1] != "anthropic" {
		t.Errorf("Providers = %v", group.Providers)
	}
	if *group.MaxInputTokens != 200000 || *group.RPM != 5 || group.TPM != nil {
		t.Errorf("group = %+v, want the largest context window and summed rpm", group)
	}
	if !group.Supports["supports_reasoning"] || group.Supports["supports_url_context"] {
		t.Errorf("Supports = %v", group.Supports)
	}
}

func TestModelInfoErrors(t *testing.T) {
	router := newRouterFrom(t, modelInfoConfig)
	if _, err := router.DeploymentModelInfo("nope"); !errors.Is(err, llmux.ErrNotFound) {
		t.Errorf("DeploymentModelInfo(nope) = %v, want ErrNotFound", err)
	}
	if _, err := router.ModelGroupInfo("nope"); !errors.Is(err, llmux.ErrNotFound) {
		t.Errorf("ModelGroupInfo(nope) = %v, want ErrNotFound", err)
	}
	if _, err := router.ModelInfo(llmux.ModelInfoQuery{}); !errors.Is(err, llmux.ErrInvalidArgument) {
		t.Errorf("ModelInfo(empty) = %v, want ErrInvalidArgument", err)
	}
	if _, err := router.DeploymentModelInfo(""); !errors.Is(err, llmux.ErrInvalidArgument) {
		t.Errorf("DeploymentModelInfo(\"\") = %v, want ErrInvalidArgument", err)
	}
	router.Close()
	if _, err := router.ModelGroupInfo("g"); !errors.Is(err, llmux.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if err := router.Reset(); !errors.Is(err, llmux.ErrClosed) {
		t.Errorf("Reset after Close: %v, want ErrClosed", err)
	}
}

func TestResetEndsCooldowns(t *testing.T) {
	router := newRouterFrom(t, "model_list:\n"+deployment("auth", "status-401", "bad")+
		"router_settings: {num_retries: 0, cooldown_time: 600}\n")
	call := func() error {
		_, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "auth", Messages: userMessage("hi")})
		return err
	}
	if err := call(); !errors.Is(err, llmux.ErrAuthentication) {
		t.Fatalf("first call: %v, want ErrAuthentication", err)
	}
	if err := call(); !errors.Is(err, llmux.ErrNoDeploymentsAvailable) {
		t.Fatalf("while cooling down: %v, want ErrNoDeploymentsAvailable", err)
	}
	if err := router.Reset(); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	health, err := router.Health("auth")
	if err != nil || len(health) != 1 || health[0].State != "healthy" {
		t.Errorf("Health after Reset = %+v, %v; want healthy", health, err)
	}
	if err := call(); !errors.Is(err, llmux.ErrAuthentication) {
		t.Errorf("after Reset: %v, want the deployment routed to again (ErrAuthentication)", err)
	}
}
