package sigv4

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// auth is what a request claims about its signature, parsed from either the
// Authorization header or the presigned query parameters.
type auth struct {
	presigned     bool
	accessKeyID   string
	scope         string // date/region/service/aws4_request, as sent
	scopeDate     string
	region        string
	service       string
	signedHeaders string // as sent, e.g. "content-type;host;x-amz-date"
	signature     string
	amzDate       string // ISO 8601 basic signing time for the string to sign
	signedAt      time.Time
	expires       int // X-Amz-Expires in seconds; -1 when absent

	query          []queryParam // decoded query parameters
	canonicalQuery string
}

// queryParam is one query string parameter.
type queryParam struct{ key, value string }

// parseAuth extracts and validates the signature parameters of r.
func parseAuth(r *http.Request) (*auth, error) {
	a := &auth{expires: -1, query: parseQuery(r.URL.RawQuery)}
	header := r.Header.Get("Authorization")
	presigned := a.hasQuery("X-Amz-Algorithm") || a.hasQuery("X-Amz-Credential") || a.hasQuery("X-Amz-Signature")
	var err error
	switch {
	case header != "" && presigned:
		err = incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	case header != "":
		err = a.parseHeader(r, header)
	case presigned:
		a.presigned = true
		err = a.parsePresigned()
	default:
		err = errMissingToken()
	}
	if err != nil {
		return nil, err
	}
	a.canonicalQuery = canonicalQuery(a.query, a.presigned)
	return a, nil
}

// parseHeader parses the Authorization header form:
//
//	AWS4-HMAC-SHA256 Credential=AKID/20261123/us-east-1/batch/aws4_request, SignedHeaders=host;x-amz-date, Signature=<hex>
func (a *auth) parseHeader(r *http.Request, h string) error {
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != algorithm {
		return incomplete("Unsupported AWS 'algorithm': '" + alg + "'. The only supported algorithm is " + algorithm + ".")
	}
	var cred string
	var haveCred, haveHeaders, haveSig bool
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return incomplete("'" + part + "' not a valid key=value pair (missing equal-sign) in Authorization header: '" + h + "'.")
		}
		switch k {
		case "Credential":
			cred, haveCred = val, true
		case "SignedHeaders":
			a.signedHeaders, haveHeaders = val, true
		case "Signature":
			a.signature, haveSig = val, true
		}
	}

	amzDate := r.Header.Get("X-Amz-Date")
	date := r.Header.Get("Date")
	if !haveCred || !haveHeaders || !haveSig || (amzDate == "" && date == "") {
		var msg strings.Builder
		if !haveCred {
			msg.WriteString("Authorization header requires 'Credential' parameter. ")
		}
		if !haveSig {
			msg.WriteString("Authorization header requires 'Signature' parameter. ")
		}
		if !haveHeaders {
			msg.WriteString("Authorization header requires 'SignedHeaders' parameter. ")
		}
		if amzDate == "" && date == "" {
			msg.WriteString("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
		}
		msg.WriteString("Authorization=" + h)
		return incomplete(msg.String())
	}

	if amzDate != "" {
		if err := a.setAmzDate(amzDate); err != nil {
			return err
		}
	} else {
		t, err := http.ParseTime(date)
		if err != nil {
			return incomplete("Date header must be a valid HTTP date. Got '" + date + "'.")
		}
		a.signedAt = t.UTC()
		a.amzDate = a.signedAt.Format(isoFormat)
	}
	if err := a.setCredential(cred); err != nil {
		return err
	}
	return a.checkSignedHeaders()
}

// parsePresigned parses the presigned query form (X-Amz-Algorithm,
// X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders, X-Amz-Signature and
// optionally X-Amz-Expires).
func (a *auth) parsePresigned() error {
	alg, okAlg := a.queryValue("X-Amz-Algorithm")
	cred, okCred := a.queryValue("X-Amz-Credential")
	sig, okSig := a.queryValue("X-Amz-Signature")
	date, okDate := a.queryValue("X-Amz-Date")
	headers, okHeaders := a.queryValue("X-Amz-SignedHeaders")
	if !okAlg || !okCred || !okSig || !okDate || !okHeaders {
		return incomplete("AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.")
	}
	if alg != algorithm {
		return incomplete("X-Amz-Algorithm only supports \"" + algorithm + "\", got '" + alg + "'.")
	}
	a.signature, a.signedHeaders = sig, headers
	if exp, ok := a.queryValue("X-Amz-Expires"); ok {
		n, err := strconv.Atoi(exp)
		switch {
		case err != nil:
			return incomplete("X-Amz-Expires should be a number. Got '" + exp + "'.")
		case n < 0:
			return incomplete("X-Amz-Expires must be non-negative.")
		case n > maxPresignExpires:
			return incomplete("X-Amz-Expires must be less than a week (in seconds) that is 604800.")
		}
		a.expires = n
	}
	if err := a.setAmzDate(date); err != nil {
		return err
	}
	if err := a.setCredential(cred); err != nil {
		return err
	}
	return a.checkSignedHeaders()
}

