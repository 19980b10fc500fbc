package llmux

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The typed request's encoder: ChatCompletionRequest's fields appended to a
// byte slice by hand, without encoding/json's reflection (about a tenth of its
// time and allocations for the benchmark's 1.9 KB request). The bytes are
// exactly what encoding/json writes for the same request (same member order,
// same string escaping, same numbers; TestChatRequestEncoderMatchesReflection
// compares the two), so the choice of encoder never shows. What it has no
// hand-written case for — an unusual type in an `any` field, a value that
// does not encode, an Extra key that replaces a field — makes it give up, and
// the reflective encoder (marshalChatRequestReflect) encodes the request
// instead, with its own results and errors.

// chatEncoder appends one request; ok turns false once it met something it
// leaves to encoding/json.
type chatEncoder struct {
	buf []byte
	ok  bool
	// keys is a stack of map keys being sorted (nested maps push on top of
	// their parent's), so that sorting them allocates nothing in steady state.
	keys  []string
	keys0 [32]string
}

// appendChatRequest encodes r, or returns false to leave it to the
// reflective encoder.
func appendChatRequest(dst []byte, r *ChatCompletionRequest) ([]byte, bool) {
	for key := range r.Extra {
		if chatRequestNames()[key] {
			return dst, false // merged through a map by marshalWithExtra
		}
	}
	e := chatEncoder{buf: dst, ok: true}
	e.keys = e.keys0[:0]
	// encoding/json's order: the fields of the embedded plain type, then the
	// wire struct's own Messages (which shadows plain's).
	e.buf = append(e.buf, `{"model":`...)
	e.buf = appendString(e.buf, r.Model)
	if r.Temperature != nil {
		e.buf = append(e.buf, `,"temperature":`...)
		e.float(*r.Temperature)
	}
	if r.TopP != nil {
		e.buf = append(e.buf, `,"top_p":`...)
		e.float(*r.TopP)
	}
	if r.MaxTokens != 0 {
		e.buf = append(e.buf, `,"max_tokens":`...)
		e.buf = strconv.AppendInt(e.buf, int64(r.MaxTokens), 10)
	}
	if len(r.Stop) > 0 {
		e.buf = append(e.buf, `,"stop":`...)
		e.strings(r.Stop)
	}
	if r.User != "" {
		e.buf = append(e.buf, `,"user":`...)
		e.buf = appendString(e.buf, r.User)
	}
	if len(r.Tools) > 0 {
		e.buf = append(e.buf, `,"tools":`...)
		encodeArray(&e, r.Tools, (*chatEncoder).tool)
	}
	if r.ToolChoice != nil {
		e.buf = append(e.buf, `,"tool_choice":`...)
		e.value(r.ToolChoice)
	}
	if r.ResponseFormat != nil {
		e.buf = append(e.buf, `,"response_format":`...)
		e.value(r.ResponseFormat)
	}
	if r.StreamOptions != nil {
		e.buf = append(e.buf, `,"stream_options":{"include_usage":`...)
		e.buf = strconv.AppendBool(e.buf, r.StreamOptions.IncludeUsage)
		e.buf = append(e.buf, '}')
	}
	e.buf = append(e.buf, `,"messages":`...)
	if r.Messages == nil {
		e.buf = append(e.buf, "null"...)
	} else {
		encodeArray(&e, r.Messages, (*chatEncoder).message)
	}
	// marshalWithExtra's order: Extra's members after the fields, sorted by key.
	e.members(r.Extra, true)
	e.buf = append(e.buf, '}')
	return e.buf, e.ok
}

// encodeArray writes items as a JSON array, each by encodeItem.
func encodeArray[T any](e *chatEncoder, items []T, encodeItem func(*chatEncoder, *T)) {
	e.buf = append(e.buf, '[')
	for i := range items {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		encodeItem(e, &items[i])
	}
	e.buf = append(e.buf, ']')
}

// message is messageOut's encoding.
func (e *chatEncoder) message(m *Message) {
	e.buf = append(e.buf, '{')
	if m.Role != "" {
		e.buf = append(e.buf, `"role":`...)
		e.buf = appendString(e.buf, m.Role)
		e.buf = append(e.buf, ',')
	}
	e.buf = append(e.buf, `"content":`...)
	switch {
	case m.MultiContent != nil:
		encodeArray(e, m.MultiContent, (*chatEncoder).contentPart)
	case m.Content != "" || len(m.ToolCalls) == 0:
		e.buf = appendString(e.buf, m.Content)
	default:
		e.buf = append(e.buf, "null"...)
	}
	if m.Name != "" {
		e.buf = append(e.buf, `,"name":`...)
		e.buf = appendString(e.buf, m.Name)
	}
	if len(m.ToolCalls) > 0 {
		e.buf = append(e.buf, `,"tool_calls":`...)
		encodeArray(e, m.ToolCalls, (*chatEncoder).toolCall)
	}
	if m.ToolCallID != "" {
		e.buf = append(e.buf, `,"tool_call_id":`...)
		e.buf = appendString(e.buf, m.ToolCallID)
	}
	e.buf = append(e.buf, '}')
}

