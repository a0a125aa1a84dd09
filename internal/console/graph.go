package console

import (
	"context"
	"net/http"

	wire "github.com/barge-run/barge/internal/awstypes/batch"
)

const (
	// graphDepth is how many levels of dependencies the graph page follows.
	graphDepth = 4
	// graphNodes bounds the jobs the graph page shows.
	graphNodes = 200
)

// node is one job in a dependency graph, with the jobs it depends on.
type node struct {
	ID, Name, Status, Type string
	Found                  bool // the account has this job
	Seen                   bool // shown elsewhere in the graph already: not expanded again
	Cut                    bool // deeper than graphDepth, or past graphNodes: not expanded
	Deps                   []*node
}

// graph serves a job's dependency graph: what it depends on, transitively, as nested lists.
func (c *Console) graph(w http.ResponseWriter, r *http.Request, account string) {
	ctx, cancel := pageContext(r)
	defer cancel()
	root := &node{ID: r.PathValue("id")}
	if err := c.expand(ctx, account, root); err != nil {
		c.serviceError(w, "dependencies", err)
		return
	}
	if !root.Found {
		c.fail(w, http.StatusNotFound, errNoJob(root.ID))
		return
	}
	c.render(w, http.StatusOK, "graph.html", map[string]any{"Title": "Dependencies of " + root.Name, "Nav": true,
		"Account": account, "Root": root, "Depth": graphDepth, "Refresh": !terminal(root.Status)})
}

// expand describes the graph's jobs level by level (one DescribeJobs per 100 jobs of a level).
func (c *Console) expand(ctx context.Context, account string, root *node) error {
	level := []*node{root}
	seen := map[string]bool{root.ID: true}
	shown := 1
	for depth := 0; len(level) > 0; depth++ {
		details, err := c.describe(ctx, account, level)
		if err != nil {
			return err
		}
		var next []*node
		for _, n := range level {
			d, ok := details[n.ID]
			if !ok {
				continue
			}
			n.Found, n.Name, n.Status = true, d.JobName, string(d.Status)
			for _, dep := range d.DependsOn {
				child := &node{ID: dep.JobId, Type: string(dep.Type)}
				n.Deps = append(n.Deps, child)
				switch {
				case seen[dep.JobId]:
					child.Seen = true
				case depth+1 >= graphDepth || shown >= graphNodes:
					child.Cut = true
				default:
					seen[dep.JobId] = true
					shown++
					next = append(next, child)
				}
			}
		}
		level = next
	}
	return nil
}

// describe describes the nodes' jobs, by id.
func (c *Console) describe(ctx context.Context, account string, nodes []*node) (map[string]wire.JobDetail, error) {
	out := map[string]wire.JobDetail{}
	for i := 0; i < len(nodes); i += 100 {
		var ids []string
		for _, n := range nodes[i:min(i+100, len(nodes))] {
			ids = append(ids, n.ID)
		}
		res, err := c.cfg.Batch.DescribeJobs(ctx, account, &wire.DescribeJobsRequest{Jobs: ids})
		if err != nil {
			return nil, err
		}
		for _, j := range res.Jobs {
			out[j.JobId] = j
		}
	}
	return out, nil
}
