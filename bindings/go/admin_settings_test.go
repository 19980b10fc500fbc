package llmux_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	llmux "github.com/llmux/llmux/bindings/go"
)

var pairConfig = "model_list:\n" + deployment("pair", "ok-a", "pair-a") + deployment("pair", "ok-b", "pair-b")

func TestPick(t *testing.T) {
	router := newRouterFrom(t, pairConfig)
	for i := 0; i < 10; i++ {
		picked, err := router.Pick([]byte(`{"model":"pair"}`), llmux.PickOptions{})
		if err != nil {
			t.Fatalf("Pick: %v", err)
		}
		if picked.ID != "pair-a" && picked.ID != "pair-b" || picked.ModelGroup != "pair" {
			t.Fatalf("Pick = %+v, want a deployment of pair", picked)
		}
		var entry struct {
			ModelName     string         `json:"model_name"`
			LitellmParams map[string]any `json:"litellm_params"`
		}
		if err := json.Unmarshal(picked.Deployment, &entry); err != nil {
			t.Fatalf("deployment JSON: %v", err)
		}
		if entry.ModelName != "pair" || entry.LitellmParams["api_key"] != "***" {
			t.Errorf("deployment = %s, want pair with its key redacted", picked.Deployment)
		}
	}
	usage, err := router.ModelGroupUsage("pair")
	if err != nil || usage.RPM != 0 {
		t.Errorf("ModelGroupUsage after picks = %+v, %v; want no requests counted", usage, err)
	}
	secret, err := router.Pick([]byte(`{"model":"pair"}`), llmux.PickOptions{IncludeSecrets: true})
	if err != nil || !strings.Contains(string(secret.Deployment), testSecret) {
		t.Errorf("Pick(IncludeSecrets) = %v, %v; want the key", secret, err)
	}
	specific, err := router.Pick([]byte(`{"model":"pair-b"}`), llmux.PickOptions{SpecificDeployment: true})
	if err != nil || specific.ID != "pair-b" {
		t.Errorf("Pick(SpecificDeployment) = %+v, %v; want pair-b", specific, err)
	}
	if _, err := router.Pick([]byte(`{"model":"nope"}`), llmux.PickOptions{}); !errors.Is(err, llmux.KindBadRequest) {
		t.Errorf("Pick(unknown) error = %v, want KindBadRequest", err)
	}
	if _, err := router.Pick(nil, llmux.PickOptions{}); !errors.Is(err, llmux.KindInvalidArgument) {
		t.Errorf("Pick(nil) error = %v, want KindInvalidArgument", err)
	}
}

func TestModelGroupUsageAndHeaders(t *testing.T) {
	router := newRouterFrom(t, "model_list:\n"+
		"  - model_name: lim\n    litellm_params:\n      model: openai/ok-lim\n"+
		"      api_base: os.environ/LLMUX_FAKE_BASE_URL\n      api_key: "+testSecret+"\n      rpm: 100\n"+
		"    model_info: {id: lim-1}\n")
	var last *llmux.ChatCompletionResponse
	for i := 0; i < 2; i++ {
		resp, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "lim", Messages: userMessage("hi")})
		if err != nil {
			t.Fatalf("Completion: %v", err)
		}
		last = resp
	}
	usage, err := router.ModelGroupUsage("lim")
	if err != nil {
		t.Fatalf("ModelGroupUsage: %v", err)
	}
	if usage.RPM != 2 || usage.RPMLimit == nil || *usage.RPMLimit != 100 || usage.TPMLimit != nil ||
		usage.Headers["x-ratelimit-remaining-requests"] != 98 {
		t.Errorf("ModelGroupUsage = %+v, want 2 of 100 requests", usage)
	}
	if got := last.Metadata.Headers["x-ratelimit-remaining-requests"]; got != "98" {
		t.Errorf("metadata x-ratelimit-remaining-requests = %q, want 98", got)
	}
	if _, err := router.ModelGroupUsage("nope"); !errors.Is(err, llmux.KindNotFound) {
		t.Errorf("ModelGroupUsage(unknown) error = %v, want KindNotFound", err)
	}
}

func TestUpdateSettings(t *testing.T) {
	router := newRouterFrom(t, "model_list:\n"+deployment("bad", "status-500-go", "bad-1")+
		"router_settings: {num_retries: 0}\n")
	settings, err := router.Settings()
	if err != nil || settings["num_retries"] != float64(0) || settings["routing_strategy"] != "simple-shuffle" {
		t.Fatalf("Settings = %v, %v", settings, err)
	}
	if err := router.UpdateSettings(map[string]any{"num_retries": 2, "routing_strategy": "least-busy"}); err != nil {
		t.Fatalf("UpdateSettings: %v", err)
	}
	settings, _ = router.Settings()
	if settings["num_retries"] != float64(2) || settings["routing_strategy"] != "least-busy" {
		t.Errorf("Settings after update = %v", settings)
	}
	_, err = router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "bad", Messages: userMessage("hi")})
	var e *llmux.Error
	if !errors.As(err, &e) || e.Metadata.Attempts != 3 {
		t.Errorf("Completion after num_retries=2: %v, want 3 attempts", err)
	}
	err = router.UpdateSettings(map[string]any{"num_retries": 5, "cooldown_time": "soon"})
	if !errors.Is(err, llmux.KindInvalidArgument) || !strings.Contains(err.Error(), "cooldown_time") {
		t.Errorf("UpdateSettings(bad value) error = %v, want KindInvalidArgument naming cooldown_time", err)
	}
	if err := router.UpdateSettingsJSON([]byte(`{"no_such": 1}`)); !errors.Is(err, llmux.KindInvalidArgument) {
		t.Errorf("UpdateSettingsJSON(unknown key) error = %v", err)
	}
	settings, _ = router.Settings()
	if settings["num_retries"] != float64(2) {
		t.Errorf("a rejected update changed num_retries: %v", settings["num_retries"])
	}
}