func (e *chatEncoder) contentPart(p *ContentPart) {
	e.buf = append(e.buf, `{"type":`...)
	e.buf = appendString(e.buf, p.Type)
	if p.Text != "" {
		e.buf = append(e.buf, `,"text":`...)
		e.buf = appendString(e.buf, p.Text)
	}
	if p.ImageURL != nil {
		e.buf = append(e.buf, `,"image_url":{"url":`...)
		e.buf = appendString(e.buf, p.ImageURL.URL)
		if p.ImageURL.Detail != "" {
			e.buf = append(e.buf, `,"detail":`...)
			e.buf = appendString(e.buf, p.ImageURL.Detail)
		}
		e.buf = append(e.buf, '}')
	}
	e.buf = append(e.buf, '}')
}

func (e *chatEncoder) toolCall(c *ToolCall) {
	// "function" always follows, so each optional member ends with its comma.
	e.buf = append(e.buf, '{')
	if c.Index != nil {
		e.buf = append(e.buf, `"index":`...)
		e.buf = strconv.AppendInt(e.buf, int64(*c.Index), 10)
		e.buf = append(e.buf, ',')
	}
	if c.ID != "" {
		e.buf = append(e.buf, `"id":`...)
		e.buf = appendString(e.buf, c.ID)
		e.buf = append(e.buf, ',')
	}
	if c.Type != "" {
		e.buf = append(e.buf, `"type":`...)
		e.buf = appendString(e.buf, c.Type)
		e.buf = append(e.buf, ',')
	}
	e.buf = append(e.buf, `"function":{`...)
	if c.Function.Name != "" {
		e.buf = append(e.buf, `"name":`...)
		e.buf = appendString(e.buf, c.Function.Name)
		e.buf = append(e.buf, ',')
	}
	e.buf = append(e.buf, `"arguments":`...)
	e.buf = appendString(e.buf, c.Function.Arguments)
	e.buf = append(e.buf, "}}"...)
}

func (e *chatEncoder) tool(t *Tool) {
	e.buf = append(e.buf, `{"type":`...)
	e.buf = appendString(e.buf, t.Type)
	e.buf = append(e.buf, `,"function":{"name":`...)
	e.buf = appendString(e.buf, t.Function.Name)
	if t.Function.Description != "" {
		e.buf = append(e.buf, `,"description":`...)
		e.buf = appendString(e.buf, t.Function.Description)
	}
	if t.Function.Parameters != nil {
		e.buf = append(e.buf, `,"parameters":`...)
		e.value(t.Function.Parameters)
	}
	e.buf = append(e.buf, "}}"...)
}

func (e *chatEncoder) strings(list []string) {
	e.buf = append(e.buf, '[')
	for i, s := range list {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, s)
	}
	e.buf = append(e.buf, ']')
}

// members appends m's members sorted by key (encoding/json's order for a
// map), each after a comma when comma is set, else between commas.
func (e *chatEncoder) members(m map[string]any, comma bool) {
	start := len(e.keys)
	for key := range m {
		e.keys = append(e.keys, key)
	}
	slices.Sort(e.keys[start:])
	for i := start; i < len(e.keys); i++ {
		if comma || i > start {
			e.buf = append(e.buf, ',')
		}
		key := e.keys[i] // e.keys may grow (nested maps) but keeps this part
		e.buf = appendString(e.buf, key)
		e.buf = append(e.buf, ':')
		e.value(m[key])
	}
	clear(e.keys[start:])
	e.keys = e.keys[:start]
}

// float is encoding/json's float64 encoding; NaN and infinities, which it
// refuses, are left to it.
func (e *chatEncoder) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.ok = false
		return
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	e.buf = strconv.AppendFloat(e.buf, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9, as encoding/json writes it.
		if n := len(e.buf); n >= 4 && e.buf[n-4] == 'e' && e.buf[n-3] == '-' && e.buf[n-2] == '0' {
			e.buf[n-2] = e.buf[n-1]
			e.buf = e.buf[:n-1]
		}
	}
}

// value encodes the dynamic values of the `any` fields: the shapes a JSON
// decoder produces (map[string]any, []any, string, float64, bool, nil) and
// the common Go ones by hand, anything else through encoding/json itself
// (json.RawMessage, structs, json.Marshaler: it compacts, validates and
// HTML-escapes them as it would inside the whole request).
func (e *chatEncoder) value(v any) {
	if !e.ok {
		return
	}
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendString(e.buf, v)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case float64:
		e.float(v)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, v, 10)
	case map[string]any:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.buf = append(e.buf, '{')
		e.members(v, false)
		e.buf = append(e.buf, '}')
	case []any:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.buf = append(e.buf, '[')
		for i, item := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.value(item)
		}
		e.buf = append(e.buf, ']')
	case []string:
		if v == nil {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.strings(v)
	default:
		data, err := json.Marshal(v)
		if err != nil {
			e.ok = false // the reflective encoder reports it
			return
		}
		e.buf = append(e.buf, data...)
	}
}

const hexDigits = "0123456789abcdef"

// htmlSafe holds the ASCII bytes a string carries unescaped.
var htmlSafe = func() (safe [utf8.RuneSelf]bool) {
	for b := byte(0x20); b < utf8.RuneSelf; b++ {
		safe[b] = b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
	}
	return safe
}()

// appendString is encoding/json's string encoding (HTML-safe, its default):
// the control characters, '"', '\\', '<', '>', '&', U+2028 and U+2029 are
// escaped, and each byte of invalid UTF-8 becomes \ufffd.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if htmlSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
