package sqs

import (
	"fmt"
	"net/http"

	"github.com/barge-run/barge/internal/awserr"
)

// The errors SQS answers, by the model's shape names (the edge adds their query-protocol codes).
func queueDoesNotExist() error {
	return awserr.New(http.StatusBadRequest, "QueueDoesNotExist", "The specified queue does not exist.")
}

func invalidParameter(format string, args ...any) error {
	return awserr.New(http.StatusBadRequest, "InvalidParameterValue", format, args...)
}

func invalidValue(param string, value any, reason string) error {
	return invalidParameter("Value %v for parameter %s is invalid. Reason: %s", value, param, reason)
}

func missingParameter(name string) error {
	return awserr.New(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter %s.", name)
}

func invalidAttributeName(name string) error {
	return awserr.New(http.StatusBadRequest, "InvalidAttributeName", "Unknown Attribute %s.", name)
}

func invalidAttributeValue(name string, reason string) error {
	msg := fmt.Sprintf("Invalid value for the parameter %s.", name)
	if reason != "" {
		msg += " Reason: " + reason
	}
	return awserr.New(http.StatusBadRequest, "InvalidAttributeValue", "%s", msg)
}

func receiptInvalid(handle string) error {
	return awserr.New(http.StatusNotFound, "ReceiptHandleIsInvalid", "The input receipt handle %q is not a valid receipt handle.", handle)
}

func code(status int, code, format string, args ...any) error {
	return awserr.New(status, code, format, args...)
}
