package llmux

import "context"

// Endpoint names an OpenAI endpoint for Call.
//
// Text completions, moderations and the Responses API are passed through to
// OpenAI-compatible deployments (/completions, /moderations, /responses under
// api_base) and answered by mock_response; a deployment of another provider
// family fails them with KindBadRequest naming the endpoint and the provider.
type Endpoint int

const (
	EndpointChatCompletions Endpoint = iota // /chat/completions
	EndpointEmbeddings                      // /embeddings
	EndpointTextCompletions                 // /completions
	EndpointModerations                     // /moderations
	EndpointResponses                       // /responses (the Responses API)
)

// String is the endpoint's name ("text_completions", ...).
func (e Endpoint) String() string {
	switch e {
	case EndpointChatCompletions:
		return "chat_completions"
	case EndpointEmbeddings:
		return "embeddings"
	case EndpointTextCompletions:
		return "text_completions"
	case EndpointModerations:
		return "moderations"
	case EndpointResponses:
		return "responses"
	}
	return "unknown"
}

// Call sends an OpenAI request body for endpoint ("model" plus "messages",
// "input" or "prompt", and router keys such as "num_retries" or
// "fallbacks"), routed like Completion with retries, fallbacks and cooldowns,
// non-streaming. It returns the provider's response JSON with its "_llmux"
// member. Cancelling ctx cancels the call. An endpoint outside the constants
// above is a KindInvalidArgument error.
func (r *Router) Call(ctx context.Context, endpoint Endpoint, request []byte) ([]byte, error) {
	if endpoint < EndpointChatCompletions || endpoint > EndpointResponses {
		return nil, invalidArgument("unknown endpoint")
	}
	return r.call(ctx, callEndpoint+callKind(endpoint), request)
}

// TextCompletion sends an OpenAI /completions body (LiteLLM's
// Router.text_completion); see Call.
func (r *Router) TextCompletion(ctx context.Context, request []byte) ([]byte, error) {
	return r.Call(ctx, EndpointTextCompletions, request)
}

// Moderation sends an OpenAI /moderations body ("model" is required: the
// model group); see Call.
func (r *Router) Moderation(ctx context.Context, request []byte) ([]byte, error) {
	return r.Call(ctx, EndpointModerations, request)
}

// Responses sends an OpenAI Responses API body (LiteLLM's
// Router.aresponses); see Call.
func (r *Router) Responses(ctx context.Context, request []byte) ([]byte, error) {
	return r.Call(ctx, EndpointResponses, request)
}
