package llmux

// DirectWaits is, for the tests, the number of calls waiting on their own
// thread now (router.go), and MaxDirectWaits their bound.
func DirectWaits() int32 { return directWaits.Load() }

const MaxDirectWaits = maxDirectWaits
