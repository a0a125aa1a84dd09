package asl

import (
	"time"
)

// EventSink receives the execution history as it happens. Record is called
// with the interpreter's lock held, in event id order, so it must be quick
// and must not call back into the interpreter.
type EventSink interface {
	Record(ev HistoryEvent)
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(ev HistoryEvent)

// Record calls f.
func (f EventSinkFunc) Record(ev HistoryEvent) { f(ev) }

// HistoryEvent mirrors the Step Functions HistoryEvent shape: JSON-encoding
// it gives what GetExecutionHistory returns for one event.
type HistoryEvent struct {
	Timestamp       time.Time `json:"timestamp"`
	Type            string    `json:"type"`
	ID              int64     `json:"id"`
	PreviousEventID int64     `json:"previousEventId"`

	ExecutionStartedEventDetails   *ExecutionStartedEventDetails  `json:"executionStartedEventDetails,omitempty"`
	ExecutionSucceededEventDetails *OutputDetails                 `json:"executionSucceededEventDetails,omitempty"`
	ExecutionFailedEventDetails    *ErrorDetails                  `json:"executionFailedEventDetails,omitempty"`
	ExecutionAbortedEventDetails   *ErrorDetails                  `json:"executionAbortedEventDetails,omitempty"`
	ExecutionTimedOutEventDetails  *ErrorDetails                  `json:"executionTimedOutEventDetails,omitempty"`
	ExecutionRedrivenEventDetails  *ExecutionRedrivenEventDetails `json:"executionRedrivenEventDetails,omitempty"`

	StateEnteredEventDetails *StateEnteredEventDetails `json:"stateEnteredEventDetails,omitempty"`
	StateExitedEventDetails  *StateExitedEventDetails  `json:"stateExitedEventDetails,omitempty"`

	TaskScheduledEventDetails *TaskScheduledEventDetails `json:"taskScheduledEventDetails,omitempty"`
	TaskStartedEventDetails   *TaskResourceDetails       `json:"taskStartedEventDetails,omitempty"`
	TaskSubmittedEventDetails *TaskOutputDetails         `json:"taskSubmittedEventDetails,omitempty"`
	TaskSucceededEventDetails *TaskOutputDetails         `json:"taskSucceededEventDetails,omitempty"`
	TaskFailedEventDetails    *TaskErrorDetails          `json:"taskFailedEventDetails,omitempty"`
	TaskTimedOutEventDetails  *TaskErrorDetails          `json:"taskTimedOutEventDetails,omitempty"`

	LambdaFunctionScheduledEventDetails *LambdaFunctionScheduledEventDetails `json:"lambdaFunctionScheduledEventDetails,omitempty"`
	LambdaFunctionSucceededEventDetails *OutputDetails                       `json:"lambdaFunctionSucceededEventDetails,omitempty"`
	LambdaFunctionFailedEventDetails    *ErrorDetails                        `json:"lambdaFunctionFailedEventDetails,omitempty"`
	LambdaFunctionTimedOutEventDetails  *ErrorDetails                        `json:"lambdaFunctionTimedOutEventDetails,omitempty"`

	ActivityScheduledEventDetails *ActivityScheduledEventDetails `json:"activityScheduledEventDetails,omitempty"`
	ActivityStartedEventDetails   *ActivityStartedEventDetails   `json:"activityStartedEventDetails,omitempty"`
	ActivitySucceededEventDetails *OutputDetails                 `json:"activitySucceededEventDetails,omitempty"`
	ActivityFailedEventDetails    *ErrorDetails                  `json:"activityFailedEventDetails,omitempty"`
	ActivityTimedOutEventDetails  *ErrorDetails                  `json:"activityTimedOutEventDetails,omitempty"`

	MapStateStartedEventDetails       *MapStateStartedEventDetails `json:"mapStateStartedEventDetails,omitempty"`
	MapIterationStartedEventDetails   *MapIterationEventDetails    `json:"mapIterationStartedEventDetails,omitempty"`
	MapIterationSucceededEventDetails *MapIterationEventDetails    `json:"mapIterationSucceededEventDetails,omitempty"`
	MapIterationFailedEventDetails    *MapIterationEventDetails    `json:"mapIterationFailedEventDetails,omitempty"`
	MapIterationAbortedEventDetails   *MapIterationEventDetails    `json:"mapIterationAbortedEventDetails,omitempty"`
	MapRunStartedEventDetails         *MapRunStartedEventDetails   `json:"mapRunStartedEventDetails,omitempty"`
	MapRunFailedEventDetails          *ErrorDetails                `json:"mapRunFailedEventDetails,omitempty"`
}

// Truncation says whether a payload was cut; the interpreter never cuts.
type Truncation struct {
	Truncated bool `json:"truncated"`
}

// ExecutionStartedEventDetails is the detail of ExecutionStarted.
type ExecutionStartedEventDetails struct {
	Input        string     `json:"input"`
	InputDetails Truncation `json:"inputDetails"`
	RoleArn      string     `json:"roleArn,omitempty"`
}

// ExecutionRedrivenEventDetails is the detail of ExecutionRedriven, which
// the service records when RedriveExecution resumes an execution.
type ExecutionRedrivenEventDetails struct {
	RedriveCount int `json:"redriveCount"`
}

// OutputDetails is the detail of events that carry an output.
type OutputDetails struct {
	Output        string     `json:"output"`
	OutputDetails Truncation `json:"outputDetails"`
}

// ErrorDetails is the detail of events that carry an error and cause.
type ErrorDetails struct {
	Error string `json:"error,omitempty"`
	Cause string `json:"cause,omitempty"`
}

// StateEnteredEventDetails is the detail of *StateEntered events.
type StateEnteredEventDetails struct {
	Name         string     `json:"name"`
	Input        string     `json:"input"`
	InputDetails Truncation `json:"inputDetails"`
}

// StateExitedEventDetails is the detail of *StateExited events.
type StateExitedEventDetails struct {
	Name                     string            `json:"name"`
	Output                   string            `json:"output"`
	OutputDetails            Truncation        `json:"outputDetails"`
	AssignedVariables        map[string]string `json:"assignedVariables,omitempty"`
	AssignedVariablesDetails *Truncation       `json:"assignedVariablesDetails,omitempty"`
}

// TaskCredentials names the role a task ran as.
type TaskCredentials struct {
	RoleArn string `json:"roleArn"`
}

// TaskScheduledEventDetails is the detail of TaskScheduled.
type TaskScheduledEventDetails struct {
	ResourceType       string           `json:"resourceType"`
	Resource           string           `json:"resource"`
	Region             string           `json:"region"`
	Parameters         string           `json:"parameters"`
	TimeoutInSeconds   int64            `json:"timeoutInSeconds,omitempty"`
	HeartbeatInSeconds int64            `json:"heartbeatInSeconds,omitempty"`
	TaskCredentials    *TaskCredentials `json:"taskCredentials,omitempty"`
}

// TaskResourceDetails is the detail of TaskStarted.
type TaskResourceDetails struct {
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
}

// TaskOutputDetails is the detail of TaskSucceeded.
type TaskOutputDetails struct {
	ResourceType  string     `json:"resourceType"`
	Resource      string     `json:"resource"`
	Output        string     `json:"output"`
	OutputDetails Truncation `json:"outputDetails"`
}

// TaskErrorDetails is the detail of TaskFailed and TaskTimedOut.
type TaskErrorDetails struct {
	ResourceType string `json:"resourceType"`
	Resource     string `json:"resource"`
	Error        string `json:"error,omitempty"`
	Cause        string `json:"cause,omitempty"`
}

// LambdaFunctionScheduledEventDetails is the detail of LambdaFunctionScheduled.
type LambdaFunctionScheduledEventDetails struct {
	Resource         string           `json:"resource"`
	Input            string           `json:"input"`
	InputDetails     Truncation       `json:"inputDetails"`
	TimeoutInSeconds int64            `json:"timeoutInSeconds,omitempty"`
	TaskCredentials  *TaskCredentials `json:"taskCredentials,omitempty"`
}

// ActivityScheduledEventDetails is the detail of ActivityScheduled.
type ActivityScheduledEventDetails struct {
	Resource           string     `json:"resource"`
	Input              string     `json:"input"`
	InputDetails       Truncation `json:"inputDetails"`
	TimeoutInSeconds   int64      `json:"timeoutInSeconds,omitempty"`
	HeartbeatInSeconds int64      `json:"heartbeatInSeconds,omitempty"`
}

// ActivityStartedEventDetails is the detail of ActivityStarted.
type ActivityStartedEventDetails struct {
	WorkerName string `json:"workerName,omitempty"`
}

// MapStateStartedEventDetails is the detail of MapStateStarted.
type MapStateStartedEventDetails struct {
	Length int `json:"length"`
}

// MapIterationEventDetails is the detail of the MapIteration* events.
type MapIterationEventDetails struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
}

// MapRunStartedEventDetails is the detail of MapRunStarted.
type MapRunStartedEventDetails struct {
	MapRunArn string `json:"mapRunArn"`
}

// emit appends an event to the history on the thread of fr: its
// previousEventId is the last event of that thread, as in AWS histories
// where each Parallel branch and Map iteration forms its own chain.
// Callers hold r.mu.
func (r *run) emitLocked(fr *Frame, typ string, fill func(ev *HistoryEvent)) {
	if fr != nil && fr.Detached {
		return // a distributed Map child is its own execution
	}
	r.cp.LastEventID++
	ev := HistoryEvent{Timestamp: r.clock.Now(), Type: typ, ID: r.cp.LastEventID}
	if fr != nil {
		ev.PreviousEventID = fr.Prev
		fr.Prev = ev.ID
	}
	if fill != nil {
		fill(&ev)
	}
	if r.events != nil {
		r.events.Record(ev)
	}
}

// emit is emitLocked taking the lock.
func (r *run) emit(fr *Frame, typ string, fill func(ev *HistoryEvent)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emitLocked(fr, typ, fill)
}
