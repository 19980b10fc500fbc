package llmux

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// ChatCompletionRequest is an OpenAI chat-completions request. Optional
// numbers are pointers so that zero can be sent; nil leaves them out.
type ChatCompletionRequest struct {
	Model          string         `json:"model"`
	Messages       []Message      `json:"messages"`
	Temperature    *float64       `json:"temperature,omitempty"`
	TopP           *float64       `json:"top_p,omitempty"`
	MaxTokens      int            `json:"max_tokens,omitempty"`
	Stop           []string       `json:"stop,omitempty"`
	User           string         `json:"user,omitempty"`
	Tools          []Tool         `json:"tools,omitempty"`
	ToolChoice     any            `json:"tool_choice,omitempty"`
	ResponseFormat any            `json:"response_format,omitempty"`
	StreamOptions  *StreamOptions `json:"stream_options,omitempty"`
	// Extra holds any other top-level key: provider parameters, and the
	// router-only keys llmux honours and strips before sending (num_retries,
	// fallbacks, timeout, metadata, mock_response, ...). A key in Extra
	// replaces the field of the same JSON name.
	Extra map[string]any `json:"-"`
}

// MarshalJSON encodes the request with Extra's keys at the top level.
func (r ChatCompletionRequest) MarshalJSON() ([]byte, error) {
	buf := requestBuffers.Get().(*[]byte)
	defer requestBuffers.Put(buf)
	data, ok := appendChatRequest((*buf)[:0], &r)
	*buf = data[:0]
	if ok {
		return slices.Clone(data), nil
	}
	return r.marshalReflect()
}

// marshalReflect is MarshalJSON through encoding/json: what the hand-written
// encoder (encode.go) leaves to it, and the reference it is tested against.
func (r *ChatCompletionRequest) marshalReflect() ([]byte, error) {
	type plain ChatCompletionRequest // without this method
	// The messages are encoded through messageOut rather than Message's own
	// MarshalJSON, whose output encoding/json would scan once more.
	wire := struct {
		plain
		Messages []messageOut `json:"messages"`
	}{plain: plain(*r)}
	if r.Messages != nil {
		wire.Messages = make([]messageOut, len(r.Messages))
		for i, m := range r.Messages {
			wire.Messages[i] = m.out()
		}
	}
	return marshalWithExtra(wire, r.Extra, chatRequestNames)
}

// chatRequestNames are the JSON names of ChatCompletionRequest's fields.
var chatRequestNames = sync.OnceValue(func() map[string]bool {
	return jsonNames(reflect.TypeFor[ChatCompletionRequest]())
})

// StreamOptions are OpenAI's stream_options.
type StreamOptions struct {
	// IncludeUsage asks for a final chunk carrying the usage.
	IncludeUsage bool `json:"include_usage"`
}

// Message is one chat message (and, in a stream, one delta).
type Message struct {
	Role string
	// Content is the text content. MultiContent, when non-nil, is sent
	// instead (text and image parts).
	Content      string
	MultiContent []ContentPart
	Name         string
	ToolCalls    []ToolCall
	// ToolCallID answers a tool call (role "tool").
	ToolCallID string
}

// ContentPart is one part of a multi-part message content.
type ContentPart struct {
	Type     string    `json:"type"` // "text" or "image_url"
	Text     string    `json:"text,omitempty"`
	ImageURL *ImageURL `json:"image_url,omitempty"`
}

// ImageURL is an image content part's target.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// messageOut is a Message as it is sent.
type messageOut struct {
	Role string `json:"role,omitempty"`
	// Content is a string, a []ContentPart, or nil (null).
	Content    any        `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

func (m *Message) out() messageOut {
	out := messageOut{Role: m.Role, Name: m.Name, ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID}
	switch {
	case m.MultiContent != nil:
		out.Content = m.MultiContent
	case m.Content != "" || len(m.ToolCalls) == 0:
		out.Content = m.Content
	} // else null: an assistant message that only carries tool calls
	return out
}

// MarshalJSON sends content as a string, as parts (MultiContent), or as null
// for an assistant message that only carries tool calls.
func (m Message) MarshalJSON() ([]byte, error) { return json.Marshal(m.out()) }

// messageIn is a Message as it is received; content is decoded by message.
type messageIn struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCalls  []ToolCall      `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

func (in *messageIn) message() (Message, error) {
	m := Message{Role: in.Role, Name: in.Name, ToolCalls: in.ToolCalls, ToolCallID: in.ToolCallID}
	if len(in.Content) == 0 {
		return m, nil
	}
	var err error
	switch in.Content[0] {
	case '"':
		err = json.Unmarshal(in.Content, &m.Content)
	case '[':
		err = json.Unmarshal(in.Content, &m.MultiContent)
	case 'n':
	default:
		err = fmt.Errorf("llmux: message content is neither a string, an array nor null: %s", in.Content)
	}
	return m, err
}

// UnmarshalJSON accepts content as a string, an array of parts, or null.
func (m *Message) UnmarshalJSON(data []byte) error {
	var in messageIn
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	decoded, err := in.message()
	*m = decoded
	return err
}

// Tool is a tool the model may call.
type Tool struct {
	Type     string             `json:"type"` // "function"
	Function FunctionDefinition `json:"function"`
}

// FunctionDefinition describes a callable function; Parameters is its JSON
// Schema.
type FunctionDefinition struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Parameters  any    `json:"parameters,omitempty"`
}

