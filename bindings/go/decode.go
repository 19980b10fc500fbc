package llmux

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The typed response's decoder (and a stream chunk's): one pass over a chat completion's JSON,
// straight into ChatCompletionResponse and its Metadata, without encoding/json's
// reflection (which cost the typed call about 50 us and 56 allocations for
// the benchmark's 1.5 KB answer). It gives exactly what decoding through
// encoding/json gives (decodeChatResponseReflect; TestChatResponseDecoder* and
// FuzzChatResponseDecoder compare the two, nil against empty included), and it
// gives up on whatever it does not decode the same way for certain — invalid
// JSON, a value of another type than the field's, a number an int field does
// not take, a key that differs from a field's name only in case (encoding/json
// matches those), a repeated member, content parts it leaves to encoding/json
// — and the reflective decoder decodes the response instead, with its results
// and errors. Members the types have no field for are validated and skipped.

// jsonReader reads one JSON text; ok turns false at the first thing it gives
// up on, and every method is then a no-op.
type jsonReader struct {
	data []byte
	// text is data as one string: the strings without escapes are parts of
	// it, so that each costs no allocation of its own.
	text  string
	i     int
	ok    bool
	depth int
}

// maxSkipDepth bounds the nesting of skipped values (encoding/json allows
// 10,000 levels; the reflective decoder decides about deeper ones).
const maxSkipDepth = 1000

func (r *jsonReader) fail() { r.ok = false }

func (r *jsonReader) ws() {
	for r.i < len(r.data) {
		switch r.data[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek is the next byte after whitespace (0 at the end).
func (r *jsonReader) peek() byte {
	r.ws()
	if !r.ok || r.i >= len(r.data) {
		return 0
	}
	return r.data[r.i]
}

// null consumes a null when one comes next.
func (r *jsonReader) null() bool {
	if r.peek() == 'n' {
		r.literal("null")
		return true
	}
	return false
}

func (r *jsonReader) literal(text string) {
	if r.ok && strings.HasPrefix(r.text[r.i:], text) {
		r.i += len(text)
		return
	}
	r.fail()
}

// object reads an object's members, calling member with each key (the value
// follows); false when the value is null (which leaves a struct unchanged).
func (r *jsonReader) object(member func(key string)) bool {
	if r.null() {
		return false
	}
	if r.peek() != '{' {
		r.fail()
		return false
	}
	r.i++
	if r.peek() == '}' {
		r.i++
		return true
	}
	for r.ok {
		if r.peek() != '"' {
			r.fail()
			return false
		}
		key := r.rawString()
		if r.peek() != ':' {
			r.fail()
			return false
		}
		r.i++
		member(key)
		switch r.peek() {
		case ',':
			r.i++
		case '}':
			r.i++
			return r.ok
		default:
			r.fail()
		}
	}
	return false
}

// array reads an array, calling item for each element; null is -1.
func (r *jsonReader) array(item func()) int {
	if r.null() {
		return -1
	}
	if r.peek() != '[' {
		r.fail()
		return 0
	}
	r.i++
	if r.peek() == ']' {
		r.i++
		return 0
	}
	n := 0
	for r.ok {
		item()
		n++
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			return n
		default:
			r.fail()
		}
	}
	return n
}

// str reads a string value into *dst (null leaves it unchanged).
func (r *jsonReader) str(dst *string) {
	if r.null() {
		return
	}
	if r.peek() != '"' {
		r.fail()
		return
	}
	*dst = r.rawString()
}

// rawString reads the string token at r.i, decoded as encoding/json decodes
// it: escapes resolved, a lone or broken surrogate and each byte of invalid
// UTF-8 replaced by U+FFFD.
func (r *jsonReader) rawString() string {
	start := r.i + 1
	for i := start; i < len(r.data); i++ {
		switch c := r.data[i]; {
		case c == '"':
			r.i = i + 1
			return r.text[start:i]
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return r.slowString(start, i)
		}
	}
	r.fail()
	return ""
}

// slowString continues rawString from data[i], the first byte that is not
// plain ASCII, with the part before it copied as is.
func (r *jsonReader) slowString(start, i int) string {
	out := make([]byte, i-start, i-start+(i-start)/4+16)
	copy(out, r.data[start:i])
	data := r.data
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			r.i = i + 1
			return string(out)
		case c < 0x20:
			r.fail()
			return ""
		case c == '\\':
			if i+1 >= len(data) {
				r.fail()
				return ""
			}
			i += 2
			switch data[i-1] {
			case '"', '\\', '/':
				out = append(out, data[i-1])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				rr := hex4(data, i)
				if rr < 0 {
					r.fail()
					return ""
				}
				i += 4
				if utf16.IsSurrogate(rr) {
					// A pair when a low surrogate escape follows; else U+FFFD (and what follows is read on its own).
					if i+6 <= len(data) && data[i] == '\\' && data[i+1] == 'u' {
						if rr1 := hex4(data, i+2); rr1 >= 0 {
							if dec := utf16.DecodeRune(rr, rr1); dec != utf8.RuneError {
								out = utf8.AppendRune(out, dec)
								i += 6
								continue
							}
						}
					}
					rr = utf8.RuneError
				}
				out = utf8.AppendRune(out, rr)
			default:
				r.fail()
				return ""
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			i++
		default:
			rr, size := utf8.DecodeRune(data[i:])
			out = utf8.AppendRune(out, rr) // RuneError for an invalid byte
			i += size
		}
	}
	r.fail()
	return ""
}

// hex4 is the value of the four hex digits at data[i:], or -1.
func hex4(data []byte, i int) rune {
	if i+4 > len(data) {
		return -1
	}
	var v rune
	for _, c := range data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		v = v<<4 | rune(c)
	}
	return v
}

