package llmuxotel_test

import (
	"context"
	"fmt"
	"log"

	llmux "github.com/llmux/llmux/bindings/go"
	llmuxotel "github.com/llmux/llmux/bindings/go/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A call that fails over to a second deployment becomes a call span with one
// child span per attempt.
func ExampleWrap() {
	router, err := llmux.NewRouter(`
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, mock_response: litellm.ServiceUnavailableError, order: 1}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o-mini, mock_response: "Hello!", order: 2}
router_settings: {num_retries: 1, allowed_fails: 0}
`)
	if err != nil {
		log.Fatal(err)
	}
	defer router.Close()
	// An application sets its exporter up here; the example records the spans in memory.
	recorder := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	traced := llmuxotel.Wrap(router, llmuxotel.WithTracerProvider(tp))

	ctx, request := tp.Tracer("app").Start(context.Background(), "handle request")
	_, err = traced.Completion(ctx, &llmux.ChatCompletionRequest{
		Model:    "gpt-4o",
		Messages: []llmux.Message{{Role: "user", Content: "Hello"}},
	})
	request.End()
	if err != nil {
		log.Fatal(err)
	}
	for _, span := range recorder.Ended() {
		fmt.Printf("%s (%s)\n", span.Name(), span.Status().Code)
	}
	// Output:
	// attempt gpt-4o (Error)
	// attempt gpt-4o (Unset)
	// chat gpt-4o (Unset)
	// handle request (Unset)
}
