package llmux

// ThreadWaits is, for the tests, the number of calls waiting on their own
// thread now (router.go), and MaxThreadWaits their bound.
func ThreadWaits() int32 { return threadWaits.Load() }

const MaxThreadWaits = maxThreadWaits
