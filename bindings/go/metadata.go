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
	// Start is when the attempt started, as an offset from the call's start
	// (waits between attempts show as gaps).
	Start time.Duration
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
		StartMS      float64 `json:"start_ms"`
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
			Latency: milliseconds(a.LatencyMS), Start: milliseconds(a.StartMS),
		})
	}
	return m
}

// DeploymentHealth is one deployment's state as Router.Health reports it.
type DeploymentHealth struct {
	ID         string
	ModelGroup string
	APIBase    string
	Healthy    bool // false while cooling down, probing, or routed around for a failed health check
	// "healthy", "cooling_down", "half_open" (one probe may go), "probing",
	// "failed_health_check" (routed around for a failed active health check)
	State  string
	Reason string // why it cooled down ("429 RateLimitError: ...") or failed its check
	Status int    // status of the failure that cooled it down (or of the failed check)
	// CooldownRemaining is the time until the deployment may be tried again.
	CooldownRemaining  time.Duration
	Trips              int // consecutive re-openings after failed probes
	InFlight           int64
	RequestsThisMinute int64
	TokensThisMinute   int64
	// CooledBy says who opened the cooldown when routing state is shared on
	// Redis: another replica's id, "redis" for one read back from Redis (a
	// LiteLLM worker's), empty for this router.
	CooledBy string
	// LastCheck is the latest active health check (nil when never checked).
	LastCheck *HealthCheckResult
	// FailedHealthCheck: routing avoids the deployment now because of its checks.
	FailedHealthCheck bool
	// NextHealthCheck is when the background schedule checks it next; negative when not scheduled.
	NextHealthCheck time.Duration
}

// HealthCheckResult is one active health check of one deployment: a minimal
// request sent outside routing (chat: one short message; embedding: one word).
type HealthCheckResult struct {
	DeploymentID string
	ModelGroup   string
	Mode         string // "chat" or "embedding"
	Model        string // model_info.health_check_model, else litellm_params.model
	Healthy      bool
	Skipped      bool   // not checked (a mode llmux does not serve, ...): Reason says why
	ErrorType    string // LiteLLM's exception name when it failed ("RateLimitError", "Timeout", ...)
	Status       int
	Reason       string // the provider's message; never a key
	CheckedAt    time.Time
	Latency      time.Duration
	CheckedBy    string // "this replica", or the replica that shared the result
}

