package sched

// Fit says whether a job could ever run in its queue, for reporting why it waits.
type Fit int

// Fit values.
const (
	// FitLater: some compute environment of the queue is big enough; it is busy (or disabled).
	FitLater Fit = iota
	// FitNever: the job needs more than any compute environment of the queue has in total.
	FitNever
	// FitNoComputeEnv: the queue has no compute environment (or is unknown).
	FitNoComputeEnv
)

// CouldEverFit tells whether need could ever be placed by queue.
func (s *Scheduler) CouldEverFit(queue string, need Resources) Fit {
	qs, ok := s.queues[queue]
	if !ok {
		return FitNoComputeEnv
	}
	found := false
	for _, key := range qs.ComputeEnvs {
		if c, ok := s.ces[key]; ok {
			found = true
			if need.Fits(c.Capacity) {
				return FitLater
			}
		}
	}
	if !found {
		return FitNoComputeEnv
	}
	return FitNever
}