// number reads a JSON number token and returns its text ("" after a failure).
func (r *jsonReader) number() []byte {
	if !r.ok {
		return nil
	}
	data, start, i := r.data, r.i, r.i
	digits := func() bool {
		j := i
		for i < len(data) && '0' <= data[i] && data[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(data) && data[i] == '-' {
		i++
	}
	if i < len(data) && data[i] == '0' {
		i++
	} else if !digits() {
		r.fail()
		return nil
	}
	if i < len(data) && data[i] == '.' {
		i++
		if !digits() {
			r.fail()
			return nil
		}
	}
	if i < len(data) && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < len(data) && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if !digits() {
			r.fail()
			return nil
		}
	}
	r.i = i
	return data[start:i]
}

// numberValue reads a number's text; ok is false for null (nothing to store)
// and for anything that is not a number (the reader has failed then).
func (r *jsonReader) numberValue() (text []byte, ok bool) {
	if r.null() {
		return nil, false
	}
	if c := r.peek(); c != '-' && (c < '0' || c > '9') {
		r.fail()
		return nil, false
	}
	return r.number(), true
}

// int64 reads an integer into *dst (null leaves it unchanged); a fraction, an
// exponent or an overflow is left to encoding/json (an error there).
func (r *jsonReader) int64(dst *int64) {
	text, ok := r.numberValue()
	if !ok {
		return
	}
	n, err := strconv.ParseInt(string(text), 10, 64)
	if err != nil {
		r.fail()
		return
	}
	*dst = n
}

func (r *jsonReader) int(dst *int) {
	n := int64(*dst)
	r.int64(&n)
	if int64(int(n)) != n {
		r.fail()
	}
	*dst = int(n)
}

func (r *jsonReader) uint64(dst *uint64) {
	text, ok := r.numberValue()
	if !ok {
		return
	}
	n, err := strconv.ParseUint(string(text), 10, 64)
	if err != nil {
		r.fail()
		return
	}
	*dst = n
}

func (r *jsonReader) float64(dst *float64) {
	text, ok := r.numberValue()
	if !ok {
		return
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil {
		r.fail()
		return
	}
	*dst = f
}

func (r *jsonReader) bool(dst *bool) {
	switch r.peek() {
	case 'n':
		r.literal("null")
	case 't':
		r.literal("true")
		*dst = true
	case 'f':
		r.literal("false")
		*dst = false
	default:
		r.fail()
	}
}

// skip validates and skips one value.
func (r *jsonReader) skip() {
	switch c := r.peek(); {
	case c == '{' || c == '[':
		if r.depth++; r.depth > maxSkipDepth {
			r.fail()
			return
		}
		if c == '{' {
			r.object(func(string) { r.skip() })
		} else {
			r.array(r.skip)
		}
		r.depth--
	case c == '"':
		r.skipString()
	case c == 't':
		r.literal("true")
	case c == 'f':
		r.literal("false")
	case c == 'n':
		r.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		r.number()
	default:
		r.fail()
	}
}

// skipString validates a string token without decoding it.
func (r *jsonReader) skipString() {
	data := r.data
	for i := r.i + 1; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			r.i = i + 1
			return
		case c < 0x20:
			r.fail()
			return
		case c == '\\':
			if i+1 >= len(data) {
				r.fail()
				return
			}
			switch data[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if hex4(data, i+2) < 0 {
					r.fail()
					return
				}
				i += 5
			default:
				r.fail()
				return
			}
		}
	}
	r.fail()
}

