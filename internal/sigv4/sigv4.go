package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	terminator      = "aws4_request"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	isoFormat       = "20060102T150405Z"

	defaultMaxSkew = 15 * time.Minute
	// maxPresignExpires is the longest X-Amz-Expires AWS accepts: one week.
	maxPresignExpires = 7 * 24 * 60 * 60
	// keyCacheSize bounds the derived signing key cache. One entry serves
	// one (secret, day, region, service) for a whole day, so a server with
	// a handful of keys needs only a few entries.
	keyCacheSize = 128
)

// Credential is one access key known to the server.
type Credential struct {
	// AccessKeyID is the public half of the key, as sent in the credential
	// scope of every signed request.
	AccessKeyID string
	// SecretAccessKey is the shared secret the signature is computed with.
	SecretAccessKey string
	// AccountID is the 12-digit AWS-style account the key belongs to; the
	// verifier does not use it, it is handed back in Result.
	AccountID string
	// SessionToken is set for temporary credentials: a request signed with
	// the key must carry it (X-Amz-Security-Token, as a header or in a
	// presigned query). Long-term keys have none and take none.
	SessionToken string
	// Role is the IAM role ARN a temporary credential acts as (handed back
	// in Result; barge has no policy engine, see docs/credentials.md).
	Role string
	// Expired marks a temporary credential whose session has ended: the
	// verifier refuses it with ExpiredTokenException.
	Expired bool
}

// Verifier checks SigV4 signatures. Lookup returns the credential for an
// access key id.
//
// A Verifier is safe for concurrent use once its fields are set, and must
// not be copied after first use (it holds a cache of derived signing keys).
type Verifier struct {
	// Lookup returns the credential for an access key id, and false if the
	// key is unknown. A nil Lookup knows no keys.
	Lookup func(accessKeyID string) (Credential, bool)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxSkew is how far the signing time may be from Now in either
	// direction; 0 means 15 minutes, as AWS.
	MaxSkew time.Duration

	mu   sync.Mutex
	keys map[keyID][]byte
}

// Result tells who signed and for what.
type Result struct {
	// Credential is the server's credential for the signing access key.
	Credential Credential
	// Region and Service are taken from the request's credential scope.
	Region, Service string
	// SignedAt is the signing time (X-Amz-Date, or the Date header).
	SignedAt time.Time
}

// keyID identifies one derived signing key.
type keyID struct {
	secret, date, region, service string
}

// Prechecked is a request whose signing header (or presigned query), time and key passed
// Precheck; its signature, over the body, is checked by VerifyBody.
type Prechecked struct {
	a    *auth
	cred Credential
}

// Precheck is what Verify checks before it needs the body: the Authorization header (or the
// presigned query) parses, the signing time is within the skew window and the access key is
// known. A server calls it before reading a byte of the body, so that a client without a key
// cannot make it buffer one; the signature itself (over the body) is VerifyBody's.
func (v *Verifier) Precheck(r *http.Request) (*Prechecked, error) {
	a, err := parseAuth(r)
	if err != nil {
		return nil, err
	}
	if err := v.checkTime(a); err != nil {
		return nil, err
	}
	var cred Credential
	ok := false
	if v.Lookup != nil {
		cred, ok = v.Lookup(a.accessKeyID)
	}
	if !ok {
		return nil, errUnrecognizedClient()
	}
	if cred.Expired {
		return nil, errExpiredToken()
	}
	token := r.Header.Get("X-Amz-Security-Token")
	if token == "" {
		token = r.URL.Query().Get("X-Amz-Security-Token")
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(cred.SessionToken)) != 1 {
		return nil, errUnrecognizedClient()
	}
	return &Prechecked{a: a, cred: cred}, nil
}

// Verify checks the SigV4 signature of r, using body as the request payload.
// body must be the complete request body; Verify does not read r.Body.
// On failure the error is an *Error carrying the AWS error code, message and
// HTTP status to return to the client.
func (v *Verifier) Verify(r *http.Request, body []byte) (Result, error) {
	p, err := v.Precheck(r)
	if err != nil {
		return Result{}, err
	}
	return v.VerifyBody(p, r, body)
}

// VerifyBody finishes Verify for a request that passed Precheck: the signature over body.
func (v *Verifier) VerifyBody(p *Prechecked, r *http.Request, body []byte) (Result, error) {
	payload, err := payloadHash(r, body)
	if err != nil {
		return Result{}, err
	}
	return v.check(p, r, payload)
}

// check verifies the signature of a prechecked request whose payload hash is payload.
func (v *Verifier) check(p *Prechecked, r *http.Request, payload string) (Result, error) {
	a, cred := p.a, p.cred
	key := v.signingKey(cred.SecretAccessKey, a.scopeDate, a.region, a.service)
	path := requestPath(r)
	if !a.matches(r, key, escapePath(path), payload) {
		// botocore (boto3, the AWS CLI) removes dot segments and empty
		// segments from the path before signing; the Go SDK does not. Only
		// pay for the second attempt when it could make a difference.
		norm := removeDotSegments(path)
		if norm == path || !a.matches(r, key, escapePath(norm), payload) {
			return Result{}, errSignatureMismatch()
		}
	}
	return Result{Credential: cred, Region: a.region, Service: a.service, SignedAt: a.signedAt}, nil
}

