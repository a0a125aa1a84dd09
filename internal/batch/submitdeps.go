package batch

import (
	"context"
	"fmt"

	"github.com/barge-run/barge/internal/awserr"
	wire "github.com/barge-run/barge/internal/awstypes/batch"
)

// MaxArraySize is the largest array barge accepts: a barge extension (AWS allows 10,000),
// affordable because children are created lazily.
const MaxArraySize = 1_000_000

// MaxDependencies is the most dependencies one job may have: a barge extension (AWS allows 20).
const MaxDependencies = 100_000

// checkDependencies validates dependsOn at submission: every job it names exists in the account;
// SEQUENTIAL and N_TO_N apply to arrays only, N_TO_N between arrays of the same size. It records
// the per-child dependencies on the new array.
func (s *Service) checkDependencies(ctx context.Context, account string, deps []wire.JobDependency, array *arrayRun) error {
	if len(deps) > MaxDependencies {
		return awserr.Client("dependsOn: at most %d dependencies, got %d", MaxDependencies, len(deps))
	}
	// Look the named jobs up in chunks: for "parent:index" the parent is what must exist.
	need := map[string]bool{}
	for i, dep := range deps {
		field := fmt.Sprintf("dependsOn[%d]", i)
		switch dep.Type {
		case "":
		case wire.ArrayJobDependencySequential:
			if array == nil {
				return awserr.Client("%s.type: SEQUENTIAL applies only to array jobs", field)
			}
			if dep.JobId != "" {
				return awserr.Client("%s.jobId: a SEQUENTIAL dependency names no job (each child waits for the previous one)", field)
			}
			array.Sequential = true
			continue
		case wire.ArrayJobDependencyNToN:
			if array == nil {
				return awserr.Client("%s.type: N_TO_N applies only to array jobs", field)
			}
		default:
			return awserr.Client("%s.type: %q is not one of N_TO_N, SEQUENTIAL", field, dep.Type)
		}
		if dep.JobId == "" {
			return awserr.Client("%s.jobId is required", field)
		}
		if parent, _, ok := splitChildID(dep.JobId); ok {
			need[parent] = true
		} else {
			need[dep.JobId] = true
		}
	}
	if array != nil && array.Sequential && len(deps) > 1 {
		for _, dep := range deps {
			if dep.Type == wire.ArrayJobDependencyNToN {
				return awserr.Client("dependsOn: an array cannot be both SEQUENTIAL and N_TO_N")
			}
		}
	}
	ids := make([]string, 0, len(need))
	for id := range need {
		ids = append(ids, id)
	}
	found := map[string]*jobRecord{}
	for start := 0; start < len(ids); start += 500 {
		end := min(start+500, len(ids))
		jobs, err := s.store.JobGetMany(ctx, account, ids[start:end])
		if err != nil {
			return s.storeErr(err, "")
		}
		for _, j := range jobs {
			rec, err := decodeJob(j)
			if err != nil {
				return s.storeErr(err, "")
			}
			found[j.ID] = rec
		}
	}
	for i, dep := range deps {
		if dep.Type == wire.ArrayJobDependencySequential {
			continue
		}
		field := fmt.Sprintf("dependsOn[%d].jobId", i)
		parent, idx, isChild := splitChildID(dep.JobId)
		if !isChild {
			parent = dep.JobId
		}
		rec, ok := found[parent]
		if !ok {
			return awserr.Client("%s: job %s does not exist", field, dep.JobId)
		}
		if isChild && (rec.Run.Array == nil || idx >= rec.Run.Array.Size) {
			return awserr.Client("%s: job %s has no array child %d", field, parent, idx)
		}
		if dep.Type == wire.ArrayJobDependencyNToN {
			if isChild || rec.Run.Array == nil {
				return awserr.Client("%s: an N_TO_N dependency must name an array job", field)
			}
			if rec.Run.Array.Size != array.Size {
				return awserr.Client("%s: an N_TO_N dependency needs arrays of the same size (%d and %d)", field, array.Size, rec.Run.Array.Size)
			}
			array.NToN = append(array.NToN, dep.JobId)
		}
	}
	return nil
}