// rawValue skips one value and returns its bytes.
func (r *jsonReader) rawValue() []byte {
	r.ws()
	start := r.i
	r.skip()
	return r.data[start:r.i]
}

// members tracks which of an object's known members were seen: a repeated
// one is left to encoding/json (which merges a repeated object's members).
type members uint32

// seen marks member bit; false (and r failed) when it came before.
func (r *jsonReader) seen(m *members, bit uint) bool {
	if *m&(1<<bit) != 0 {
		r.fail()
		return false
	}
	*m |= 1 << bit
	return true
}

// unknown skips the value of a member none of names is; a key that equals
// one of them but for case, or that is not ASCII (encoding/json folds
// Unicode case, 'ſ' matching 's'), is left to encoding/json.
func (r *jsonReader) unknown(key string, names ...string) {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			r.fail()
			return
		}
	}
	for _, name := range names {
		if strings.EqualFold(key, name) {
			r.fail()
			return
		}
	}
	r.skip()
}

var (
	chatResponseNames = []string{"id", "object", "created", "model", "system_fingerprint", "choices", "usage", "_llmux"}
	choiceNames       = []string{"index", "message", "finish_reason"}
	messageNames      = []string{"role", "content", "name", "tool_calls", "tool_call_id"}
	toolCallNames     = []string{"index", "id", "type", "function"}
	functionNames     = []string{"name", "arguments"}
	usageNames        = []string{"prompt_tokens", "completion_tokens", "total_tokens"}
	metaUsageNames    = []string{"prompt_tokens", "completion_tokens", "total_tokens", "reported"}
	attemptNames      = []string{"model_group", "deployment_id", "error_type", "status", "latency_ms", "start_ms"}
	metadataNames     = []string{"call_id", "requested_model", "model_group", "fallback_model_group", "deployment_id",
		"deployment_model", "provider", "api_base", "attempts", "retries", "max_retries", "fallbacks", "latency_ms",
		"time_to_first_token_ms", "response_cost", "malformed_events", "stream_continuations", "usage",
		"finish_reason", "attempt_log", "headers"}
)

