package sfn

import (
	"encoding/json"

	sw "github.com/barge-run/barge/internal/awstypes/sfn"
)

// EventSink receives events for EventBridge rules (package events' Bus): Wants says whether
// any rule could match one, so that none is built for nobody.
type EventSink interface {
	Wants() bool
	Publish(scope, source, detailType string, resources []string, detail json.RawMessage)
}

// publishStatus sends Step Functions' "Step Functions Execution Status Change" event of a
// STANDARD execution that started, ended or was redriven (AWS sends none for EXPRESS ones).
// Best effort, as on AWS: sent once the change is durable; dropped when the bus is behind.
func (s *Service) publishStatus(scope string, e *execRecord) {
	sink := s.cfg.Events
	if sink == nil || e.Type == sw.StateMachineTypeExpress || !sink.Wants() {
		return
	}
	ms := func(t int64) *int64 {
		if t == 0 {
			return nil
		}
		return &t
	}
	var stop int64
	if !e.Stop.IsZero() {
		stop = e.Stop.UnixMilli()
	}
	detail, err := json.Marshal(map[string]any{"executionArn": e.ARN, "stateMachineArn": e.MachineARN, "name": e.Name,
		"status": e.Status, "startDate": e.Start.UnixMilli(), "stopDate": ms(stop), "input": e.Input, "output": e.Output,
		"inputDetails": map[string]bool{"included": true}, "outputDetails": outputDetails(e),
		"error": nullable(e.Error), "cause": nullable(e.Cause)})
	if err != nil {
		return
	}
	sink.Publish(scope, "aws.states", "Step Functions Execution Status Change", []string{e.ARN}, detail)
}

// outputDetails is the event's outputDetails: included when there is an output.
func outputDetails(e *execRecord) any {
	if e.Output == nil {
		return nil
	}
	return map[string]bool{"included": true}
}

// nullable is s, or JSON null when empty (as AWS's events show absent errors).
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