// VerifyDeclared finishes Verify for a request whose body is too large to hold: the signature
// is checked over the SHA-256 the client declared in X-Amz-Content-Sha256 (required, in hex),
// which it returns. The caller streams the body and must refuse it unless its SHA-256 is that.
func (v *Verifier) VerifyDeclared(p *Prechecked, r *http.Request) (Result, string, error) {
	declared := strings.ToLower(r.Header.Get("X-Amz-Content-Sha256"))
	if b, err := hex.DecodeString(declared); err != nil || len(b) != sha256.Size {
		return Result{}, "", &Error{Code: "InvalidRequest", Status: http.StatusBadRequest,
			Message: "X-Amz-Content-Sha256 must be the body's SHA-256 in hex for this request"}
	}
	res, err := v.check(p, r, declared)
	return res, declared, err
}

// checkTime enforces the clock-skew window and presigned URL expiry.
func (v *Verifier) checkTime(a *auth) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now().UTC()
	skew := v.MaxSkew
	if skew <= 0 {
		skew = defaultMaxSkew
	}
	if a.presigned && a.expires >= 0 {
		if t.After(a.signedAt.Add(time.Duration(a.expires) * time.Second)) {
			return errExpired()
		}
	} else if a.signedAt.Before(t.Add(-skew)) {
		return errSignatureExpired(a.signedAt, t, skew)
	}
	if a.signedAt.After(t.Add(skew)) {
		return errSignatureNotYetCurrent(a.signedAt, t, skew)
	}
	return nil
}

// signingKey returns the derived key for (secret, date, region, service),
// from the cache when possible.
func (v *Verifier) signingKey(secret, date, region, service string) []byte {
	id := keyID{secret, date, region, service}
	v.mu.Lock()
	k, ok := v.keys[id]
	v.mu.Unlock()
	if ok {
		return k
	}
	k = deriveKey(secret, date, region, service)
	// The region and service strings point into the request's header;
	// clone them so the cache does not pin request memory.
	id.date, id.region, id.service = strings.Clone(date), strings.Clone(region), strings.Clone(service)
	v.mu.Lock()
	if v.keys == nil {
		v.keys = make(map[keyID][]byte)
	}
	if len(v.keys) >= keyCacheSize {
		for old := range v.keys { // evict an arbitrary entry
			delete(v.keys, old)
			break
		}
	}
	v.keys[id] = k
	v.mu.Unlock()
	return k
}

// deriveKey computes the SigV4 signing key:
// HMAC chain "AWS4"+secret → date → region → service → "aws4_request".
func deriveKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// matches reports whether the signature a carries is the one computed for r
// with the given signing key, canonical URI and payload hash.
func (a *auth) matches(r *http.Request, key []byte, uri, payload string) bool {
	var stack [1024]byte
	buf := stack[:0]

	// Canonical request.
	buf = append(buf, r.Method...)
	buf = append(buf, '\n')
	buf = append(buf, uri...)
	buf = append(buf, '\n')
	buf = append(buf, a.canonicalQuery...)
	buf = append(buf, '\n')
	buf = appendCanonicalHeaders(buf, r, a.signedHeaders)
	buf = append(buf, '\n')
	buf = append(buf, a.signedHeaders...)
	buf = append(buf, '\n')
	buf = append(buf, payload...)
	crHash := sha256.Sum256(buf)

	// String to sign.
	buf = append(buf[:0], algorithm...)
	buf = append(buf, '\n')
	buf = append(buf, a.amzDate...)
	buf = append(buf, '\n')
	buf = append(buf, a.scope...)
	buf = append(buf, '\n')
	buf = hex.AppendEncode(buf, crHash[:])

	h := hmac.New(sha256.New, key)
	h.Write(buf)
	var sum [sha256.Size]byte
	var want [2 * sha256.Size]byte
	hex.Encode(want[:], h.Sum(sum[:0]))
	return hmac.Equal(want[:], []byte(a.signature))
}

// payloadHash returns the payload hash that goes into the canonical request:
// the X-Amz-Content-Sha256 header when present, else the SHA-256 of body.
// A header that claims a hash other than the body's is rejected, so that a
// client which did not send the header cannot have its body swapped by
// someone who adds one.
func payloadHash(r *http.Request, body []byte) (string, error) {
	h := r.Header.Get("X-Amz-Content-Sha256")
	if h == unsignedPayload {
		return h, nil
	}
	sum := sha256.Sum256(body)
	computed := hex.EncodeToString(sum[:])
	if h == "" {
		return computed, nil
	}
	if !strings.EqualFold(h, computed) {
		return "", errContentSHA256Mismatch()
	}
	return h, nil
}