// decodeChatResponseFast decodes raw as decodeChatResponseReflect does, or
// returns false to leave it to that.
func decodeChatResponseFast(raw []byte) (*ChatCompletionResponse, bool) {
	r := &jsonReader{data: raw, text: string(raw), ok: true}
	resp := &ChatCompletionResponse{Raw: raw}
	if r.peek() != '{' {
		return nil, false
	}
	var seen members
	r.object(func(key string) {
		switch key {
		case "id":
			if r.seen(&seen, 0) {
				r.str(&resp.ID)
			}
		case "object":
			if r.seen(&seen, 1) {
				r.str(&resp.Object)
			}
		case "created":
			if r.seen(&seen, 2) {
				r.int64(&resp.Created)
			}
		case "model":
			if r.seen(&seen, 3) {
				r.str(&resp.Model)
			}
		case "system_fingerprint":
			if r.seen(&seen, 4) {
				r.str(&resp.SystemFingerprint)
			}
		case "choices":
			if r.seen(&seen, 5) {
				resp.Choices = r.choices()
			}
		case "usage":
			if r.seen(&seen, 6) {
				r.usage(&resp.Usage)
			}
		case "_llmux":
			if r.seen(&seen, 7) {
				r.metadata(&resp.Metadata)
			}
		default:
			r.unknown(key, chatResponseNames...)
		}
	})
	if r.peek() != 0 || r.i != len(raw) { // anything after the object is an error
		return nil, false
	}
	if !r.ok {
		return nil, false
	}
	return resp, true
}

func (r *jsonReader) choices() []Choice {
	choices := make([]Choice, 0, 1)
	n := r.array(func() {
		var c Choice
		var seen members
		r.object(func(key string) {
			switch key {
			case "index":
				if r.seen(&seen, 0) {
					r.int(&c.Index)
				}
			case "message":
				if r.seen(&seen, 1) {
					r.message(&c.Message)
				}
			case "finish_reason":
				if r.seen(&seen, 2) {
					r.str(&c.FinishReason)
				}
			default:
				r.unknown(key, choiceNames...)
			}
		})
		choices = append(choices, c)
	})
	if n < 0 {
		return nil
	}
	return choices
}

// message is messageIn's decoding followed by messageIn.message.
func (r *jsonReader) message(m *Message) {
	var seen members
	r.object(func(key string) {
		switch key {
		case "role":
			if r.seen(&seen, 0) {
				r.str(&m.Role)
			}
		case "content":
			if r.seen(&seen, 1) {
				switch r.peek() {
				case '"':
					m.Content = r.rawString()
				case 'n':
					r.literal("null")
				case '[':
					// Content parts are rare in answers: encoding/json decodes them, as before.
					if err := json.Unmarshal(r.rawValue(), &m.MultiContent); err != nil {
						r.fail()
					}
				default:
					r.fail() // an error in message(): the reflective decoder reports it
				}
			}
		case "name":
			if r.seen(&seen, 2) {
				r.str(&m.Name)
			}
		case "tool_calls":
			if r.seen(&seen, 3) {
				m.ToolCalls = r.toolCalls()
			}
		case "tool_call_id":
			if r.seen(&seen, 4) {
				r.str(&m.ToolCallID)
			}
		default:
			r.unknown(key, messageNames...)
		}
	})
}

func (r *jsonReader) toolCalls() []ToolCall {
	var calls []ToolCall
	n := r.array(func() {
		var c ToolCall
		var seen members
		r.object(func(key string) {
			switch key {
			case "index":
				if r.seen(&seen, 0) && !r.null() {
					c.Index = new(int)
					r.int(c.Index)
				}
			case "id":
				if r.seen(&seen, 1) {
					r.str(&c.ID)
				}
			case "type":
				if r.seen(&seen, 2) {
					r.str(&c.Type)
				}
			case "function":
				if r.seen(&seen, 3) {
					var fseen members
					r.object(func(key string) {
						switch key {
						case "name":
							if r.seen(&fseen, 0) {
								r.str(&c.Function.Name)
							}
						case "arguments":
							if r.seen(&fseen, 1) {
								r.str(&c.Function.Arguments)
							}
						default:
							r.unknown(key, functionNames...)
						}
					})
				}
			default:
				r.unknown(key, toolCallNames...)
			}
		})
		calls = append(calls, c)
	})
	switch {
	case n < 0:
		return nil
	case calls == nil:
		return []ToolCall{}
	}
	return calls
}

