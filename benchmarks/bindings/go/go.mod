module github.com/llmux/llmux/benchmarks/bindings/go

go 1.24

require github.com/llmux/llmux/bindings/go v0.0.0

replace github.com/llmux/llmux/bindings/go => ../../../bindings/go
