package batch

import (
	"context"
	"slices"
	"strconv"
	"strings"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
	"github.com/barge-run/barge/internal/store"
)

// reasonDependencyFailed is AWS's status reason for a job whose dependency failed.
const reasonDependencyFailed = "Dependent Job failed"

// admit takes a job in (at submission, or again after a restart): it waits on its unfinished
// dependencies, fails at once if one already failed, or becomes active.
func (e *engine) admit(aj *activeJob) {
	// Apply the consequences of jobs that just finished first: otherwise a scan below could
	// count a finished child that settle then counts again.
	e.settle()
	d := &aj.rec.Detail
	if d.Status == statusSubmitted {
		e.setStatus(aj, statusPending)
	}
	aj.waiting = 0
	failed := false
	for _, dep := range d.DependsOn {
		if dep.Type == wire.ArrayJobDependencyNToN || dep.Type == wire.ArrayJobDependencySequential {
			continue // per-child dependencies, handled by the array
		}
		switch st := e.statusOf(aj.store.Account, dep.JobId); st {
		case statusSucceeded:
		case statusFailed, "":
			failed = true
		default:
			aj.waiting++
			e.deps[dep.JobId] = append(e.deps[dep.JobId], aj.store.ID)
		}
		if failed {
			break
		}
	}
	if a := aj.rec.Run.Array; a != nil && len(a.NToN) > 0 {
		e.linkNToN(aj)
		e.scanNToN(aj)
	}
	switch {
	case failed:
		e.failWaiting(aj, reasonDependencyFailed)
	case aj.waiting == 0:
		e.activate(aj)
	}
}

// linkNToN registers an N_TO_N array with the arrays it follows child by child (once).
func (e *engine) linkNToN(aj *activeJob) {
	for _, dep := range aj.rec.Run.Array.NToN {
		if !slices.Contains(e.nton[dep], aj.store.ID) {
			e.nton[dep] = append(e.nton[dep], aj.store.ID)
		}
	}
}

// activate runs once a job's dependencies are satisfied.
func (e *engine) activate(aj *activeJob) {
	aj.rec.Run.Activated = true
	e.markDirty(aj)
	if aj.rec.Run.Array == nil {
		e.makeRunnable(aj)
		return
	}
	e.resumeArray(aj)
}

// failWaiting fails a job that has not started because a dependency failed (or it was cancelled
// before it could start).
func (e *engine) failWaiting(aj *activeJob, reason string) {
	if aj.rec.Run.Array != nil {
		e.failVirtual(aj, reason)
		e.checkArrayDone(aj)
		return
	}
	e.fail(aj, reason)
}

// settle applies the consequences of jobs that reached a terminal state, transitively: waiting
// jobs are released or failed, array parents count their children, sequential and N_TO_N
// children move on. A worklist rather than recursion, so a long chain cannot overflow the stack.
func (e *engine) settle() {
	for len(e.finished) > 0 {
		aj := e.finished[0]
		e.finished = e.finished[1:]
		e.onTerminal(aj)
	}
}

func (e *engine) onTerminal(aj *activeJob) {
	id := aj.store.ID
	st := aj.rec.Detail.Status
	e.notify(id, st)
	if parentID := aj.store.ArrayParent; parentID != "" {
		if par := e.arrays[parentID]; par != nil {
			idx := childIndex(id)
			a := par.rec.Run.Array
			if a.Sequential && a.VirtualStatus != statusFailed {
				switch cut := a.cut(); {
				case a.CutAt > 0 && idx == cut:
					// The cancelled child: the children before it run on, unless there are none.
					if idx == 0 {
						e.failVirtual(par, reasonDependencyFailed)
					}
				case a.CutAt > 0 && idx+1 == cut, st != statusSucceeded:
					e.failVirtual(par, reasonDependencyFailed)
				case idx+1 < a.Size:
					e.materialize(par, idx+1, statusRunnable, "")
				}
			}
			for _, dep := range e.nton[parentID] {
				e.ntonEvent(dep, idx, st)
			}
			e.checkArrayDone(par)
		}
	}
	if aj.rec.Run.Array != nil {
		delete(e.arrays, id)
		delete(e.arrayMem, id)
		delete(e.nton, id)
	}
}

// notify tells the jobs waiting on key that it finished.
func (e *engine) notify(key string, st wire.JobStatus) {
	waiters := e.deps[key]
	delete(e.deps, key)
	for _, w := range waiters {
		wj, ok := e.jobs[w]
		if !ok || terminal(wj.rec.Detail.Status) || wj.rec.Run.Activated {
			continue
		}
		if st != statusSucceeded {
			e.failWaiting(wj, reasonDependencyFailed)
			continue
		}
		if wj.waiting--; wj.waiting == 0 {
			e.activate(wj)
		}
	}
}