func (r *jsonReader) usage(u *Usage) {
	var seen members
	r.object(func(key string) {
		switch key {
		case "prompt_tokens":
			if r.seen(&seen, 0) {
				r.int(&u.PromptTokens)
			}
		case "completion_tokens":
			if r.seen(&seen, 1) {
				r.int(&u.CompletionTokens)
			}
		case "total_tokens":
			if r.seen(&seen, 2) {
				r.int(&u.TotalTokens)
			}
		default:
			r.unknown(key, usageNames...)
		}
	})
}

// metadata is metadataWire's decoding followed by metadataWire.metadata.
func (r *jsonReader) metadata(m *Metadata) {
	var seen members
	var latencyMS, ttftMS float64
	r.object(func(key string) {
		switch key {
		case "call_id":
			if r.seen(&seen, 0) {
				r.uint64(&m.CallID)
			}
		case "requested_model":
			if r.seen(&seen, 1) {
				r.str(&m.RequestedModel)
			}
		case "model_group":
			if r.seen(&seen, 2) {
				r.str(&m.ModelGroup)
			}
		case "fallback_model_group":
			if r.seen(&seen, 3) {
				r.str(&m.FallbackModelGroup)
			}
		case "deployment_id":
			if r.seen(&seen, 4) {
				r.str(&m.DeploymentID)
			}
		case "deployment_model":
			if r.seen(&seen, 5) {
				r.str(&m.DeploymentModel)
			}
		case "provider":
			if r.seen(&seen, 6) {
				r.str(&m.Provider)
			}
		case "api_base":
			if r.seen(&seen, 7) {
				r.str(&m.APIBase)
			}
		case "attempts":
			if r.seen(&seen, 8) {
				r.int(&m.Attempts)
			}
		case "retries":
			if r.seen(&seen, 9) {
				r.int(&m.Retries)
			}
		case "max_retries":
			if r.seen(&seen, 10) {
				r.int(&m.MaxRetries)
			}
		case "fallbacks":
			if r.seen(&seen, 11) {
				r.int(&m.Fallbacks)
			}
		case "latency_ms":
			if r.seen(&seen, 12) {
				r.float64(&latencyMS)
			}
		case "time_to_first_token_ms":
			if r.seen(&seen, 13) {
				r.float64(&ttftMS)
			}
		case "response_cost":
			if r.seen(&seen, 14) {
				r.float64(&m.ResponseCost)
			}
		case "malformed_events":
			if r.seen(&seen, 15) {
				r.int(&m.MalformedEvents)
			}
		case "stream_continuations":
			if r.seen(&seen, 16) {
				r.int(&m.StreamContinuations)
			}
		case "usage":
			if r.seen(&seen, 17) {
				var useen members
				r.object(func(key string) {
					switch key {
					case "prompt_tokens":
						if r.seen(&useen, 0) {
							r.int(&m.Usage.PromptTokens)
						}
					case "completion_tokens":
						if r.seen(&useen, 1) {
							r.int(&m.Usage.CompletionTokens)
						}
					case "total_tokens":
						if r.seen(&useen, 2) {
							r.int(&m.Usage.TotalTokens)
						}
					case "reported":
						if r.seen(&useen, 3) {
							r.bool(&m.UsageReported)
						}
					default:
						r.unknown(key, metaUsageNames...)
					}
				})
			}
		case "finish_reason":
			if r.seen(&seen, 18) {
				r.str(&m.FinishReason)
			}
		case "attempt_log":
			if r.seen(&seen, 19) {
				r.attemptLog(m)
			}
		case "headers":
			if r.seen(&seen, 20) {
				r.headers(m)
			}
		default:
			r.unknown(key, metadataNames...)
		}
	})
	m.Latency = milliseconds(latencyMS)
	if ttftMS > 0 {
		m.TimeToFirstToken = milliseconds(ttftMS)
	}
}

