package llmux

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"
)

// checkDecoders decodes raw with the hand-written decoder and with
// encoding/json (decodeChatResponseReflect): when the hand-written one takes
// it, both must give the same response (nil and empty told apart); and
// decodeChatResponse always gives encoding/json's response or error.
func checkDecoders(t *testing.T, name string, raw []byte) (fast bool) {
	t.Helper()
	want, wantErr := decodeChatResponseReflect(raw)
	got, ok := decodeChatResponseFast(raw)
	if ok && (wantErr != nil || !reflect.DeepEqual(got, want)) {
		t.Errorf("%s: %s\nhand-written decoder: %+v\nencoding/json (error %v): %+v", name, raw, got, wantErr, want)
	}
	public, err := decodeChatResponse(raw)
	if !reflect.DeepEqual(public, want) || (err == nil) != (wantErr == nil) ||
		(err != nil && err.Error() != wantErr.Error()) {
		t.Errorf("%s: decodeChatResponse gave %+v (error %v), want %+v (error %v)", name, public, err, want, wantErr)
	}
	return ok
}

func benchResponse(t testing.TB) []byte {
	raw, err := os.ReadFile("testdata/bench_response.json")
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(raw)
}

// What the decoder takes itself: the library's answers and what providers
// add to them. Each must also be decoded exactly as encoding/json decodes it.
var fastResponses = []string{
	`{}`,
	` { "id" : "x" , "choices" : [ ] , "usage" : null , "_llmux" : null } `,
	`{"choices":null,"created":-0,"_llmux":{"headers":{},"attempt_log":[]}}`,
	`{"choices":[{"message":{"content":null,"tool_calls":[]}}]}`,
	`{"choices":[{"index":1,"message":{"role":"assistant","content":null,"tool_calls":[` +
		`{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},` +
		`{"index":null,"function":{"arguments":""},"extra":[1,{"x":null}]}]},"finish_reason":"tool_calls",` +
		`"logprobs":{"content":[{"token":"a","logprob":-0.5,"bytes":[97],"top_logprobs":[]}]}}],` +
		`"service_tier":"default","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3,` +
		`"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":null}}`,
	// Escapes, non-ASCII, invalid UTF-8, surrogates (paired, lone, broken).
	"{\"id\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\ud83d\\ude42\\ud800\\udc00x\\ud800\\u0041\\udc00\\ud800\"," +
		"\"model\":\"Grüße \xff\xc3( 🙂 \xed\xa0\x80\",\"choices\":[{\"message\":{\"content\":\"a\\nb\\u2028\",\"name\":\"\\u0022\"}}]}",
	`{"choices":[{"message":{"content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"u"}}]}}]}`,
	`{"_llmux":{"call_id":18446744073709551615,"latency_ms":1.5e3,"time_to_first_token_ms":-1,"response_cost":1E-7,` +
		`"usage":{"prompt_tokens":5,"reported":true,"cached":1},"headers":{"a":"1","a":"2","b":null,"d":"1","d":null,"\u0063":"3"},` +
		`"attempt_log":[{"model_group":"g","status":429,"error_type":"RateLimitError","latency_ms":0.25},{"start_ms":1250.5,"latency_ms":2}],` +
		`"retries":null,"provider":null,"future_field":{"deep":[[[]]]}}}`,
	`{"created":9223372036854775807,"usage":{"total_tokens":-9223372036854775808}}`,
	"\t\n\r {\"id\":\"a\"}\n",
	`{"_llmux":{"time_to_first_token_ms":12.5,"usage":{"reported":false}}}`,
}