// statusOf is the current status of a job or array child of the account ("" when unknown).
func (e *engine) statusOf(account, id string) wire.JobStatus {
	if aj, ok := e.jobs[id]; ok && aj.store.Account == account {
		return aj.rec.Detail.Status
	}
	parentID, idx, isChild := splitChildID(id)
	if isChild {
		if par, ok := e.arrays[parentID]; ok && par.store.Account == account && !e.isMaterialized(par, idx) {
			st, _ := par.rec.Run.Array.virtualStatus(idx)
			return st
		}
	}
	ctx := context.Background()
	jobs, err := e.s.store.JobGetMany(ctx, account, []string{id})
	if err != nil {
		e.s.log.Error("read dependency", "job", id, "err", err)
		return ""
	}
	if len(jobs) == 1 {
		return wire.JobStatus(jobs[0].Status)
	}
	if !isChild {
		return ""
	}
	// A finished array stays in memory until its final row is durable; memory is newer.
	if par, ok := e.jobs[parentID]; ok && par.store.Account == account && par.rec.Run.Array != nil {
		if idx >= par.rec.Run.Array.Size {
			return ""
		}
		st, _ := par.rec.Run.Array.virtualStatus(idx)
		return st
	}
	parents, err := e.s.store.JobGetMany(ctx, account, []string{parentID})
	if err != nil || len(parents) == 0 {
		return ""
	}
	rec, err := decodeJob(parents[0])
	if err != nil || rec.Run.Array == nil || idx >= rec.Run.Array.Size {
		return ""
	}
	st, _ := rec.Run.Array.virtualStatus(idx)
	return st
}

// splitChildID splits "parent:index".
func splitChildID(id string) (string, int, bool) {
	i := strings.LastIndexByte(id, ':')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(id[i+1:])
	if err != nil || n < 0 {
		return "", 0, false
	}
	return id[:i], n, true
}

func childIndex(id string) int {
	_, n, _ := splitChildID(id)
	return n
}

func childID(parent string, idx int) string { return parent + ":" + strconv.Itoa(idx) }

// childStatuses reads the terminal children of array id: which indices succeeded and which
// failed (children that never got a row share the array's virtual status).
func (e *engine) childStatuses(account, id string) (succeeded, failed map[int]bool, size int) {
	succeeded, failed = map[int]bool{}, map[int]bool{}
	var a *arrayRun
	var mat func(int) bool
	if par, ok := e.arrays[id]; ok {
		a = par.rec.Run.Array
		mat = func(i int) bool { return e.isMaterialized(par, i) }
	} else if par, ok := e.jobs[id]; ok && par.rec.Run.Array != nil {
		// Finished, its final row not yet durable: memory is newer than the store.
		a = par.rec.Run.Array
	} else {
		parents, err := e.s.store.JobGetMany(context.Background(), account, []string{id})
		if err != nil || len(parents) == 0 {
			return succeeded, failed, 0
		}
		rec, err := decodeJob(parents[0])
		if err != nil || rec.Run.Array == nil {
			return succeeded, failed, 0
		}
		a = rec.Run.Array
	}
	rows, err := e.s.store.JobList(context.Background(), &store.JobListParams{Account: account, ArrayParent: id})
	if err != nil {
		e.s.log.Error("read array children", "job", id, "err", err)
	}
	have := map[int]bool{}
	for _, r := range rows {
		idx := childIndex(r.ID)
		have[idx] = true
		status := wire.JobStatus(r.Status)
		if aj, ok := e.jobs[r.ID]; ok {
			status = aj.rec.Detail.Status // newer than the row
		}
		switch status {
		case statusSucceeded:
			succeeded[idx] = true
		case statusFailed:
			failed[idx] = true
		}
	}
	// Children whose rows are not committed yet are only in memory.
	for cid, aj := range e.jobs {
		if aj.store.ArrayParent == id && !aj.stored {
			idx := childIndex(cid)
			have[idx] = true
			switch aj.rec.Detail.Status {
			case statusSucceeded:
				succeeded[idx] = true
			case statusFailed:
				failed[idx] = true
			}
		}
	}
	// Children without rows have failed when the array's have, or when they come after a
	// SEQUENTIAL array's cancelled child.
	from := a.Size
	switch {
	case a.VirtualStatus == statusFailed:
		from = 0
	case a.CutAt > 0:
		from = a.cut() + 1
	}
	for i := from; i < a.Size; i++ {
		if !have[i] && (mat == nil || !mat(i)) {
			failed[i] = true
		}
	}
	return succeeded, failed, a.Size
}
