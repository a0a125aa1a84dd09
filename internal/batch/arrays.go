package batch

import (
	"context"
	"fmt"
	"maps"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/store"
)

// arrayMem is what the engine keeps in memory only for N_TO_N arrays, whose children come into
// being out of order: which have rows, and how many of each child's N_TO_N dependencies
// succeeded or failed so far.
type arrayMem struct {
	mat       map[int]bool
	satisfied map[int]int
	depFailed map[int]bool
}

func newArrayMem() *arrayMem {
	return &arrayMem{mat: map[int]bool{}, satisfied: map[int]int{}, depFailed: map[int]bool{}}
}

func (e *engine) mem(par *activeJob) *arrayMem {
	m := e.arrayMem[par.store.ID]
	if m == nil {
		m = newArrayMem()
		e.arrayMem[par.store.ID] = m
	}
	return m
}

// summary is the array's statusSummary: every status, children without rows counted under the
// virtual status.
func (a *arrayRun) summary() map[string]int32 {
	out := make(map[string]int32, 7)
	for _, st := range wire.JobStatus("").Values() {
		out[string(st)] = int32(a.Counts[st])
	}
	waiting, failed := a.virtualCounts()
	out[string(a.VirtualStatus)] += int32(waiting)
	out[string(statusFailed)] += int32(failed)
	return out
}

// cut is the index of a SEQUENTIAL array's child cancelled before its turn (see CutAt), or Size.
func (a *arrayRun) cut() int {
	if a.CutAt > 0 {
		return a.CutAt - 1
	}
	return a.Size
}

// virtualStatus is the status and reason of child idx while it has no row.
func (a *arrayRun) virtualStatus(idx int) (wire.JobStatus, string) {
	if idx > a.cut() && a.VirtualStatus != statusFailed {
		return statusFailed, reasonDependencyFailed
	}
	return a.VirtualStatus, a.VirtualReason
}

// virtualCounts splits the children without rows into those in VirtualStatus and those failed
// after a SEQUENTIAL array's cancelled child.
func (a *arrayRun) virtualCounts() (waiting, failed int) {
	virtual := a.Size - a.materialized()
	cut := a.cut()
	if cut >= a.Size || a.VirtualStatus == statusFailed {
		return virtual, 0
	}
	// Rows after the cut: children [Next, …) have none but the skipped ones.
	failed = a.Size - max(cut+1, a.Next)
	for idx := range a.Skip {
		if idx > cut && idx >= a.Next {
			failed--
		}
	}
	return virtual - failed, failed
}

// materialized is how many children have rows.
func (a *arrayRun) materialized() int {
	n := 0
	for _, c := range a.Counts {
		n += c
	}
	return n
}

func (e *engine) isMaterialized(par *activeJob, idx int) bool {
	a := par.rec.Run.Array
	if a.inOrder() {
		return idx < a.Next || a.Skip[idx]
	}
	return e.mem(par).mat[idx]
}

// resumeArray lets an activated array's children run: all of a plain array's waiting children
// become one scheduler entry; a SEQUENTIAL array starts its next child; an N_TO_N array starts
// the children whose counterparts succeeded.
func (e *engine) resumeArray(par *activeJob) {
	a := par.rec.Run.Array
	if a.VirtualStatus == statusFailed {
		e.checkArrayDone(par)
		return
	}
	switch {
	case a.Sequential:
		a.VirtualStatus = statusPending
		if a.Next == 0 {
			e.materialize(par, 0, statusRunnable, "")
		} else if last := e.statusOf(par.store.Account, childID(par.store.ID, a.Next-1)); a.Next < a.Size {
			// After a restart: carry on from the last child's outcome.
			switch last {
			case statusSucceeded:
				e.materialize(par, a.Next, statusRunnable, "")
			case statusFailed:
				e.failVirtual(par, reasonDependencyFailed)
			}
		}
	case len(a.NToN) > 0:
		a.VirtualStatus = statusPending
		m := e.mem(par)
		for idx := range m.depFailed {
			if !m.mat[idx] {
				e.materialize(par, idx, statusFailed, reasonDependencyFailed)
			}
		}
		for idx, n := range m.satisfied {
			if n == len(a.NToN) && !m.mat[idx] && !m.depFailed[idx] {
				e.materialize(par, idx, statusRunnable, "")
			}
		}
	default:
		a.VirtualStatus = statusRunnable
		if n := a.Size - a.Next; n > 0 && !e.sched.Enqueue(e.schedJob(par, n)) {
			e.failVirtual(par, reasonQueueGone)
		}
	}
	e.markDirty(par)
	e.checkArrayDone(par)
}

// scanNToN records, for a new (or recovered) N_TO_N array, which counterparts already finished.
func (e *engine) scanNToN(par *activeJob) {
	a := par.rec.Run.Array
	m := e.mem(par)
	clear(m.satisfied)
	clear(m.depFailed)
	for _, dep := range a.NToN {
		ok, failed, _ := e.childStatuses(par.store.Account, dep)
		for idx := range ok {
			m.satisfied[idx]++
		}
		maps.Copy(m.depFailed, failed)
	}
}

