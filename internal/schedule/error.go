package schedule

import "strings"

// Error is a rejected schedule expression, time zone, window or date range. Message is the text
// AWS answers with in its ValidationException; Error adds the field and reason so logs and the
// console can say what was wrong, which AWS does not.
type Error struct {
	Expression string // the expression (or other value) as given
	Field      string // e.g. "minutes", "day-of-week", "unit", "timezone"; "" for the whole
	Reason     string // what is wrong, in barge's words
	msg        string
}

// newExprError builds the error for a bad expression with the message of the API that parses
// it: Scheduler names the expression, PutRule does not.
func newExprError(expr string, rule bool, field, reason string) *Error {
	msg := "Invalid Schedule Expression " + expr
	if rule {
		msg = "Parameter ScheduleExpression is not valid."
	}
	return &Error{Expression: expr, Field: field, Reason: reason, msg: msg}
}

// Message is the ValidationException message AWS gives for this error.
func (e *Error) Message() string { return e.msg }

func (e *Error) Error() string {
	if strings.Contains(e.msg, e.Reason) { // window and date errors: the message says it all
		return e.msg
	}
	if e.Field == "" {
		return e.msg + ": " + e.Reason
	}
	return e.msg + ": " + e.Field + ": " + e.Reason
}