// What it leaves to encoding/json: its answer (often an error) is kept.
var slowResponses = []string{
	``, `null`, `[]`, `"x"`, `{`, `{"id":"a"`, `{"id":"a"} x`, `{"id":"a"}}`, `{"id":"a",}`, `{"id":'a'}`,
	`{"id":1}`, `{"created":1.0}`, `{"created":1e3}`, `{"created":"1"}`, `{"created":9223372036854775808}`,
	`{"_llmux":{"call_id":-1}}`, `{"_llmux":{"latency_ms":1e999}}`, `{"_llmux":{"latency_ms":"1"}}`,
	`{"_llmux":{"usage":{"reported":1}}}`, `{"_llmux":{"headers":{"a":1}}}`, `{"_llmux":{"headers":[]}}`,
	`{"ID":"a"}`, `{"Model":"a","model":"b"}`, `{"id":"a","id":"b"}`, `{"usage":{},"usage":{"total_tokens":1}}`,
	`{"choices":[{"Message":{}}]}`, `{"choices":[{"message":{"content":1}}]}`, `{"choices":[{"message":{"content":{}}}]}`,
	`{"choices":[{"message":{"content":[1]}}]}`, `{"choices":{}}`, "{\"s\u017fid\":1}", "{\"\xff\":1}",
	`{"choices":[{"message":{"tool_calls":[{"index":1.5}]}}]}`, `{"x":01}`, `{"x":-}`, `{"x":1.}`, `{"x":1e}`,
	`{"x":"\x01"}`, `{"x":"\q"}`, `{"x":"\u12"}`, `{"x":tru}`, `{"x":nul}`, `{"id":"\u12g4"}`, "{\"id\":\"a\x00\"}",
	`{"x":` + strings.Repeat("[", 1001) + strings.Repeat("]", 1001) + `}`,
}

func TestChatResponseDecoderMatchesReflection(t *testing.T) {
	if !checkDecoders(t, "benchmark response", benchResponse(t)) {
		t.Error("the hand-written decoder left the benchmark's response to encoding/json")
	}
	for _, raw := range fastResponses {
		if !checkDecoders(t, "response", []byte(raw)) {
			t.Errorf("the hand-written decoder left %s to encoding/json", raw)
		}
	}
	for _, raw := range slowResponses {
		if checkDecoders(t, "response", []byte(raw)) {
			t.Errorf("the hand-written decoder took %s, which it should leave to encoding/json", raw)
		}
	}
}

// FuzzChatResponseDecoder: whatever the bytes, the two decoders agree
// (go test -fuzz FuzzChatResponseDecoder; the plain run checks the seeds).
func FuzzChatResponseDecoder(f *testing.F) {
	f.Add(benchResponse(f))
	for _, raw := range append(fastResponses, slowResponses...) {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkDecoders(t, "fuzzed", raw) })
}

// checkChunkDecoders is checkDecoders for stream chunks.
func checkChunkDecoders(t *testing.T, raw []byte) (fast bool) {
	t.Helper()
	want, wantErr := decodeChunkReflect(raw)
	got, ok := decodeChunkFast(raw)
	if ok && (wantErr != nil || !reflect.DeepEqual(got, want)) {
		t.Errorf("%s\nhand-written decoder: %+v\nencoding/json (error %v): %+v", raw, got, wantErr, want)
	}
	public, err := decodeChunk(raw)
	if !reflect.DeepEqual(public, want) || (err == nil) != (wantErr == nil) ||
		(err != nil && err.Error() != wantErr.Error()) {
		t.Errorf("%s: decodeChunk gave %+v (error %v), want %+v (error %v)", raw, public, err, want, wantErr)
	}
	return ok
}

var fastChunks = []string{
	`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,` +
		`"delta":{"role":"assistant","content":"Hel\nlo"},"finish_reason":null,"logprobs":null}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t","type":"function",` +
		`"function":{"name":"f","arguments":""}}]}}]}`,
	`{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`,
	`{"id":"c","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`,
	`{"choices":null}`, `{}`,
}

var slowChunks = []string{
	`null`, `{"usage":1}`, `{"choices":[{"delta":{"content":5}}]}`, `{"Usage":{}}`, `{"created":"1"}`, `{"id":"a"`,
	`{"choices":[{"index":0,"index":1}]}`, `{"choices":[{"Delta":{}}]}`,
}

func TestChunkDecoderMatchesReflection(t *testing.T) {
	for _, raw := range fastChunks {
		if !checkChunkDecoders(t, []byte(raw)) {
			t.Errorf("the hand-written decoder left %s to encoding/json", raw)
		}
	}
	for _, raw := range slowChunks {
		if checkChunkDecoders(t, []byte(raw)) {
			t.Errorf("the hand-written decoder took %s, which it should leave to encoding/json", raw)
		}
	}
}

// FuzzChunkDecoder: whatever the bytes, the two chunk decoders agree.
func FuzzChunkDecoder(f *testing.F) {
	for _, raw := range append(fastChunks, slowChunks...) {
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkChunkDecoders(t, raw) })
}