// ntonEvent: child idx of one of array depID's N_TO_N dependencies finished.
func (e *engine) ntonEvent(depID string, idx int, st wire.JobStatus) {
	par, ok := e.arrays[depID]
	if !ok {
		return
	}
	a := par.rec.Run.Array
	m := e.mem(par)
	if st == statusSucceeded {
		m.satisfied[idx]++
	} else {
		m.depFailed[idx] = true
	}
	if !par.rec.Run.Activated || m.mat[idx] || a.VirtualStatus == statusFailed {
		return
	}
	switch {
	case m.depFailed[idx]:
		e.materialize(par, idx, statusFailed, reasonDependencyFailed)
	case m.satisfied[idx] == len(a.NToN):
		e.materialize(par, idx, statusRunnable, "")
	}
}

// materializeNext gives the next waiting child of a plain array a row, for a placement.
func (e *engine) materializeNext(par *activeJob) *activeJob {
	a := par.rec.Run.Array
	if a.VirtualStatus != statusRunnable || a.Next >= a.Size {
		return nil
	}
	return e.materialize(par, a.Next, "", "")
}

// materialize creates child idx of an array from the parent's template, in status st ("" for a
// child about to be placed, whose status the caller sets).
func (e *engine) materialize(par *activeJob, idx int, st wire.JobStatus, reason string) *activeJob {
	a := par.rec.Run.Array
	pd := &par.rec.Detail
	id := childID(par.store.ID, idx)
	now := e.s.nowMillis()
	d := *pd // the parent's fields; the ones that differ are set below
	d.JobId = id
	d.JobArn = pd.JobArn + ":" + fmt.Sprint(idx)
	d.Status = ""
	d.StatusReason = ""
	d.Attempts = nil
	d.StartedAt, d.StoppedAt = nil, nil
	d.CreatedAt = &now
	d.ArrayProperties = &wire.ArrayPropertiesDetail{Index: ptr(int32(idx))}
	d.Tags = maps.Clone(pd.Tags)
	d.DependsOn = nil
	if a.Sequential && idx > 0 {
		d.DependsOn = []wire.JobDependency{{JobId: childID(par.store.ID, idx-1), Type: wire.ArrayJobDependencySequential}}
	}
	for _, dep := range a.NToN {
		d.DependsOn = append(d.DependsOn, wire.JobDependency{JobId: childID(dep, idx), Type: wire.ArrayJobDependencyNToN})
	}
	c := *pd.Container
	d.Container = &c
	rec := &jobRecord{Detail: d, Run: runState{QueueName: par.rec.Run.QueueName, JobDefName: par.rec.Run.JobDefName, Need: par.rec.Run.Need, Activated: true,
		Entrypoint: par.rec.Run.Entrypoint}}
	child := &activeJob{
		store: &store.Job{Account: par.store.Account, ID: id, Name: par.store.Name, Queue: par.store.Queue,
			ArrayParent: par.store.ID, CreatedAt: now},
		rec:   rec,
		isNew: true,
	}
	e.jobs[id] = child
	switch {
	case !a.inOrder():
		e.mem(par).mat[idx] = true
	case idx == a.Next:
		a.Next = idx + 1
		for a.Skip[a.Next] {
			delete(a.Skip, a.Next)
			a.Next++
		}
	default:
		if a.Skip == nil {
			a.Skip = map[int]bool{}
		}
		a.Skip[idx] = true
	}
	e.markDirty(par)
	switch st {
	case statusRunnable:
		e.makeRunnable(child)
	case statusFailed:
		e.fail(child, reason)
	case "":
		// The caller places it; count it as waiting until then.
		rec.Detail.Status = statusRunnable
		a.Counts[statusRunnable]++
		e.markDirty(child)
	}
	return child
}

// failVirtual fails every child of the array that has no row yet, and whoever waits on them.
func (e *engine) failVirtual(par *activeJob, reason string) {
	a := par.rec.Run.Array
	if a.VirtualStatus == statusFailed {
		return
	}
	a.VirtualStatus = statusFailed
	a.VirtualReason = reason
	a.CutAt = 0
	e.sched.Dequeue(par.store.ID)
	e.markDirty(par)
	if a.materialized() == a.Size {
		return
	}
	// Jobs waiting on one of these children, and N_TO_N counterparts, learn of the failure.
	prefix := par.store.ID + ":"
	for key := range e.deps {
		if pid, idx, ok := splitChildID(key); ok && pid == par.store.ID && !e.isMaterialized(par, idx) && len(key) > len(prefix) {
			e.notify(key, statusFailed)
		}
	}
	for _, dep := range e.nton[par.store.ID] {
		for i := 0; i < a.Size; i++ {
			if !e.isMaterialized(par, i) {
				e.ntonEvent(dep, i, statusFailed)
			}
		}
	}
}

