// Package awserr is the typed error the domain services return and the HTTP edge renders in AWS's
// error shape ({"__type": Code, "message": Message} with the HTTP status AWS uses).
package awserr

import (
	"errors"
	"fmt"
	"net/http"
	"syscall"
)

// Error is an API error with an AWS error code.
type Error struct {
	Code    string // e.g. ClientException
	Message string
	Status  int // HTTP status
	// Fields are extra members of the error body (e.g. Lambda's "Type", "Reason").
	Fields map[string]string
	// RetryAfter, when positive, is sent as the Retry-After header (seconds): throttles and
	// refusals for load say when to come back.
	RetryAfter int
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

// As returns err as an *Error; otherwise NoSpace's error when err failed for lack of disk
// space, else a generic ServerException, so that internal failures never leak as anything but
// a 500.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if IsNoSpace(err) {
		return NoSpace(err)
	}
	return Server("internal error")
}

// IsNoSpace reports whether err failed for lack of disk space: ENOSPC, or EDQUOT for a quota.
// Stores translate their own codes to ENOSPC (SQLite's SQLITE_FULL).
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// NoSpace is what a request gets when barge could not store what it asked for lack of disk
// space: 503, which the AWS SDKs retry, with a message that names the space and says that
// nothing was stored. barge goes on by itself once space returns.
func NoSpace(err error) *Error {
	return New(http.StatusServiceUnavailable, "ServiceUnavailableException",
		"barge's disk is full (%v): nothing was stored; free space on the disk of barge's data directory and retry", err)
}
