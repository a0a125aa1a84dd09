package sigv4

import (
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// requestPath returns the request path exactly as the client sent it
// (still percent-encoded), without the query string.
func requestPath(r *http.Request) string {
	if p := r.RequestURI; p != "" && p[0] == '/' {
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		return p
	}
	// A client-side request, or an absolute-form request URI: fall back to
	// what the Go SDK signer itself uses.
	if o := r.URL.Opaque; o != "" {
		if i := strings.IndexByte(o, '?'); i >= 0 {
			o = o[:i]
		}
		o = strings.TrimPrefix(o, "//")
		if i := strings.IndexByte(o, '/'); i >= 0 {
			return o[i:]
		}
		return "/"
	}
	return r.URL.EscapedPath()
}

// escapePath encodes an already-escaped path once more, the way SigV4
// requires for every service but S3: "arn%3Aaws" is signed as "arn%253Aaws".
func escapePath(p string) string {
	if p == "" {
		return "/"
	}
	return escape(p, true)
}

// removeDotSegments normalises a path the way botocore does before signing
// (RFC 3986 section 5.2.4, plus dropping empty segments).
func removeDotSegments(p string) string {
	if p == "" {
		return "/"
	}
	var out []string
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	var b strings.Builder
	if p[0] == '/' {
		b.WriteByte('/')
	}
	b.WriteString(strings.Join(out, "/"))
	if p[len(p)-1] == '/' && len(out) > 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// unreserved reports whether c is in the RFC 3986 unreserved set.
func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// escape percent-encodes (upper-case hex) every byte of s outside the RFC
// 3986 unreserved set, and '/' too unless keepSlash.
func escape(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; !unreserved(c) && (c != '/' || !keepSlash) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexUpper = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; unreserved(c) || (c == '/' && keepSlash) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return string(b)
}

// appendCanonicalHeaders appends one "name:value\n" line per name in the
// semicolon-separated signed list.
func appendCanonicalHeaders(buf []byte, r *http.Request, signed string) []byte {
	for rest := signed; ; {
		name, next, more := strings.Cut(rest, ";")
		buf = append(buf, name...)
		buf = append(buf, ':')
		buf = appendHeaderValue(buf, r, name)
		buf = append(buf, '\n')
		if !more {
			return buf
		}
		rest = next
	}
}

// appendHeaderValue appends the canonical value of header name: each value
// trimmed with inner runs of spaces collapsed, multiple values joined with
// commas. Go's server moves Host to r.Host and Transfer-Encoding to
// r.TransferEncoding, so those are read from there.
func appendHeaderValue(buf []byte, r *http.Request, name string) []byte {
	if name == "host" {
		host := r.Host
		if host == "" {
			host = r.URL.Host
		}
		return appendTrimmed(buf, host)
	}
	vals := r.Header[textproto.CanonicalMIMEHeaderKey(name)]
	if len(vals) == 0 {
		switch name {
		case "content-length":
			if r.ContentLength >= 0 {
				return strconv.AppendInt(buf, r.ContentLength, 10)
			}
		case "transfer-encoding":
			vals = r.TransferEncoding
		}
	}
	for i, v := range vals {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendTrimmed(buf, v)
	}
	return buf
}

// appendTrimmed appends v with surrounding whitespace removed and inner runs
// of spaces collapsed to one.
func appendTrimmed(buf []byte, v string) []byte {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return append(buf, v...)
	}
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		buf = append(buf, c)
	}
	return buf
}