// UnmarshalJSON decodes llmux's health check result object.
func (r *HealthCheckResult) UnmarshalJSON(data []byte) error {
	var w struct {
		DeploymentID string  `json:"deployment_id"`
		ModelGroup   string  `json:"model_group"`
		Mode         string  `json:"mode"`
		Model        string  `json:"model"`
		Healthy      bool    `json:"healthy"`
		Skipped      bool    `json:"skipped"`
		ErrorType    string  `json:"error_type"`
		Status       int     `json:"status"`
		Reason       string  `json:"reason"`
		CheckedAt    float64 `json:"checked_at"`
		LatencyMS    float64 `json:"latency_ms"`
		CheckedBy    string  `json:"checked_by"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = HealthCheckResult{
		DeploymentID: w.DeploymentID, ModelGroup: w.ModelGroup, Mode: w.Mode, Model: w.Model, Healthy: w.Healthy,
		Skipped: w.Skipped, ErrorType: w.ErrorType, Status: w.Status, Reason: w.Reason, CheckedAt: unixTime(w.CheckedAt),
		Latency: milliseconds(w.LatencyMS), CheckedBy: w.CheckedBy,
	}
	return nil
}

// HealthEndpoint is one deployment in a HealthReport.
type HealthEndpoint struct {
	Model      string // the model the check asks for
	ModelGroup string
	ModelID    string // the deployment id
	APIBase    string // never a key
	Mode       string
	Error      string // unhealthy: the check's reason; unchecked: why there is no result
	ErrorType  string
	Status     int
	// LastCheckAt is when the latest check ended (the zero time when never).
	LastCheckAt  time.Time
	Latency      time.Duration
	CheckedBy    string
	Stale        bool // older than the staleness threshold: no longer counts for routing
	RoutedAround bool // routing avoids the deployment now because of its checks
}

// UnmarshalJSON decodes one endpoint of llmux's health report.
func (e *HealthEndpoint) UnmarshalJSON(data []byte) error {
	var w struct {
		Model        string  `json:"model"`
		ModelGroup   string  `json:"model_group"`
		ModelID      string  `json:"model_id"`
		APIBase      string  `json:"api_base"`
		Mode         string  `json:"mode"`
		Error        string  `json:"error"`
		ErrorType    string  `json:"error_type"`
		Status       int     `json:"status"`
		LastCheckAt  float64 `json:"last_check_at"`
		LatencyMS    float64 `json:"latency_ms"`
		CheckedBy    string  `json:"checked_by"`
		Stale        bool    `json:"stale"`
		RoutedAround bool    `json:"routed_around"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*e = HealthEndpoint{
		Model: w.Model, ModelGroup: w.ModelGroup, ModelID: w.ModelID, APIBase: w.APIBase, Mode: w.Mode, Error: w.Error,
		ErrorType: w.ErrorType, Status: w.Status, LastCheckAt: unixTime(w.LastCheckAt), Latency: milliseconds(w.LatencyMS),
		CheckedBy: w.CheckedBy, Stale: w.Stale, RoutedAround: w.RoutedAround,
	}
	return nil
}

// HealthReport is the active health checks' view of the deployments, shaped
// like LiteLLM's /health answer: the deployments whose latest check passed or
// failed, and those without a result.
type HealthReport struct {
	HealthyEndpoints   []HealthEndpoint `json:"healthy_endpoints"`
	UnhealthyEndpoints []HealthEndpoint `json:"unhealthy_endpoints"`
	UncheckedEndpoints []HealthEndpoint `json:"unchecked_endpoints"`
}

// unixTime is Unix seconds as a time.Time; 0 is the zero time.
func unixTime(s float64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	sec := int64(s)
	return time.Unix(sec, int64((s-float64(sec))*1e9))
}

// UnmarshalJSON decodes one entry of llmux_router_health's array.
func (h *DeploymentHealth) UnmarshalJSON(data []byte) error {
	var w struct {
		ID                       string             `json:"id"`
		ModelGroup               string             `json:"model_group"`
		APIBase                  string             `json:"api_base"`
		Healthy                  bool               `json:"healthy"`
		State                    string             `json:"state"`
		Reason                   string             `json:"reason"`
		Status                   int                `json:"status"`
		CooldownRemainingSeconds float64            `json:"cooldown_remaining_seconds"`
		Trips                    int                `json:"trips"`
		InFlight                 int64              `json:"in_flight"`
		RequestsThisMinute       int64              `json:"requests_this_minute"`
		TokensThisMinute         int64              `json:"tokens_this_minute"`
		CooledBy                 string             `json:"cooled_by"`
		LastCheck                *HealthCheckResult `json:"last_check"`
		FailedHealthCheck        bool               `json:"failed_health_check"`
		NextHealthCheckSeconds   float64            `json:"next_health_check_seconds"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*h = DeploymentHealth{
		ID: w.ID, ModelGroup: w.ModelGroup, APIBase: w.APIBase, Healthy: w.Healthy, State: w.State,
		Reason: w.Reason, Status: w.Status, CooldownRemaining: seconds(w.CooldownRemainingSeconds), Trips: w.Trips,
		InFlight: w.InFlight, RequestsThisMinute: w.RequestsThisMinute, TokensThisMinute: w.TokensThisMinute,
		CooledBy: w.CooledBy, LastCheck: w.LastCheck, FailedHealthCheck: w.FailedHealthCheck, NextHealthCheck: seconds(w.NextHealthCheckSeconds),
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
