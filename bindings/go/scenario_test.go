package llmux_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	llmux "github.com/llmux/llmux/bindings/go"
)

// scenarioDir holds the cross-binding scenario every binding suite runs.
var scenarioDir = filepath.Join("..", "..", "tests", "shared")

type scenario struct {
	Config          string            `json:"config"`
	EnvRootURL      string            `json:"env_root_url"`
	Env             map[string]string `json:"env"`
	SecretNeverSeen string            `json:"secret_never_seen"`
	Steps           []scenarioStep    `json:"steps"`
}

type scenarioStep struct {
	Name    string                     `json:"name"`
	Call    string                     `json:"call"`
	Request json.RawMessage            `json:"request"`
	Group   string                     `json:"group"`
	Expect  map[string]json.RawMessage `json:"expect"`
}

// stepOutcome is what one step produced, in the scenario's vocabulary.
type stepOutcome struct {
	content         string
	metadata        llmux.Metadata
	err             *llmux.Error
	streamUsage     bool
	embeddingLength int
	states          map[string]string
}

// TestSharedScenario runs tests/shared/scenario.json in order through the Go
// API and checks every expectation of every step.
func TestSharedScenario(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(scenarioDir, "scenario.json"))
	if err != nil {
		t.Fatalf("reading the shared scenario: %v", err)
	}
	var sc scenario
	if err := json.Unmarshal(data, &sc); err != nil {
		t.Fatalf("scenario.json: %v", err)
	}
	// TestMain exported LLMUX_FAKE_BASE_URL; the Anthropic deployments' api_base is the root URL.
	t.Setenv(sc.EnvRootURL, strings.TrimSuffix(fakeBaseURL, "/v1"))
	// The fixed environment: the AWS test keys the fake checks Bedrock's SigV4 signatures with.
	for name, value := range sc.Env {
		t.Setenv(name, value)
	}
	config, err := os.ReadFile(filepath.Join(scenarioDir, sc.Config))
	if err != nil {
		t.Fatalf("reading the scenario config: %v", err)
	}
	router := newRouterFrom(t, string(config))
	var seen []string // every text the router gave back, checked for the secret at the end
	for i, step := range sc.Steps {
		outcome, texts := runScenarioStep(t, router, step)
		seen = append(seen, texts...)
		checkScenarioStep(t, fmt.Sprintf("step %d (%s)", i+1, step.Name), step.Expect, outcome)
	}

	deployments, err := router.Deployments()
	if err != nil {
		t.Fatalf("Deployments: %v", err)
	}
	metrics, err := router.Metrics()
	if err != nil {
		t.Fatalf("Metrics: %v", err)
	}
	seen = append(seen, fmt.Sprintf("%+v", deployments), metrics)
	for _, text := range seen {
		if strings.Contains(text, sc.SecretNeverSeen) {
			t.Errorf("the secret %q leaked: %s", sc.SecretNeverSeen, text)
		}
	}
}

// decodeStrict decodes a scenario request into a typed request, failing on a
// key the type does not know (so a new scenario key cannot be dropped silently).
func decodeStrict(t *testing.T, data []byte, into any) {
	t.Helper()
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(into); err != nil {
		t.Fatalf("scenario request %s: %v", data, err)
	}
}

func runScenarioStep(t *testing.T, router *llmux.Router, step scenarioStep) (stepOutcome, []string) {
	t.Helper()
	ctx := context.Background()
	var outcome stepOutcome
	var texts []string
	var err error
	switch step.Call {
	case "completion":
		var req llmux.ChatCompletionRequest
		decodeStrict(t, step.Request, &req)
		var resp *llmux.ChatCompletionResponse
		if resp, err = router.Completion(ctx, &req); err == nil {
			outcome.content = resp.Choices[0].Message.Content
			outcome.metadata = resp.Metadata
			texts = append(texts, string(resp.Raw))
		}
	case "stream":
		var req llmux.ChatCompletionRequest
		decodeStrict(t, step.Request, &req)
		var stream *llmux.Stream
		if stream, err = router.Stream(ctx, &req); err == nil {
			var last *llmux.ChatCompletionChunk
			for stream.Next() {
				last = stream.Chunk()
				texts = append(texts, string(stream.Raw()))
				for _, choice := range last.Choices {
					outcome.content += choice.Delta.Content
				}
			}
			if err = stream.Err(); err == nil {
				outcome.metadata = *stream.Metadata()
				outcome.streamUsage = last != nil && last.Usage != nil && last.Usage.CompletionTokens > 0
			}
		}
	case "embedding":
		var req llmux.EmbeddingRequest
		decodeStrict(t, step.Request, &req)
		var resp *llmux.EmbeddingResponse
		if resp, err = router.Embedding(ctx, &req); err == nil {
			outcome.metadata = resp.Metadata
			if len(resp.Data) > 0 {
				outcome.embeddingLength = len(resp.Data[0].Embedding)
			}
			texts = append(texts, string(resp.Raw))
		}
	case "health":
		var health []llmux.DeploymentHealth
		if health, err = router.Health(step.Group); err == nil {
			outcome.states = map[string]string{}
			for _, h := range health {
				outcome.states[h.ID] = h.State
			}
			texts = append(texts, fmt.Sprintf("%+v", health))
		}
	default:
		t.Fatalf("step %q: unknown call %q", step.Name, step.Call)
	}
	if err != nil {
		if !errors.As(err, &outcome.err) {
			t.Fatalf("step %q: %v is not an *llmux.Error", step.Name, err)
		}
		texts = append(texts, err.Error(), string(outcome.err.Raw))
	}
	return outcome, texts
}

func checkScenarioStep(t *testing.T, name string, expect map[string]json.RawMessage, got stepOutcome) {
	t.Helper()
	check := func(key string, value any) {
		want := expect[key]
		var wantValue any
		if err := json.Unmarshal(want, &wantValue); err != nil {
			t.Fatalf("%s: expect.%s: %v", name, key, err)
		}
		gotJSON, _ := json.Marshal(value)
		var gotValue any
		json.Unmarshal(gotJSON, &gotValue)
		if fmt.Sprint(gotValue) != fmt.Sprint(wantValue) {
			t.Errorf("%s: %s = %s, want %s", name, key, gotJSON, want)
		}
	}
	for key := range expect {
		switch key {
		case "ok":
			check(key, got.err == nil)
			if got.err != nil && string(expect[key]) == "true" {
				t.Errorf("%s: failed: %v", name, got.err)
			}
		case "content":
			check(key, got.content)
		case "deployment_id":
			check(key, got.metadata.DeploymentID)
		case "model_group":
			check(key, got.metadata.ModelGroup)
		case "attempts":
			check(key, got.metadata.Attempts)
		case "fallbacks":
			check(key, got.metadata.Fallbacks)
		case "stream_usage":
			check(key, got.streamUsage)
		case "embedding_length":
			check(key, got.embeddingLength)
		case "states":
			var want map[string]string
			json.Unmarshal(expect[key], &want)
			for id, state := range want {
				if got.states[id] != state {
					t.Errorf("%s: state of %s = %q, want %q", name, id, got.states[id], state)
				}
			}
		case "type", "status", "kind":
			if got.err == nil {
				t.Errorf("%s: expect.%s but the call succeeded", name, key)
				continue
			}
			switch key {
			case "type":
				check(key, got.err.Type)
			case "status":
				check(key, got.err.Status)
			case "kind":
				check(key, int(got.err.Kind))
			}
		default:
			t.Errorf("%s: the Go suite does not check expect.%s: teach it", name, key)
		}
	}
}
