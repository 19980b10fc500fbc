package llmux

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// The typed path's own work per call, without a router: encoding the
// benchmark's chat request (benchmarks/bindings: 1.9 KB, tools, metadata)
// and decoding the library's answer to it (1.5 KB with "_llmux").
//
//	go test -run '^$' -bench Codec -benchmem

func benchRequest(b *testing.B) *ChatCompletionRequest {
	body, err := os.ReadFile("testdata/bench_request.json")
	if err != nil {
		b.Fatal(err)
	}
	var req ChatCompletionRequest
	if err := json.Unmarshal(bytes.TrimSpace(body), &req); err != nil {
		b.Fatal(err)
	}
	// The keys the struct has no field for, as the benchmark driver passes them.
	var all map[string]json.RawMessage
	if err := json.Unmarshal(body, &all); err != nil {
		b.Fatal(err)
	}
	names := chatRequestNames()
	for key, value := range all {
		if !names[key] {
			if req.Extra == nil {
				req.Extra = map[string]any{}
			}
			req.Extra[key] = value
		}
	}
	return &req
}

func BenchmarkCodecChatRequestMarshal(b *testing.B) {
	req := benchRequest(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := req.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCodecChatResponseDecode(b *testing.B) {
	raw, err := os.ReadFile("testdata/bench_response.json")
	if err != nil {
		b.Fatal(err)
	}
	raw = bytes.TrimSpace(raw)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeChatResponse(raw); err != nil {
			b.Fatal(err)
		}
	}
}