// checkArrayDone finishes the parent once no child can change any more.
func (e *engine) checkArrayDone(par *activeJob) {
	a := par.rec.Run.Array
	d := &par.rec.Detail
	if terminal(d.Status) {
		return
	}
	unfinished := a.materialized() - a.Counts[statusSucceeded] - a.Counts[statusFailed]
	virtual := a.Size - a.materialized()
	if waiting, _ := a.virtualCounts(); unfinished > 0 || (waiting > 0 && a.VirtualStatus != statusFailed) {
		return
	}
	now := e.s.nowMillis()
	d.StoppedAt = &now
	if a.Counts[statusFailed] == 0 && virtual == 0 {
		e.setStatus(par, statusSucceeded)
		return
	}
	switch {
	case a.VirtualReason != "":
		d.StatusReason = a.VirtualReason
	default:
		d.StatusReason = "Array child job failed"
	}
	e.setStatus(par, statusFailed)
}

// stopArray cancels (or terminates) an array: children that have not started fail with the
// reason; with terminate, running children are killed too. The parent finishes when its
// children have, as in AWS.
func (e *engine) stopArray(par *activeJob, reason string, terminate bool) {
	if terminal(par.rec.Detail.Status) {
		return
	}
	if terminate {
		par.rec.Detail.IsTerminated = ptr(true)
	} else {
		par.rec.Detail.IsCancelled = ptr(true)
	}
	// Pending dependencies no longer matter.
	par.rec.Run.Activated = true
	e.failVirtual(par, reason)
	for _, aj := range e.jobs {
		if aj.store.ArrayParent == par.store.ID && !terminal(aj.rec.Detail.Status) {
			e.stopJob(aj, reason, terminate)
		}
	}
	e.checkArrayDone(par)
}

// recoverArrays rebuilds the in-memory extras of unfinished N_TO_N arrays after a restart. Every
// one is linked to the arrays it follows before any job is recovered: recovering a job can fail
// one of those (a lost attempt, a failed dependency), and the N_TO_N arrays must hear of it
// whatever their place in the recovery order.
func (e *engine) recoverArrays(ctx context.Context) error {
	for id, par := range e.arrays {
		a := par.rec.Run.Array
		if a.Counts == nil {
			a.Counts = map[wire.JobStatus]int{}
		}
		if len(a.NToN) > 0 {
			e.linkNToN(par)
		}
		if a.inOrder() {
			continue
		}
		rows, err := e.s.store.JobList(ctx, &store.JobListParams{Account: par.store.Account, ArrayParent: id})
		if err != nil {
			return fmt.Errorf("array %s: %w", id, err)
		}
		m := e.mem(par)
		for _, r := range rows {
			m.mat[childIndex(r.ID)] = true
		}
		if par.rec.Run.Activated {
			e.scanNToN(par)
		}
	}
	return nil
}

// stopVirtualChild cancels one child of an array before it got a row: the child is recorded
// FAILED at once (its own dependents fail in turn) and the array skips it. In a SEQUENTIAL array
// every later child fails too (each waits for the one before), at once, while the earlier ones
// still run in order. A child without a row that has failed already is left as it is.
func (e *engine) stopVirtualChild(account, id, reason string, terminate bool) bool {
	parentID, idx, ok := splitChildID(id)
	if !ok {
		return false
	}
	par, ok := e.arrays[parentID]
	if !ok || par.store.Account != account {
		return false
	}
	a := par.rec.Run.Array
	if idx >= a.Size || e.isMaterialized(par, idx) {
		return false
	}
	if st, _ := a.virtualStatus(idx); st == statusFailed {
		return true // as AWS: cancelling a finished job does nothing
	}
	if a.Sequential {
		a.CutAt = idx + 1
		e.failAfterCut(par)
	}
	child := e.materialize(par, idx, statusFailed, reason)
	if terminate {
		child.rec.Detail.IsTerminated = ptr(true)
	} else {
		child.rec.Detail.IsCancelled = ptr(true)
	}
	e.checkArrayDone(par)
	return true
}

// failAfterCut tells whoever waits on a child after a SEQUENTIAL array's cut (a job depending on
// the child, or an N_TO_N counterpart) that it failed.
func (e *engine) failAfterCut(par *activeJob) {
	a := par.rec.Run.Array
	cut := a.cut()
	for key := range e.deps {
		if pid, idx, ok := splitChildID(key); ok && pid == par.store.ID && idx > cut && idx < a.Size && !e.isMaterialized(par, idx) {
			e.notify(key, statusFailed)
		}
	}
	for _, dep := range e.nton[par.store.ID] {
		for i := cut + 1; i < a.Size; i++ {
			if !e.isMaterialized(par, i) {
				e.ntonEvent(dep, i, statusFailed)
			}
		}
	}
}
