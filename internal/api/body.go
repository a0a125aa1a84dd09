package api

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
)

// Request body bounds, by operation: AWS's where AWS states one, else a few megabytes (the
// largest JSON request of Batch and CloudWatch Logs — a PutLogEvents batch of 1 MiB, a SubmitJob
// of 1 MiB of command and environment — escaped, with room to spare).
const (
	defaultBodyLimit = 4 << 20
	// maxZipRequest is Lambda's bound on a CreateFunction, UpdateFunctionCode or
	// PublishLayerVersion request: a 50 MB
	// zip, base64-encoded, in JSON.
	maxZipRequest = 70167211
	// maxSyncInvoke and maxEventInvoke are Lambda's payload bounds for RequestResponse and Event
	// invocations.
	maxSyncInvoke  = 6 << 20
	maxEventInvoke = 256 << 10
)

// bodyBound is how much of a request's body its operation reads, and the error past that.
type bodyBound struct {
	limit    int64
	tooLarge *awserr.Error
}

// boundFor picks the bound of one request (an operation's bound may depend on its headers).
type boundFor func(r *http.Request) bodyBound

// fixedBound bounds every request alike.
func fixedBound(limit int64, tooLarge *awserr.Error) boundFor {
	return func(*http.Request) bodyBound { return bodyBound{limit, tooLarge} }
}

// batchBound is the bound of every Batch operation.
func batchBound(string) boundFor {
	return fixedBound(defaultBodyLimit, awserr.New(http.StatusRequestEntityTooLarge, "ClientException",
		"request body exceeds %d bytes", defaultBodyLimit))
}

// logsBound is the bound of every CloudWatch Logs operation.
var logsBound = fixedBound(defaultBodyLimit, awserr.New(http.StatusRequestEntityTooLarge, "InvalidParameterException",
	"request body exceeds %d bytes", defaultBodyLimit))

// lambdaBound is the bound of one Lambda operation, in Lambda's words.
func lambdaBound(op string) boundFor {
	tooLarge := func(code string, limit int64, opName string) *awserr.Error {
		e := awserr.New(http.StatusRequestEntityTooLarge, code, "Request must be smaller than %d bytes for the %s operation", limit, opName)
		e.Fields = map[string]string{"Type": "User"}
		return e
	}
	switch op {
	case "CreateFunction", "UpdateFunctionCode", "PublishLayerVersion":
		return fixedBound(maxZipRequest, tooLarge("RequestEntityTooLargeException", maxZipRequest, op))
	case "InvokeAsync":
		return fixedBound(maxEventInvoke, tooLarge("RequestTooLargeException", maxEventInvoke, "InvokeAsync"))
	case "Invoke":
		sync := bodyBound{maxSyncInvoke, tooLarge("RequestTooLargeException", maxSyncInvoke, "InvokeFunction")}
		event := bodyBound{maxEventInvoke, tooLarge("RequestTooLargeException", maxEventInvoke, "InvokeAsync")}
		return func(r *http.Request) bodyBound {
			if strings.EqualFold(r.Header.Get("X-Amz-Invocation-Type"), "Event") {
				return event
			}
			return sync
		}
	}
	return fixedBound(defaultBodyLimit, tooLarge("RequestEntityTooLargeException", defaultBodyLimit, op))
}

// largestBound is the bound of a route several operations share: the largest of theirs.
func largestBound(bounds []boundFor) boundFor {
	if len(bounds) == 1 {
		return bounds[0]
	}
	return func(r *http.Request) bodyBound {
		best := bounds[0](r)
		for _, b := range bounds[1:] {
			if bb := b(r); bb.limit > best.limit {
				best = bb
			}
		}
		return best
	}
}

// readBody reads a request's body within its bound and within the bytes in flight across all
// requests. It refuses a body announced larger than the bound before reading a byte of it, and
// one that turns out larger as soon as it passes the bound; on false it has written the error.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, b bodyBound) ([]byte, bool) {
	if r.ContentLength > b.limit {
		writeError(w, b.tooLarge)
		return nil, false
	}
	// Past the bound on bytes in flight a request is turned away (503, Retry-After) rather than
	// the server growing.
	reserve := b.limit
	if r.ContentLength >= 0 {
		reserve = r.ContentLength
	}
	if !s.inflight.TryAcquire(reserve) {
		e := awserr.New(http.StatusServiceUnavailable, "ServiceUnavailableException", "the server is receiving too much at once; retry")
		e.RetryAfter = 1
		writeError(w, e)
		return nil, false
	}
	defer s.inflight.Release(reserve)
	body, err := readChunked(http.MaxBytesReader(w, r.Body, b.limit), r.ContentLength)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, b.tooLarge)
			return nil, false
		}
		writeError(w, awserr.Client("reading request body: %v", err))
		return nil, false
	}
	return body, true
}

// bodyChunk is the most memory readChunked commits ahead of the bytes that arrived.
const bodyChunk = 1 << 20

// readChunked reads r to its end. A client holds memory only for bytes it actually sent, however
// large a body it announced (size, -1 when unknown): they are read in chunks of at most
// bodyChunk and joined once, which also spares a large function package the copies of a
// doubling buffer.
func readChunked(r io.Reader, size int64) ([]byte, error) {
	if size >= 0 && size <= bodyChunk {
		buf := make([]byte, size+1) // +1 sees an over-long body end
		n, err := io.ReadFull(r, buf)
		switch {
		case err == io.ErrUnexpectedEOF || err == io.EOF:
			return buf[:n], nil
		case err != nil:
			return nil, err
		}
		// Longer than announced: the server's own framing refuses that, so only a
		// hand-made reader gets here.
		rest, err := io.ReadAll(r)
		return append(buf, rest...), err
	}
	var chunks [][]byte
	total := 0
	for {
		chunk := make([]byte, bodyChunk)
		n, err := io.ReadFull(r, chunk)
		if n > 0 {
			chunks = append(chunks, chunk[:n])
			total += n
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	body := make([]byte, 0, total)
	for _, c := range chunks {
		body = append(body, c...)
	}
	return body, nil
}
