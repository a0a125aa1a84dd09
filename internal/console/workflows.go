package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/barge-run/barge/internal/awserr"
	"github.com/barge-run/barge/internal/awstypes"
	sw "github.com/barge-run/barge/internal/awstypes/sfn"
	"github.com/barge-run/barge/internal/sfn/asl"
)

// Bounds of the workflows pages.
const (
	maxMachines          = 200
	executionsPerMachine = 10
	maxHistoryEvents     = 20000 // a graph drawn from more would not be read
)

// machineRow is one state machine on the workflows page, with its latest executions.
type machineRow struct {
	sw.StateMachineListItem
	Executions []sw.ExecutionListItem
}

// workflows serves the workflows page: each Step Functions state machine and its latest
// executions, refreshing while any runs.
func (c *Console) workflows(w http.ResponseWriter, r *http.Request, account string) {
	ctx, cancel := pageContext(r)
	defer cancel()
	var rows []machineRow
	live := false
	token := ""
	for c.cfg.Steps != nil && len(rows) < maxMachines {
		res, err := c.cfg.Steps.ListStateMachines(ctx, account, &sw.ListStateMachinesInput{NextToken: token, MaxResults: aws.Int32(100)})
		if err != nil {
			c.serviceError(w, "state machines", err)
			return
		}
		for _, m := range res.StateMachines {
			row := machineRow{StateMachineListItem: m}
			if m.Type != sw.StateMachineTypeExpress {
				ex, err := c.cfg.Steps.ListExecutions(ctx, account, &sw.ListExecutionsInput{StateMachineArn: m.StateMachineArn, MaxResults: aws.Int32(executionsPerMachine)})
				if err != nil {
					c.serviceError(w, "executions of "+m.Name, err)
					return
				}
				row.Executions = ex.Executions
				for _, e := range ex.Executions {
					live = live || e.Status == sw.ExecutionStatusRunning
				}
			}
			rows = append(rows, row)
		}
		if token = res.NextToken; token == "" {
			break
		}
	}
	c.render(w, http.StatusOK, "workflows.html", map[string]any{"Title": "Workflows", "Nav": true, "Account": account,
		"Machines": rows, "Served": c.cfg.Steps != nil, "Refresh": live})
}

// execution serves one execution's page (?arn=…): its status, input and output, and its state
// machine drawn as a graph with what each state did, from the execution's history.
func (c *Console) execution(w http.ResponseWriter, r *http.Request, account string) {
	ctx, cancel := pageContext(r)
	defer cancel()
	arn := r.URL.Query().Get("arn")
	if c.cfg.Steps == nil || arn == "" {
		c.fail(w, http.StatusNotFound, errors.New("no execution named: open one from the workflows page"))
		return
	}
	ex, err := c.cfg.Steps.DescribeExecution(ctx, account, &sw.DescribeExecutionInput{ExecutionArn: arn})
	if err != nil {
		c.serviceError(w, "execution", err)
		return
	}
	sm, err := c.cfg.Steps.DescribeStateMachineForExecution(ctx, account, &sw.DescribeStateMachineForExecutionInput{ExecutionArn: arn})
	if err != nil {
		c.serviceError(w, "state machine of the execution", err)
		return
	}
	running := ex.Status == sw.ExecutionStatusRunning || ex.Status == sw.ExecutionStatusPendingRedrive
	events, note := c.executionEvents(r, account, arn)
	var graph *flowGraph
	if def, err := asl.Parse(sm.Definition); err != nil {
		note = "the definition cannot be drawn: " + err.Error()
	} else {
		graph = layoutMachine(sm.Name, &def.Machine, stateRuns(events), running)
	}
	c.render(w, http.StatusOK, "execution.html", map[string]any{"Title": ex.Name, "Nav": true, "Account": account,
		"Execution": ex, "Machine": sm.Name, "Graph": graph, "Note": note, "Events": len(events),
		"Started": stamp(ex.StartDate), "Stopped": stamp(ex.StopDate), "Refresh": running})
}

// executionEvents reads an execution's history, or says why there is none to draw from.
func (c *Console) executionEvents(r *http.Request, account, arn string) ([]json.RawMessage, string) {
	ctx, cancel := pageContext(r)
	defer cancel()
	var out []json.RawMessage
	token := ""
	for len(out) < maxHistoryEvents {
		res, err := c.cfg.Steps.GetExecutionHistory(ctx, account, &sw.GetExecutionHistoryInput{ExecutionArn: arn, NextToken: token,
			MaxResults: aws.Int32(1000), IncludeExecutionData: aws.Bool(false)})
		if err != nil {
			// EXPRESS executions keep no history (as on AWS): the graph shows the states only.
			return out, "no history: " + awserr.As(err).Message
		}
		out = append(out, res.Events...)
		if token = res.NextToken; token == "" {
			return out, ""
		}
	}
	return out, "the history is longer than the graph reads: the first events only"
}

// stamp formats an optional AWS timestamp for a page.
func stamp(t *awstypes.Timestamp) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return t.UTC().Format(time.DateTime + ".000")
}
