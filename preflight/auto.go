package preflight

// NewAuto returns the evaluator "auto" means, the one both example
// commands use: IAM's policy simulator first when sim is set and no
// identity policy is supplied in local.Sources (the simulator evaluates
// the caller's stored policies, never supplied ones), with the local
// engine deciding the simulator's blind spots, or the local engine alone;
// then probe, when set, for every requirement still Unknown.
//
// Pass sim only where IAM's simulator is served (AWS, or an IAM endpoint
// that implements it) and probe only where its side-effect-free calls are
// wanted.
func NewAuto(local LocalOptions, sim SimulateAPI, probe *Probe) Evaluator {
	loc := NewLocal(local)
	var s *simulator
	if sim != nil && len(local.Sources.Identity) == 0 {
		s = newSimulator(sim, loc)
	}
	return newChain(s, loc, probe)
}
