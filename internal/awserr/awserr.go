// Package awserr is the typed error the domain services return and the HTTP edge renders in AWS's
// error shape ({"__type": Code, "message": Message} with the HTTP status AWS uses).
package awserr

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an API error with an AWS error code.
type Error struct {
	Code    string // e.g. ClientException
	Message string
	Status  int // HTTP status
	// Fields are extra members of the error body (e.g. Lambda's "Type", "Reason").
	Fields map[string]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Client is AWS Batch's ClientException (400): the request was wrong.
func Client(format string, args ...any) *Error {
	return &Error{Code: "ClientException", Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// Server is AWS Batch's ServerException (500).
func Server(format string, args ...any) *Error {
	return &Error{Code: "ServerException", Message: fmt.Sprintf(format, args...), Status: http.StatusInternalServerError}
}

// New makes an error with any code and status.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// As returns err as an *Error, or a ServerException wrapping it when it is not one, so that
// internal failures never leak as anything but a generic 500.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Server("internal error")
}