// setAmzDate parses an X-Amz-Date value (ISO 8601 basic format).
func (a *auth) setAmzDate(s string) error {
	t, err := time.Parse(isoFormat, s)
	if err != nil || len(s) != len(isoFormat) {
		return incomplete("Date must be in ISO-8601 'basic format'. Got '" + s + "'. See http://en.wikipedia.org/wiki/ISO_8601")
	}
	a.signedAt, a.amzDate = t, s
	return nil
}

// setCredential parses AKID/date/region/service/aws4_request. It must run
// after the signing date is known.
func (a *auth) setCredential(cred string) error {
	if strings.Count(cred, "/") != 4 {
		return incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '" + cred + "'")
	}
	var term string
	a.accessKeyID, a.scope, _ = strings.Cut(cred, "/")
	a.scopeDate, term, _ = strings.Cut(a.scope, "/")
	a.region, term, _ = strings.Cut(term, "/")
	a.service, term, _ = strings.Cut(term, "/")
	switch {
	case a.scopeDate != a.amzDate[:8]:
		return incomplete("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '" +
			a.scopeDate + "' != '" + a.amzDate[:8] + "', from '" + a.amzDate + "'.")
	case a.region == "":
		return incomplete("Credential should be scoped to a valid region, not ''.")
	case a.service == "":
		return incomplete("Credential should be scoped to a valid service, not ''.")
	case term != terminator:
		return incomplete("Credential should be scoped with a valid terminator: '" + terminator + "', not '" + term + "'.")
	}
	return nil
}

// checkSignedHeaders requires a non-empty SignedHeaders list that includes
// host, as AWS does.
func (a *auth) checkSignedHeaders() error {
	for rest := a.signedHeaders; rest != ""; {
		var name string
		name, rest, _ = strings.Cut(rest, ";")
		if name == "host" {
			return nil
		}
	}
	return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
}

func (a *auth) hasQuery(key string) bool {
	_, ok := a.queryValue(key)
	return ok
}

// queryValue returns the first value of the query parameter key.
func (a *auth) queryValue(key string) (string, bool) {
	for _, p := range a.query {
		if p.key == key {
			return p.value, true
		}
	}
	return "", false
}

// parseQuery splits a raw query string into decoded parameters, keeping
// repeated keys and empty values. Like url.ParseQuery (which the Go SDK
// signer uses) '+' decodes to a space; an undecodable component is kept
// verbatim.
func parseQuery(raw string) []queryParam {
	if raw == "" {
		return nil
	}
	params := make([]queryParam, 0, strings.Count(raw, "&")+1)
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, queryParam{unescapeQuery(k), unescapeQuery(v)})
	}
	return params
}

func unescapeQuery(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	u, err := url.QueryUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// canonicalQuery builds the SigV4 canonical query string: every name and
// value RFC 3986 encoded, pairs sorted by encoded name then encoded value,
// X-Amz-Signature left out of presigned requests.
func canonicalQuery(q []queryParam, presigned bool) string {
	if len(q) == 0 {
		return ""
	}
	enc := make([]queryParam, 0, len(q))
	n := 0
	for _, p := range q {
		if presigned && p.key == "X-Amz-Signature" {
			continue
		}
		e := queryParam{escape(p.key, false), escape(p.value, false)}
		n += len(e.key) + len(e.value) + 2
		enc = append(enc, e)
	}
	slices.SortFunc(enc, func(x, y queryParam) int {
		if c := strings.Compare(x.key, y.key); c != 0 {
			return c
		}
		return strings.Compare(x.value, y.value)
	})
	var b strings.Builder
	b.Grow(n)
	for i, p := range enc {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}
