package llmux_test

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	llmux "github.com/llmux/llmux/bindings/go"
)

func TestVersion(t *testing.T) {
	if v := llmux.Version(); !regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(v) {
		t.Fatalf("Version() = %q, want a semantic version", v)
	}
}

func TestCompletionTyped(t *testing.T) {
	router := newTestRouter(t)
	temperature := 0.2
	resp, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{
		Model:       "gpt",
		Messages:    userMessage("hi"),
		Temperature: &temperature,
		MaxTokens:   16,
	})
	if err != nil {
		t.Fatalf("Completion: %v", err)
	}
	if len(resp.Choices) != 1 {
		t.Fatalf("choices = %d, want 1", len(resp.Choices))
	}
	choice := resp.Choices[0]
	if choice.Message.Content != "Hello from ok-gpt." || choice.Message.Role != "assistant" {
		t.Errorf("message = %+v, want the assistant's \"Hello from ok-gpt.\"", choice.Message)
	}
	if choice.FinishReason != "stop" {
		t.Errorf("finish_reason = %q, want stop", choice.FinishReason)
	}
	if resp.ID == "" || resp.Model == "" {
		t.Errorf("id %q, model %q: want both", resp.ID, resp.Model)
	}
	if resp.Usage.TotalTokens <= 0 || resp.Usage.CompletionTokens <= 0 {
		t.Errorf("usage = %+v, want token counts", resp.Usage)
	}
	assertNoSecret(t, "response", string(resp.Raw))
}

func TestCompletionMetadata(t *testing.T) {
	router := newTestRouter(t)
	resp, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{Model: "gpt", Messages: userMessage("hi")})
	if err != nil {
		t.Fatalf("Completion: %v", err)
	}
	m := resp.Metadata
	if m.DeploymentID != "gpt-1" || m.ModelGroup != "gpt" || m.RequestedModel != "gpt" {
		t.Errorf("deployment %q, group %q, requested %q: want gpt-1, gpt, gpt", m.DeploymentID, m.ModelGroup,
			m.RequestedModel)
	}
	if m.APIBase != fakeBaseURL || m.Provider != "openai" || m.DeploymentModel != "ok-gpt" {
		t.Errorf("api_base %q, provider %q, deployment model %q: want %q, openai, ok-gpt", m.APIBase, m.Provider,
			m.DeploymentModel, fakeBaseURL)
	}
	if m.Attempts != 1 || m.Retries != 0 || m.Fallbacks != 0 || m.FallbackModelGroup != "" {
		t.Errorf("attempts %d, retries %d, fallbacks %d (%q): want 1, 0, 0", m.Attempts, m.Retries, m.Fallbacks,
			m.FallbackModelGroup)
	}
	if m.CallID == 0 || m.Latency <= 0 {
		t.Errorf("call id %d, latency %v: want both set", m.CallID, m.Latency)
	}
	if m.TimeToFirstToken != 0 {
		t.Errorf("time to first token = %v, want 0 for a non-streaming call", m.TimeToFirstToken)
	}
	if m.Usage != resp.Usage || !m.UsageReported {
		t.Errorf("metadata usage %+v (reported %v), want the response's %+v", m.Usage, m.UsageReported, resp.Usage)
	}
	if m.FinishReason != "stop" {
		t.Errorf("metadata finish reason = %q, want stop", m.FinishReason)
	}
	if len(m.AttemptLog) != 1 || m.AttemptLog[0].DeploymentID != "gpt-1" || m.AttemptLog[0].ErrorType != "" {
		t.Errorf("attempt log = %+v, want one successful attempt on gpt-1", m.AttemptLog)
	}
	if m.Headers["x-litellm-model-group"] != "gpt" || m.Headers["x-litellm-model-id"] != "gpt-1" {
		t.Errorf("headers = %v, want x-litellm-model-group gpt and x-litellm-model-id gpt-1", m.Headers)
	}
}

