package llmux

import (
	"encoding/json"
	"time"
)

// Metadata says how the router served (or failed) a call: the "_llmux" object
// of every response and error. It never holds an API key.
type Metadata struct {
	CallID         uint64
	RequestedModel string // the model the caller asked for
	// ModelGroup is the group that served: the fallback group after a fallback.
	ModelGroup         string
	FallbackModelGroup string // the fallback group that served or failed last; empty without fallback
	DeploymentID       string // model_info.id, or a stable hash of the deployment
	DeploymentModel    string // the model name sent to the provider
	Provider           string // "openai", "hosted_vllm", "mock", ...
	APIBase            string
	Attempts           int // backend attempts in total
	Retries            int // attempts beyond the first within the serving group
	MaxRetries         int // retries the serving group allowed
	Fallbacks          int // fallback groups entered
	Latency            time.Duration
	// TimeToFirstToken is the time to a stream's first content chunk; zero
	// when not applicable.
	TimeToFirstToken    time.Duration
	ResponseCost        float64 // from usage × configured prices
	MalformedEvents     int     // stream events skipped because they were not JSON
	StreamContinuations int     // times a stream went on on another deployment
	Usage               Usage
	UsageReported       bool // false when the provider sent no usage
	FinishReason        string
	AttemptLog          []Attempt // every backend attempt, in order
	// Headers are LiteLLM's x-litellm-* response headers for this call.
	Headers map[string]string
}

// Attempt is one backend attempt of a call.
type Attempt struct {
	ModelGroup   string
	DeploymentID string
	ErrorType    string // LiteLLM exception class name; empty when the attempt succeeded
	Status       int    // status of the failure; 0 on success
	Latency      time.Duration
}

type metadataWire struct {
	CallID              uint64  `json:"call_id"`
	RequestedModel      string  `json:"requested_model"`
	ModelGroup          string  `json:"model_group"`
	FallbackModelGroup  string  `json:"fallback_model_group"`
	DeploymentID        string  `json:"deployment_id"`
	DeploymentModel     string  `json:"deployment_model"`
	Provider            string  `json:"provider"`
	APIBase             string  `json:"api_base"`
	Attempts            int     `json:"attempts"`
	Retries             int     `json:"retries"`
	MaxRetries          int     `json:"max_retries"`
	Fallbacks           int     `json:"fallbacks"`
	LatencyMS           float64 `json:"latency_ms"`
	TimeToFirstTokenMS  float64 `json:"time_to_first_token_ms"`
	ResponseCost        float64 `json:"response_cost"`
	MalformedEvents     int     `json:"malformed_events"`
	StreamContinuations int     `json:"stream_continuations"`
	Usage               struct {
		Usage
		Reported bool `json:"reported"`
	} `json:"usage"`
	FinishReason string `json:"finish_reason"`
	AttemptLog   []struct {
		ModelGroup   string  `json:"model_group"`
		DeploymentID string  `json:"deployment_id"`
		ErrorType    string  `json:"error_type"`
		Status       int     `json:"status"`
		LatencyMS    float64 `json:"latency_ms"`
	} `json:"attempt_log"`
	Headers map[string]string `json:"headers"`
}

// UnmarshalJSON decodes the library's "_llmux" object.
func (m *Metadata) UnmarshalJSON(data []byte) error {
	var w metadataWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*m = w.metadata()
	return nil
}

func (w *metadataWire) metadata() Metadata {
	m := Metadata{
		CallID: w.CallID, RequestedModel: w.RequestedModel, ModelGroup: w.ModelGroup,
		FallbackModelGroup: w.FallbackModelGroup, DeploymentID: w.DeploymentID, DeploymentModel: w.DeploymentModel,
		Provider: w.Provider, APIBase: w.APIBase, Attempts: w.Attempts, Retries: w.Retries, MaxRetries: w.MaxRetries,
		Fallbacks: w.Fallbacks, Latency: milliseconds(w.LatencyMS), ResponseCost: w.ResponseCost,
		MalformedEvents: w.MalformedEvents, StreamContinuations: w.StreamContinuations, Usage: w.Usage.Usage,
		UsageReported: w.Usage.Reported, FinishReason: w.FinishReason, Headers: w.Headers,
	}
	if w.TimeToFirstTokenMS > 0 {
		m.TimeToFirstToken = milliseconds(w.TimeToFirstTokenMS)
	}
	if len(w.AttemptLog) > 0 {
		m.AttemptLog = make([]Attempt, 0, len(w.AttemptLog))
	}
	for _, a := range w.AttemptLog {
		m.AttemptLog = append(m.AttemptLog, Attempt{
			ModelGroup: a.ModelGroup, DeploymentID: a.DeploymentID, ErrorType: a.ErrorType, Status: a.Status,
			Latency: milliseconds(a.LatencyMS),
		})
	}
	return m
}

// DeploymentHealth is one deployment's state as Router.Health reports it.
type DeploymentHealth struct {
	ID         string
	ModelGroup string
	APIBase    string
	Healthy    bool   // false while cooling down or probing
	State      string // "healthy", "cooling_down", "half_open" (one probe may go), "probing"
	Reason     string // why it cooled down ("429 RateLimitError: ...")
	Status     int    // status of the failure that cooled it down
	// CooldownRemaining is the time until the deployment may be tried again.
	CooldownRemaining  time.Duration
	Trips              int // consecutive re-openings after failed probes
	InFlight           int64
	RequestsThisMinute int64
	TokensThisMinute   int64
}

// UnmarshalJSON decodes one entry of llmux_router_health's array.
func (h *DeploymentHealth) UnmarshalJSON(data []byte) error {
	var w struct {
		ID                       string  `json:"id"`
		ModelGroup               string  `json:"model_group"`
		APIBase                  string  `json:"api_base"`
		Healthy                  bool    `json:"healthy"`
		State                    string  `json:"state"`
		Reason                   string  `json:"reason"`
		Status                   int     `json:"status"`
		CooldownRemainingSeconds float64 `json:"cooldown_remaining_seconds"`
		Trips                    int     `json:"trips"`
		InFlight                 int64   `json:"in_flight"`
		RequestsThisMinute       int64   `json:"requests_this_minute"`
		TokensThisMinute         int64   `json:"tokens_this_minute"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*h = DeploymentHealth{
		ID: w.ID, ModelGroup: w.ModelGroup, APIBase: w.APIBase, Healthy: w.Healthy, State: w.State,
		Reason: w.Reason, Status: w.Status, CooldownRemaining: seconds(w.CooldownRemainingSeconds), Trips: w.Trips,
		InFlight: w.InFlight, RequestsThisMinute: w.RequestsThisMinute, TokensThisMinute: w.TokensThisMinute,
	}
	return nil
}

// Deployment is one model_list entry as the router holds it, with api_key
// and other secrets replaced by "***".
type Deployment struct {
	ModelName     string         `json:"model_name"`
	LiteLLMParams map[string]any `json:"litellm_params"`
	ModelInfo     map[string]any `json:"model_info"`
}

// ID is the deployment's model_info.id.
func (d Deployment) ID() string {
	id, _ := d.ModelInfo["id"].(string)
	return id
}
