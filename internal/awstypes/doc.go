// Package awstypes holds the AWS wire shapes generated from ../shared/aws-models; subpackages
// batch, logs, lambda. Regenerate with `go generate ./internal/awstypes/...`.
//
// This package itself has only the small runtime the generated code and the HTTP layer share:
// [Timestamp], [Operation], and the reflection helpers [BindLocation] and [LocationHeaders] for
// members that travel in the URI, query string, headers or status line instead of the JSON body.
package awstypes

// Operation describes one API operation as the model defines it, so routing and conformance
// tests can be driven from the generated tables instead of hand-kept lists.
type Operation struct {
	Name string
	// Method and RequestURI are empty for the json protocol, where every call is POST / and the
	// operation is chosen by the X-Amz-Target header.
	Method     string
	RequestURI string
	// ResponseCode is the success status the model declares (e.g. 201 for Lambda CreateFunction);
	// 0 means the protocol default of 200.
	ResponseCode int
	// Input and Output are Go type names in the generated package; empty when the operation
	// has none.
	Input  string
	Output string
	// Errors are the exception shape names the operation may return, in model order.
	Errors []string
	Doc    string
}
