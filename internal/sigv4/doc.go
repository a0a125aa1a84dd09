// Package sigv4 verifies AWS Signature Version 4 signed requests on the
// server side.
//
// It owns everything between "an HTTP request arrived" and "we know which
// access key signed it, for which region and service, and that nothing
// covered by the signature was altered": parsing the Authorization header
// or presigned query string, rebuilding the canonical request exactly the
// way the AWS SDKs, the AWS CLI and boto3 build it, deriving (and caching)
// signing keys, enforcing the clock-skew window and presigned URL expiry,
// and producing the same error codes AWS returns when any of that fails.
//
// It does not decide whether the signer is allowed to do what it asks
// (authorization), does not check that the credential scope names the
// service the request was routed to (the caller compares Result.Service),
// and does not read or restore the request body: the caller passes the
// body it has already read.
//
// Chunked payload signing (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, used only by
// S3 uploads) and SigV4a (AWS4-ECDSA-P256-SHA256) are not supported.
package sigv4