// ToolCall is a call the model made.
type ToolCall struct {
	// Index orders the pieces of a tool call across stream deltas.
	Index    *int         `json:"index,omitempty"`
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function FunctionCall `json:"function"`
}

// FunctionCall is a function name and its JSON-encoded arguments.
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// Usage counts tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// ChatCompletionResponse is the provider's answer plus the router metadata.
type ChatCompletionResponse struct {
	ID                string   `json:"id"`
	Object            string   `json:"object"`
	Created           int64    `json:"created"`
	Model             string   `json:"model"`
	SystemFingerprint string   `json:"system_fingerprint,omitempty"`
	Choices           []Choice `json:"choices"`
	Usage             Usage    `json:"usage"`
	// Metadata says how the router served the call (the "_llmux" member).
	Metadata Metadata `json:"_llmux"`
	// Raw is the whole response JSON, for provider-specific fields.
	Raw json.RawMessage `json:"-"`
}

// Choice is one completion choice.
type Choice struct {
	Index        int     `json:"index"`
	Message      Message `json:"message"`
	FinishReason string  `json:"finish_reason"`
}

// ChatCompletionChunk is one streamed chunk.
type ChatCompletionChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []ChunkChoice `json:"choices"`
	// Usage is set on the final chunk when StreamOptions.IncludeUsage asked for it.
	Usage *Usage `json:"usage,omitempty"`
}

// ChunkChoice is one choice's delta in a chunk; Delta holds only what changed.
type ChunkChoice struct {
	Index        int     `json:"index"`
	Delta        Message `json:"delta"`
	FinishReason string  `json:"finish_reason"`
}

// The responses are decoded through the *In types below, in one pass of
// encoding/json: decoding the public types would run Message's and
// Metadata's UnmarshalJSON, each scanning its part of the JSON again.

type chatResponseIn struct {
	ID                string `json:"id"`
	Object            string `json:"object"`
	Created           int64  `json:"created"`
	Model             string `json:"model"`
	SystemFingerprint string `json:"system_fingerprint"`
	Choices           []struct {
		Index        int       `json:"index"`
		Message      messageIn `json:"message"`
		FinishReason string    `json:"finish_reason"`
	} `json:"choices"`
	Usage    Usage        `json:"usage"`
	Metadata metadataWire `json:"_llmux"`
}

// decodeChatResponse decodes a chat completion response; raw becomes its Raw.
func decodeChatResponse(raw []byte) (*ChatCompletionResponse, error) {
	if resp, ok := decodeChatResponseFast(raw); ok {
		return resp, nil
	}
	return decodeChatResponseReflect(raw)
}

// decodeChatResponseReflect is decodeChatResponse through encoding/json: what
// the hand-written decoder (decode.go) leaves to it, and the reference it is
// tested against.
func decodeChatResponseReflect(raw []byte) (*ChatCompletionResponse, error) {
	var in chatResponseIn
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, err
	}
	resp := &ChatCompletionResponse{ID: in.ID, Object: in.Object, Created: in.Created, Model: in.Model,
		SystemFingerprint: in.SystemFingerprint, Usage: in.Usage, Metadata: in.Metadata.metadata(), Raw: raw}
	if in.Choices != nil {
		resp.Choices = make([]Choice, len(in.Choices))
	}
	for i, choice := range in.Choices {
		message, err := choice.Message.message()
		if err != nil {
			return nil, err
		}
		resp.Choices[i] = Choice{Index: choice.Index, Message: message, FinishReason: choice.FinishReason}
	}
	return resp, nil
}

type chunkIn struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int       `json:"index"`
		Delta        messageIn `json:"delta"`
		FinishReason string    `json:"finish_reason"`
	} `json:"choices"`
	Usage *Usage `json:"usage"`
}

// decodeChunk decodes one stream chunk.
func decodeChunk(data []byte) (*ChatCompletionChunk, error) {
	if chunk, ok := decodeChunkFast(data); ok {
		return chunk, nil
	}
	return decodeChunkReflect(data)
}

