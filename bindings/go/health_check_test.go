package llmux_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	llmux "github.com/llmux/llmux/bindings/go"
)

// Active health checks: a round now, the LiteLLM /health-shaped report,
// routing around a deployment that failed its check, background checks.
func TestCheckHealthReportsAndRoutesAround(t *testing.T) {
	router := newRouterFrom(t, "general_settings: {enable_health_check_routing: true}\nmodel_list:\n"+
		deployment("checked", "ok-checked", "checked-ok")+
		deployment("checked", "status-503-checked", "checked-down")+
		deployment("other", "ok-other", "other-1")+
		"router_settings: {num_retries: 0}\n")

	before, err := router.HealthReport("")
	if err != nil {
		t.Fatalf("HealthReport: %v", err)
	}
	if len(before.UncheckedEndpoints) != 3 || len(before.HealthyEndpoints) != 0 ||
		before.UncheckedEndpoints[0].Error != "not checked yet" {
		t.Errorf("HealthReport before any check = %+v, want three unchecked", before)
	}

	report, err := router.CheckHealth(context.Background(), "checked")
	if err != nil {
		t.Fatalf("CheckHealth: %v", err)
	}
	if len(report.HealthyEndpoints) != 1 || len(report.UnhealthyEndpoints) != 1 || len(report.UncheckedEndpoints) != 0 {
		t.Fatalf("CheckHealth(checked) = %+v, want one healthy and one unhealthy", report)
	}
	good, bad := report.HealthyEndpoints[0], report.UnhealthyEndpoints[0]
	if good.ModelID != "checked-ok" || good.Model != "openai/ok-checked" || good.Mode != "chat" ||
		good.CheckedBy != "this replica" || time.Since(good.LastCheckAt) > time.Hour || good.RoutedAround {
		t.Errorf("healthy endpoint = %+v", good)
	}
	if bad.ModelID != "checked-down" || bad.ModelGroup != "checked" || bad.Status != 503 ||
		bad.ErrorType != "ServiceUnavailableError" || bad.Error == "" || !bad.RoutedAround || bad.APIBase != fakeBaseURL {
		t.Errorf("unhealthy endpoint = %+v", bad)
	}

	for i := 0; i < 10; i++ {
		resp, err := router.Completion(context.Background(),
			&llmux.ChatCompletionRequest{Model: "checked", Messages: userMessage("hi")})
		if err != nil {
			t.Fatalf("Completion: %v", err)
		}
		if resp.Metadata.DeploymentID != "checked-ok" {
			t.Fatalf("call served by %q, want checked-ok (checked-down failed its check)", resp.Metadata.DeploymentID)
		}
	}

	health, err := router.Health("checked")
	if err != nil {
		t.Fatalf("Health: %v", err)
	}
	for _, h := range health {
		if h.LastCheck == nil {
			t.Fatalf("%s: no LastCheck after CheckHealth", h.ID)
		}
		switch h.ID {
		case "checked-down":
			if h.State != "failed_health_check" || !h.FailedHealthCheck || h.Healthy || h.LastCheck.Healthy ||
				h.LastCheck.Status != 503 || h.NextHealthCheck >= 0 {
				t.Errorf("checked-down = %+v, last check %+v", h, *h.LastCheck)
			}
		case "checked-ok":
			if !h.LastCheck.Healthy || h.LastCheck.Mode != "chat" || h.FailedHealthCheck {
				t.Errorf("checked-ok = %+v, last check %+v", h, *h.LastCheck)
			}
		}
	}

	none, err := router.CheckHealth(context.Background(), "no-such-group")
	if err != nil || len(none.HealthyEndpoints)+len(none.UnhealthyEndpoints)+len(none.UncheckedEndpoints) != 0 {
		t.Errorf("CheckHealth(no-such-group) = %+v, %v; want an empty report", none, err)
	}
	text, _ := json.Marshal(report)
	all, _ := json.Marshal(health)
	if strings.Contains(string(text)+string(all), testSecret) {
		t.Errorf("a key reached a health report")
	}
}

func TestCheckHealthReturnsWhenTheContextEnds(t *testing.T) {
	router := newRouterFrom(t, "model_list:\n"+deployment("slow", "slow-1500-checked", "slow-1"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	started := time.Now()
	if _, err := router.CheckHealth(ctx, ""); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("CheckHealth with a 50 ms context = %v, want context.DeadlineExceeded", err)
	}
	if time.Since(started) > 1400*time.Millisecond {
		t.Errorf("CheckHealth waited for the check instead of the context")
	}
}

func TestBackgroundHealthChecks(t *testing.T) {
	router := newRouterFrom(t, "general_settings: {background_health_checks: true, health_check_interval: 0.2}\n"+
		"model_list:\n"+deployment("bg", "ok-bg", "bg-1")+deployment("bg", "ok-bg-2", "bg-2"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		health, err := router.Health("bg")
		if err != nil {
			t.Fatalf("Health: %v", err)
		}
		checked := 0
		for _, h := range health {
			if h.LastCheck != nil && h.LastCheck.Healthy && h.NextHealthCheck >= 0 {
				checked++
			}
		}
		if checked == len(health) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("background checks did not run: %+v", health)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
