package llmux

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"testing"
)

// checkEncoders encodes req with the hand-written encoder and with
// encoding/json (marshalReflect) and fails unless both give the same bytes,
// or the same error. fast says whether the hand-written one must take it.
func checkEncoders(t *testing.T, name string, req *ChatCompletionRequest, fast bool) {
	t.Helper()
	want, wantErr := req.marshalReflect()
	got, ok := appendChatRequest(nil, req)
	if ok != fast {
		t.Errorf("%s: the hand-written encoder took it: %v, want %v", name, ok, fast)
	}
	if ok && (wantErr != nil || !bytes.Equal(got, want)) {
		t.Errorf("%s: hand-written encoding\n%s\nencoding/json (error %v)\n%s", name, got, wantErr, want)
	}
	// MarshalJSON, whichever encoder it used, is encoding/json's answer.
	public, err := req.MarshalJSON()
	if !bytes.Equal(public, want) || (err == nil) != (wantErr == nil) ||
		(err != nil && err.Error() != wantErr.Error()) {
		t.Errorf("%s: MarshalJSON gave %s (error %v), want %s (error %v)", name, public, err, want, wantErr)
	}
}

func ptr[T any](v T) *T { return &v }

func TestChatRequestEncoderMatchesReflection(t *testing.T) {
	body, err := os.ReadFile("testdata/bench_request.json")
	if err != nil {
		t.Fatal(err)
	}
	var bench ChatCompletionRequest
	if err := json.Unmarshal(body, &bench); err != nil {
		t.Fatal(err)
	}
	checkEncoders(t, "benchmark request", &bench, true)
	var generic map[string]any
	if err := json.Unmarshal(body, &generic); err != nil {
		t.Fatal(err)
	}
	bench.Extra = map[string]any{"metadata": generic["metadata"], "num_retries": json.RawMessage(" 2 "),
		"raw": json.RawMessage(`{ "b" : [1, 2.50, "<&>"] , "a":null }`), "n": 7, "i64": int64(-3), "i32": int32(4),
		"u": uint64(math.MaxUint64), "f32": float32(0.1), "list": []string{"x", "<y>"}, "nil_list": []string(nil),
		"nil_map": map[string]any(nil), "nil_any": nil, "nil_slice": []any(nil), "bools": []any{true, false},
		"struct": struct {
			A int `json:"a"`
			B string
		}{1, "b"}, "named": Kind(3), "nested": map[string]any{"z": 1.0, "a": []any{map[string]any{}, "\u2028"}}}
	checkEncoders(t, "Extra of every kind", &bench, true)

	tricky := "a\"b\\c\n\r\t\b\f\x00\x1f<tag>&amp;\u2028\u2029\xff\xc3(ok) Grüße 🙂 \u007f"
	checkEncoders(t, "strings to escape", &ChatCompletionRequest{
		Model: tricky, User: tricky, Stop: []string{tricky, ""},
		Messages: []Message{
			{Role: "user", Content: tricky, Name: tricky},
			{Role: "user", MultiContent: []ContentPart{{Type: "text", Text: tricky},
				{Type: "image_url", ImageURL: &ImageURL{URL: "https://x/<y>", Detail: "low"}},
				{Type: "image_url", ImageURL: &ImageURL{URL: "u"}}}},
			{Role: "user", MultiContent: []ContentPart{}},
			{Role: "assistant", ToolCalls: []ToolCall{{Index: ptr(0), ID: "c1", Type: "function",
				Function: FunctionCall{Name: "f", Arguments: `{"a":1}`}}, {Function: FunctionCall{}}}},
			{Role: "assistant", Content: "both", ToolCalls: []ToolCall{{ID: "c2", Function: FunctionCall{Name: "g"}}}},
			{Role: "tool", ToolCallID: "c1", Content: ""},
			{},
		},
		Tools: []Tool{{Type: "function", Function: FunctionDefinition{Name: "f"}},
			{Type: "function", Function: FunctionDefinition{Name: "g", Description: tricky,
				Parameters: json.RawMessage(`{"type":"object"}`)}}},
		ToolChoice:     map[string]any{"type": "function", "function": map[string]any{"name": "f"}},
		ResponseFormat: map[string]any{"type": "json_object"},
		StreamOptions:  &StreamOptions{IncludeUsage: true},
	}, true)

	for _, f := range []float64{0, math.Copysign(0, -1), 0.1, 1, -2.5, 1e-6, 9.99e-7, 1e-7, 1.5e-300, 1e20, 1e21,
		123456789e20, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		checkEncoders(t, "temperature", &ChatCompletionRequest{Model: "m", Temperature: ptr(f), TopP: ptr(-f),
			Extra: map[string]any{"x": f}}, true)
	}
	checkEncoders(t, "no messages", &ChatCompletionRequest{}, true)
	checkEncoders(t, "empty messages", &ChatCompletionRequest{Model: "m", Messages: []Message{}, MaxTokens: -1}, true)
	checkEncoders(t, "empty stop and tools", &ChatCompletionRequest{Stop: []string{}, Tools: []Tool{}}, true)
	checkEncoders(t, "empty Extra", &ChatCompletionRequest{Model: "m", Extra: map[string]any{}}, true)

	// Left to encoding/json: a key that replaces a field, values that do not encode.
	checkEncoders(t, "Extra replaces a field", &ChatCompletionRequest{Model: "m",
		Extra: map[string]any{"model": "other", "temperature": 1, "zzz": 1}}, false)
	checkEncoders(t, "NaN", &ChatCompletionRequest{Model: "m", Temperature: ptr(math.NaN())}, false)
	checkEncoders(t, "infinite Extra", &ChatCompletionRequest{Model: "m",
		Extra: map[string]any{"x": []any{math.Inf(1)}}}, false)
	checkEncoders(t, "channel", &ChatCompletionRequest{Model: "m", ToolChoice: make(chan int)}, false)
	checkEncoders(t, "invalid RawMessage", &ChatCompletionRequest{Model: "m",
		Extra: map[string]any{"x": json.RawMessage(`{`)}}, false)
}

// FuzzChatRequestEncoder: any strings and numbers, the two encoders agree
// (go test -fuzz FuzzChatRequestEncoder; the plain run checks the seeds).
func FuzzChatRequestEncoder(f *testing.F) {
	f.Add("production-llm", "hello", "<b>&", 0.2, int64(512), "k")
	f.Add("\xff\xfe", "\u2028\x01", "\\\"", 1e-9, int64(-1), "")
	f.Fuzz(func(t *testing.T, model, content, name string, temperature float64, n int64, key string) {
		req := &ChatCompletionRequest{Model: model, Temperature: &temperature, MaxTokens: int(n), User: name,
			Stop: []string{content}, Messages: []Message{{Role: name, Content: content, Name: name,
				ToolCalls: []ToolCall{{ID: content, Function: FunctionCall{Name: name, Arguments: content}}}}},
			Extra: map[string]any{key: map[string]any{content: []any{temperature, n, name}}}}
		fast := !math.IsNaN(temperature) && !math.IsInf(temperature, 0) && !chatRequestNames()[key]
		checkEncoders(t, "fuzzed", req, fast)
	})
}