// decodeChunkReflect is decodeChunk through encoding/json (see
// decodeChatResponseReflect).
func decodeChunkReflect(data []byte) (*ChatCompletionChunk, error) {
	var in chunkIn
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, err
	}
	chunk := &ChatCompletionChunk{ID: in.ID, Object: in.Object, Created: in.Created, Model: in.Model, Usage: in.Usage}
	if in.Choices != nil {
		chunk.Choices = make([]ChunkChoice, len(in.Choices))
	}
	for i, choice := range in.Choices {
		delta, err := choice.Delta.message()
		if err != nil {
			return nil, err
		}
		chunk.Choices[i] = ChunkChoice{Index: choice.Index, Delta: delta, FinishReason: choice.FinishReason}
	}
	return chunk, nil
}

// EmbeddingRequest is an OpenAI embeddings request.
type EmbeddingRequest struct {
	Model string `json:"model"`
	// Input is a string, a []string, or token arrays.
	Input any `json:"input"`
	// EncodingFormat "float" (the default) is what EmbeddingResponse decodes;
	// use EmbeddingRaw for "base64".
	EncodingFormat string `json:"encoding_format,omitempty"`
	Dimensions     int    `json:"dimensions,omitempty"`
	User           string `json:"user,omitempty"`
	// Extra holds any other top-level key, as in ChatCompletionRequest.
	Extra map[string]any `json:"-"`
}

// MarshalJSON encodes the request with Extra's keys at the top level.
func (r EmbeddingRequest) MarshalJSON() ([]byte, error) {
	type plain EmbeddingRequest // without this method
	return marshalWithExtra(plain(r), r.Extra, embeddingRequestNames)
}

// embeddingRequestNames are the JSON names of EmbeddingRequest's fields.
var embeddingRequestNames = sync.OnceValue(func() map[string]bool {
	return jsonNames(reflect.TypeFor[EmbeddingRequest]())
})

// EmbeddingResponse is the provider's answer plus the router metadata.
type EmbeddingResponse struct {
	Object   string      `json:"object"`
	Data     []Embedding `json:"data"`
	Model    string      `json:"model"`
	Usage    Usage       `json:"usage"`
	Metadata Metadata    `json:"_llmux"`
	// Raw is the whole response JSON.
	Raw json.RawMessage `json:"-"`
}

// Embedding is one input's vector.
type Embedding struct {
	Object    string    `json:"object"`
	Index     int       `json:"index"`
	Embedding []float64 `json:"embedding"`
}

type embeddingResponseIn struct {
	Object   string       `json:"object"`
	Data     []Embedding  `json:"data"`
	Model    string       `json:"model"`
	Usage    Usage        `json:"usage"`
	Metadata metadataWire `json:"_llmux"`
}

// decodeEmbeddingResponse decodes an embeddings response; raw becomes its Raw.
func decodeEmbeddingResponse(raw []byte) (*EmbeddingResponse, error) {
	var in embeddingResponseIn
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, err
	}
	return &EmbeddingResponse{Object: in.Object, Data: in.Data, Model: in.Model, Usage: in.Usage,
		Metadata: in.Metadata.metadata(), Raw: raw}, nil
}

// marshalWithExtra encodes v (a struct whose fields are named by fieldNames)
// with extra's members added at the top level. Extra's members are appended
// to v's encoding, sorted by key; when one replaces a field of v, the two
// are merged through a map instead (encoding/json sorts its keys).
func marshalWithExtra(v any, extra map[string]any, fieldNames func() map[string]bool) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return data, err
	}
	keys := slices.Sorted(maps.Keys(extra))
	values := make([][]byte, len(keys))
	replaces := false
	for i, key := range keys {
		if values[i], err = json.Marshal(extra[key]); err != nil {
			return nil, fmt.Errorf("llmux: Extra[%q]: %w", key, err)
		}
		replaces = replaces || fieldNames()[key]
	}
	if replaces {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(data, &members); err != nil {
			return nil, err
		}
		for i, key := range keys {
			members[key] = values[i]
		}
		return json.Marshal(members)
	}
	data = data[:len(data)-1] // without the closing brace
	for i, key := range keys {
		if len(data) > 1 {
			data = append(data, ',')
		}
		name, _ := json.Marshal(key) // a string always encodes
		data = append(append(append(data, name...), ':'), values[i]...)
	}
	return append(data, '}'), nil
}

// jsonNames are the member names encoding/json gives the fields of struct
// type t, embedded structs included.
func jsonNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for i := range t.NumField() {
		field := t.Field(i)
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		switch {
		case name == "-" || !field.IsExported() && !field.Anonymous:
		case name == "" && field.Anonymous && field.Type.Kind() == reflect.Struct:
			maps.Copy(names, jsonNames(field.Type))
		case name == "":
			names[field.Name] = true
		default:
			names[name] = true
		}
	}
	return names
}
