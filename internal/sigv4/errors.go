package sigv4

import (
	"fmt"
	"net/http"
	"time"
)

// Error is a signature verification failure, carrying the error code,
// message and HTTP status AWS returns for it. Codes:
// MissingAuthenticationTokenException, UnrecognizedClientException,
// InvalidSignatureException, IncompleteSignatureException,
// AccessDeniedException (expired presigned URL) and
// XAmzContentSHA256Mismatch (X-Amz-Content-Sha256 does not match the body).
type Error struct {
	// Code is the AWS error code, e.g. "InvalidSignatureException".
	Code string
	// Message is the human-readable message, worded as AWS words it.
	Message string
	// Status is the HTTP status code to respond with.
	Status int
}

// Error implements error.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func incomplete(msg string) *Error {
	return &Error{Code: "IncompleteSignatureException", Message: msg, Status: http.StatusForbidden}
}

func errMissingToken() *Error {
	return &Error{Code: "MissingAuthenticationTokenException", Message: "Missing Authentication Token", Status: http.StatusForbidden}
}

func errExpiredToken() *Error {
	return &Error{Code: "ExpiredTokenException", Message: "The security token included in the request is expired", Status: http.StatusForbidden}
}

func errUnrecognizedClient() *Error {
	return &Error{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid.", Status: http.StatusForbidden}
}

func errSignatureMismatch() *Error {
	return &Error{
		Code:    "InvalidSignatureException",
		Message: "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
		Status:  http.StatusForbidden,
	}
}

func errSignatureExpired(signed, now time.Time, skew time.Duration) *Error {
	return &Error{
		Code: "InvalidSignatureException",
		Message: fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
			signed.UTC().Format(isoFormat), now.Add(-skew).Format(isoFormat), now.Format(isoFormat), skewString(skew)),
		Status: http.StatusForbidden,
	}
}

func errSignatureNotYetCurrent(signed, now time.Time, skew time.Duration) *Error {
	return &Error{
		Code: "InvalidSignatureException",
		Message: fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
			signed.UTC().Format(isoFormat), now.Add(skew).Format(isoFormat), now.Format(isoFormat), skewString(skew)),
		Status: http.StatusForbidden,
	}
}

func errExpired() *Error {
	return &Error{Code: "AccessDeniedException", Message: "Request has expired", Status: http.StatusForbidden}
}

func errContentSHA256Mismatch() *Error {
	return &Error{
		Code:    "XAmzContentSHA256Mismatch",
		Message: "The provided 'x-amz-content-sha256' header does not match what was computed.",
		Status:  http.StatusBadRequest,
	}
}

// skewString renders the skew the way AWS does ("15 min.").
func skewString(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%d min.", d/time.Minute)
	}
	return fmt.Sprintf("%d sec.", d/time.Second)
}
