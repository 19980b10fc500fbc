package llmux

import (
	"encoding/json"
	"fmt"
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
	type plain ChatCompletionRequest // without this method
	return marshalWithExtra(plain(r), r.Extra)
}

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

type messageWire struct {
	Role       string          `json:"role,omitempty"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name,omitempty"`
	ToolCalls  []ToolCall      `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
}

// MarshalJSON sends content as a string, as parts (MultiContent), or as null
// for an assistant message that only carries tool calls.
func (m Message) MarshalJSON() ([]byte, error) {
	wire := messageWire{Role: m.Role, Name: m.Name, ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID}
	var err error
	switch {
	case m.MultiContent != nil:
		wire.Content, err = json.Marshal(m.MultiContent)
	case m.Content == "" && len(m.ToolCalls) > 0:
		wire.Content = json.RawMessage("null")
	default:
		wire.Content, err = json.Marshal(m.Content)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(wire)
}

// UnmarshalJSON accepts content as a string, an array of parts, or null.
func (m *Message) UnmarshalJSON(data []byte) error {
	var wire messageWire
	if err := json.Unmarshal(data, &wire); err != nil {
		return err
	}
	*m = Message{Role: wire.Role, Name: wire.Name, ToolCalls: wire.ToolCalls, ToolCallID: wire.ToolCallID}
	if len(wire.Content) == 0 {
		return nil
	}
	switch wire.Content[0] {
	case '"':
		return json.Unmarshal(wire.Content, &m.Content)
	case '[':
		return json.Unmarshal(wire.Content, &m.MultiContent)
	case 'n':
		return nil
	}
	return fmt.Errorf("llmux: message content is neither a string, an array nor null: %s", wire.Content)
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
	return marshalWithExtra(plain(r), r.Extra)
}

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

// marshalWithExtra encodes v (a struct) and overlays extra's keys.
func marshalWithExtra(v any, extra map[string]any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return data, err
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil {
		return nil, err
	}
	for key, value := range extra {
		encoded, err := json.Marshal(value)
		if err != nil {
			return nil, fmt.Errorf("llmux: Extra[%q]: %w", key, err)
		}
		members[key] = encoded
	}
	return json.Marshal(members)
}