func TestCompletionRaw(t *testing.T) {
	router := newTestRouter(t)
	raw, err := router.CompletionRaw(context.Background(),
		[]byte(`{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatalf("CompletionRaw: %v", err)
	}
	var resp struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Llmux struct {
			DeploymentID string `json:"deployment_id"`
			Attempts     int    `json:"attempts"`
		} `json:"_llmux"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("the response is not JSON: %v\n%s", err, raw)
	}
	if len(resp.Choices) != 1 || resp.Choices[0].Message.Content != "Hello from ok-gpt." {
		t.Errorf("choices = %+v, want \"Hello from ok-gpt.\"", resp.Choices)
	}
	if resp.Llmux.DeploymentID != "gpt-1" || resp.Llmux.Attempts != 1 {
		t.Errorf("_llmux = %+v, want deployment gpt-1 after 1 attempt", resp.Llmux)
	}
}

// Router-only keys travel in Extra and are honoured by the router.
func TestCompletionRouterKeys(t *testing.T) {
	router := newTestRouter(t)
	ctx := context.Background()

	mocked, err := router.Completion(ctx, &llmux.ChatCompletionRequest{
		Model: "gpt", Messages: userMessage("hi"), Extra: map[string]any{"mock_response": "mocked answer"},
	})
	if err != nil {
		t.Fatalf("Completion with mock_response: %v", err)
	}
	if got := mocked.Choices[0].Message.Content; got != "mocked answer" {
		t.Errorf("mock_response: content = %q, want \"mocked answer\"", got)
	}

	fellBack, err := router.Completion(ctx, &llmux.ChatCompletionRequest{
		Model: "broken", Messages: userMessage("hi"),
		Extra: map[string]any{"fallbacks": []string{"backup"}, "num_retries": 0, "timeout": 30,
			"metadata": map[string]any{"trace": "go"}},
	})
	if err != nil {
		t.Fatalf("Completion with fallbacks: %v", err)
	}
	m := fellBack.Metadata
	if fellBack.Choices[0].Message.Content != "Hello from ok-backup." || m.DeploymentID != "backup-1" ||
		m.ModelGroup != "backup" || m.Fallbacks != 1 || m.Attempts != 2 {
		t.Errorf("fallback: content %q, deployment %q, group %q, fallbacks %d, attempts %d; want backup-1 after "+
			"1 fallback and 2 attempts", fellBack.Choices[0].Message.Content, m.DeploymentID, m.ModelGroup,
			m.Fallbacks, m.Attempts)
	}
	if len(m.AttemptLog) != 2 || m.AttemptLog[0].DeploymentID != "broken-1" || m.AttemptLog[0].Status != 500 {
		t.Errorf("attempt log = %+v, want the 500 on broken-1 first", m.AttemptLog)
	} else if first, second := m.AttemptLog[0], m.AttemptLog[1]; first.Start < 0 || // 1 µs: rounding of the ms figures
		second.Start+time.Microsecond < first.Start+first.Latency || second.Start+second.Latency > m.Latency+time.Microsecond {
		t.Errorf("attempt log = %+v: each attempt must start after the previous one ended, within the call's %v",
			m.AttemptLog, m.Latency)
	}
}

func TestEmbedding(t *testing.T) {
	router := newTestRouter(t)
	resp, err := router.Embedding(context.Background(), &llmux.EmbeddingRequest{Model: "embed", Input: "hello"})
	if err != nil {
		t.Fatalf("Embedding: %v", err)
	}
	if len(resp.Data) != 1 || len(resp.Data[0].Embedding) != 4 {
		t.Fatalf("data = %+v, want one embedding of 4 floats", resp.Data)
	}
	if resp.Metadata.DeploymentID != "embed-1" || resp.Metadata.ModelGroup != "embed" || resp.Metadata.Attempts != 1 {
		t.Errorf("metadata = %+v, want embed-1 in group embed after 1 attempt", resp.Metadata)
	}
	assertNoSecret(t, "embedding response", string(resp.Raw))
}

func TestEmbeddingRaw(t *testing.T) {
	router := newTestRouter(t)
	raw, err := router.EmbeddingRaw(context.Background(), []byte(`{"model":"embed","input":["a","b"]}`))
	if err != nil {
		t.Fatalf("EmbeddingRaw: %v", err)
	}
	var resp struct {
		Data []struct {
			Embedding []float64 `json:"embedding"`
		} `json:"data"`
		Llmux struct {
			DeploymentID string `json:"deployment_id"`
		} `json:"_llmux"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		t.Fatalf("the response is not JSON: %v\n%s", err, raw)
	}
	if len(resp.Data) == 0 || len(resp.Data[0].Embedding) != 4 || resp.Llmux.DeploymentID != "embed-1" {
		t.Errorf("response = %s, want 4-float embeddings from embed-1", raw)
	}
}

// The request types encode as OpenAI bodies: optional fields left out, tool
// calls and content parts in OpenAI's shapes, Extra at the top level.
func TestRequestEncoding(t *testing.T) {
	zero := 0.0
	index := 0
	req := &llmux.ChatCompletionRequest{
		Model: "gpt",
		Messages: []llmux.Message{
			{Role: "system", Content: "be brief", Name: "setup"},
			{Role: "user", MultiContent: []llmux.ContentPart{
				{Type: "text", Text: "what is this?"},
				{Type: "image_url", ImageURL: &llmux.ImageURL{URL: "https://example.com/a.png"}},
			}},
			{Role: "assistant", ToolCalls: []llmux.ToolCall{{Index: &index, ID: "call_1", Type: "function",
				Function: llmux.FunctionCall{Name: "lookup", Arguments: `{"q":"a"}`}}}},
			{Role: "tool", ToolCallID: "call_1", Content: "found"},
		},
		Temperature:   &zero,
		StreamOptions: &llmux.StreamOptions{IncludeUsage: true},
		Tools: []llmux.Tool{{Type: "function", Function: llmux.FunctionDefinition{Name: "lookup",
			Parameters: map[string]any{"type": "object"}}}},
		Extra: map[string]any{"num_retries": 3, "model": "gpt-override"},
	}
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	want := `{"messages":[{"role":"system","content":"be brief","name":"setup"},` +
		`{"role":"user","content":[{"type":"text","text":"what is this?"},` +
		`{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]},` +
		`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function",` +
		`"function":{"name":"lookup","arguments":"{\"q\":\"a\"}"}}]},` +
		`{"role":"tool","content":"found","tool_call_id":"call_1"}],` +
		`"model":"gpt-override","num_retries":3,"stream_options":{"include_usage":true},` +
		`"temperature":0,"tools":[{"type":"function","function":{"name":"lookup","parameters":{"type":"object"}}}]}`
	if string(data) != want {
		t.Errorf("encoded request:\n%s\nwant:\n%s", data, want)
	}

	var decoded llmux.ChatCompletionRequest
	if err := json.Unmarshal(data, &decoded); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if len(decoded.Messages) != 4 || len(decoded.Messages[1].MultiContent) != 2 ||
		decoded.Messages[2].Content != "" || decoded.Messages[2].ToolCalls[0].Function.Name != "lookup" {
		t.Errorf("decoded messages = %+v", decoded.Messages)
	}

	// Extra keys that replace no field are appended to the struct's members.
	req.Extra = map[string]any{"num_retries": 3, "metadata": map[string]any{"tag": "a"}, "seed": json.RawMessage(`7`)}
	data, err = json.Marshal(req)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		t.Fatalf("the encoded request is not a JSON object: %v\n%s", err, data)
	}
	wantMembers := map[string]string{"model": `"gpt"`, "num_retries": `3`, "metadata": `{"tag":"a"}`, "seed": `7`,
		"temperature": `0`, "stream_options": `{"include_usage":true}`}
	for key, value := range wantMembers {
		if string(members[key]) != value {
			t.Errorf("member %q = %s, want %s", key, members[key], value)
		}
	}
	if len(members) != len(wantMembers)+2 || members["messages"] == nil || members["tools"] == nil {
		t.Errorf("encoded request has members %v", slices.Sorted(maps.Keys(members)))
	}
	if strings.Count(string(data), `"model":`) != 1 {
		t.Errorf("a member is encoded twice: %s", data)
	}

	req.Extra = map[string]any{"bad": func() {}}
	if _, err := json.Marshal(req); err == nil || !strings.Contains(err.Error(), `Extra["bad"]`) {
		t.Errorf("Marshal with an Extra value JSON cannot encode: err = %v, want one naming Extra[\"bad\"]", err)
	}
}