func (r *jsonReader) attemptLog(m *Metadata) {
	var log []Attempt
	r.array(func() {
		var a Attempt
		var seen members
		var latencyMS, startMS float64
		r.object(func(key string) {
			switch key {
			case "model_group":
				if r.seen(&seen, 0) {
					r.str(&a.ModelGroup)
				}
			case "deployment_id":
				if r.seen(&seen, 1) {
					r.str(&a.DeploymentID)
				}
			case "error_type":
				if r.seen(&seen, 2) {
					r.str(&a.ErrorType)
				}
			case "status":
				if r.seen(&seen, 3) {
					r.int(&a.Status)
				}
			case "latency_ms":
				if r.seen(&seen, 4) {
					r.float64(&latencyMS)
				}
			case "start_ms":
				if r.seen(&seen, 5) {
					r.float64(&startMS)
				}
			default:
				r.unknown(key, attemptNames...)
			}
		})
		a.Latency = milliseconds(latencyMS)
		a.Start = milliseconds(startMS)
		log = append(log, a)
	})
	m.AttemptLog = log // nil when empty, as metadata() leaves it
}

func (r *jsonReader) headers(m *Metadata) {
	if r.null() {
		return // nil
	}
	headers := make(map[string]string, 8)
	r.object(func(key string) {
		var value string // null is "" (encoding/json decodes each value into a zero string); a repeated key: the last
		r.str(&value)
		headers[key] = value
	})
	m.Headers = headers
}

var chunkNames = []string{"id", "object", "created", "model", "choices", "usage"}

// decodeChunkFast decodes one stream chunk as decodeChunkReflect does, or
// returns false to leave it to that.
func decodeChunkFast(data []byte) (*ChatCompletionChunk, bool) {
	r := &jsonReader{data: data, text: string(data), ok: true}
	chunk := &ChatCompletionChunk{}
	if r.peek() != '{' {
		return nil, false
	}
	var seen members
	r.object(func(key string) {
		switch key {
		case "id":
			if r.seen(&seen, 0) {
				r.str(&chunk.ID)
			}
		case "object":
			if r.seen(&seen, 1) {
				r.str(&chunk.Object)
			}
		case "created":
			if r.seen(&seen, 2) {
				r.int64(&chunk.Created)
			}
		case "model":
			if r.seen(&seen, 3) {
				r.str(&chunk.Model)
			}
		case "choices":
			if r.seen(&seen, 4) {
				chunk.Choices = r.chunkChoices()
			}
		case "usage":
			if r.seen(&seen, 5) && !r.null() {
				chunk.Usage = new(Usage)
				r.usage(chunk.Usage)
			}
		default:
			r.unknown(key, chunkNames...)
		}
	})
	if r.peek() != 0 || r.i != len(data) || !r.ok {
		return nil, false
	}
	return chunk, true
}

func (r *jsonReader) chunkChoices() []ChunkChoice {
	choices := make([]ChunkChoice, 0, 1)
	n := r.array(func() {
		var c ChunkChoice
		var seen members
		r.object(func(key string) {
			switch key {
			case "index":
				if r.seen(&seen, 0) {
					r.int(&c.Index)
				}
			case "delta":
				if r.seen(&seen, 1) {
					r.message(&c.Delta)
				}
			case "finish_reason":
				if r.seen(&seen, 2) {
					r.str(&c.FinishReason)
				}
			default:
				r.unknown(key, []string{"index", "delta", "finish_reason"}...)
			}
		})
		choices = append(choices, c)
	})
	if n < 0 {
		return nil
	}
	return choices
}
