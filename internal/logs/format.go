package logs

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

const (
	// eventOverhead is what CloudWatch adds to each message when it counts
	// event and batch sizes.
	eventOverhead = 26

	// MaxMessageBytes is the longest message one event holds; longer lines
	// are split. CloudWatch caps an event at 256 KiB including
	// [eventOverhead], and the awslogs drivers split lines at this size.
	MaxMessageBytes = 256<<10 - eventOverhead

	// maxPageEvents and maxPageBytes are GetLogEvents' response limits.
	maxPageEvents = 10000
	maxPageBytes  = 1 << 20

	// maxRecordBytes bounds how far a reader looks for a record's end. No
	// record the writer produces comes close; hitting it means the file is
	// corrupt, and giving up beats reading an unbounded amount of garbage.
	maxRecordBytes = 1 << 20

	// maxEscaped keeps escaped names well inside the usual 255-byte limit
	// on a file name, leaving room for the ".log" suffix.
	maxEscaped = 200

	headerMagic = "#barge-log v1"
	fileSuffix  = ".log"
)

// ErrNotFound is wrapped by errors for a log group or log stream that does
// not exist.
var ErrNotFound = errors.New("resource not found")

// ErrInvalidToken is wrapped by errors for a pagination token this store
// did not issue for the stream (or listing) it is presented to.
var ErrInvalidToken = errors.New("invalid pagination token")

// ErrInvalidParameter is wrapped by errors for a request parameter outside
// what CloudWatch accepts.
var ErrInvalidParameter = errors.New("invalid parameter")

// errCorrupt is returned when a stream file cannot be parsed at all. Single
// damaged records are skipped instead, so this only fires for a bad header
// or an absurdly long line.
var errCorrupt = errors.New("corrupt log stream file")

// escapeName maps a client-supplied name to a single, safe path component.
// The mapping is injective: literal bytes, "%XX" escapes, the lone "%" used
// for the empty name and the "~" hash form cannot be confused.
func escapeName(s string) string {
	if s == "" {
		return "%"
	}
	e := escapeBytes(s)
	if len(e) > maxEscaped {
		sum := sha256.Sum256([]byte(s))
		return "~" + hex.EncodeToString(sum[:20])
	}
	return e
}

func isLiteral(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func escapeBytes(s string) string {
	const hexDigits = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !isLiteral(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isLiteral(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return string(b)
}

// unescapeName reverses escapeName. It reports false for the hashed form,
// whose name must be read from the file header, and for anything that
// escapeName would not have produced.
func unescapeName(e string) (string, bool) {
	if e == "%" {
		return "", true
	}
	return unescapeBytes(e)
}

func unescapeBytes(e string) (string, bool) {
	if strings.IndexByte(e, '%') < 0 {
		for i := 0; i < len(e); i++ {
			if !isLiteral(e[i]) {
				return "", false
			}
		}
		return e, true
	}
	b := make([]byte, 0, len(e))
	for i := 0; i < len(e); i++ {
		c := e[i]
		switch {
		case isLiteral(c):
			b = append(b, c)
		case c == '%' && i+2 < len(e):
			hi, ok1 := upperHex(e[i+1])
			lo, ok2 := upperHex(e[i+2])
			if !ok1 || !ok2 {
				return "", false
			}
			b = append(b, hi<<4|lo)
			i += 2
		default:
			return "", false
		}
	}
	return string(b), true
}

func upperHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// header is the first line of a stream file.
type header struct {
	created                int64
	id                     string // random per file, so tokens outlive neither a delete nor a re-create
	account, group, stream string
	size                   int64 // bytes, including the '\n'
}

func (h *header) encode() []byte {
	line := fmt.Sprintf("%s created=%d id=%s account=%s group=%s stream=%s\n",
		headerMagic, h.created, h.id, escapeBytes(h.account), escapeBytes(h.group), escapeBytes(h.stream))
	h.size = int64(len(line))
	return []byte(line)
}

// parseHeader parses b, which must start at the beginning of the file and
// contain the whole header line.
func parseHeader(b []byte) (header, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return header{}, fmt.Errorf("%w: no header", errCorrupt)
	}
	rest, ok := strings.CutPrefix(string(b[:i]), headerMagic+" ")
	if !ok {
		return header{}, fmt.Errorf("%w: bad header", errCorrupt)
	}
	h := header{size: int64(i + 1)}
	var haveCreated, haveID, haveStream bool
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "created":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return header{}, fmt.Errorf("%w: bad creation time", errCorrupt)
			}
			h.created, haveCreated = n, true
		case "id":
			h.id, haveID = v, v != ""
		case "account", "group", "stream":
			s, ok := unescapeBytes(v)
			if !ok {
				return header{}, fmt.Errorf("%w: bad %s name", errCorrupt, k)
			}
			switch k {
			case "account":
				h.account = s
			case "group":
				h.group = s
			default:
				h.stream, haveStream = s, true
			}
		}
	}
	if !haveCreated || !haveID || !haveStream {
		return header{}, fmt.Errorf("%w: incomplete header", errCorrupt)
	}
	return h, nil
}

// appendRecord appends one event line. A message holding '\n' (PutLogEvents may send one) is
// escaped ('\\' and "\\n") and marked by a negative ingestion time, which no plain record has,
// so that files written before escaping existed read as they did.
func appendRecord(dst []byte, ts, ingested int64, msg []byte) []byte {
	if bytes.IndexByte(msg, '\n') >= 0 {
		return appendRawRecord(dst, ts, -ingested, escapeMessage(msg))
	}
	return appendRawRecord(dst, ts, ingested, msg)
}

func escapeMessage(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+8)
	for _, c := range msg {
		switch c {
		case '\\':
			out = append(out, '\\', '\\')
		case '\n':
			out = append(out, '\\', 'n')
		default:
			out = append(out, c)
		}
	}
	return out
}

func unescapeMessage(msg []byte) []byte {
	out := make([]byte, 0, len(msg))
	for i := 0; i < len(msg); i++ {
		if msg[i] == '\\' && i+1 < len(msg) {
			i++
			if msg[i] == 'n' {
				out = append(out, '\n')
				continue
			}
		}
		out = append(out, msg[i])
	}
	return out
}

// appendRawRecord appends one event line as it is written. msg must not contain '\n'.
func appendRawRecord(dst []byte, ts, ingested int64, msg []byte) []byte {
	dst = strconv.AppendInt(dst, ts, 10)
	dst = append(dst, '\t')
	dst = strconv.AppendInt(dst, ingested, 10)
	dst = append(dst, '\t')
	dst = append(dst, msg...)
	return append(dst, '\n')
}

// parseRecord parses an event line without its '\n'. It reports false for
// a line the writer could not have produced, which readers skip: such lines
// only appear after on-disk damage.
func parseRecord(line []byte) (ts, ingested int64, msg []byte, ok bool) {
	ts, line, ok = parseField(line)
	if !ok {
		return 0, 0, nil, false
	}
	ingested, line, ok = parseField(line)
	if !ok {
		return 0, 0, nil, false
	}
	if ingested < 0 { // an escaped message (appendRecord)
		return ts, -ingested, unescapeMessage(line), true
	}
	return ts, ingested, line, true
}

// parseField parses a decimal integer terminated by '\t'. It is hand-rolled
// because it runs once per event read and strconv would need a string.
func parseField(b []byte) (int64, []byte, bool) {
	neg := len(b) > 0 && b[0] == '-'
	i := 0
	if neg {
		i = 1
	}
	start := i
	var n int64
	for ; i < len(b) && b[i] != '\t'; i++ {
		c := b[i]
		if c < '0' || c > '9' || i-start >= 18 {
			return 0, nil, false
		}
		n = n*10 + int64(c-'0')
	}
	if i == start || i == len(b) {
		return 0, nil, false
	}
	if neg {
		n = -n
	}
	return n, b[i+1:], true
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Event tokens are "f/" (forward) or "b/" (backward) followed by 30 digits:
// a 20-digit byte offset into the stream file and a 10-digit checksum that
// binds the offset to the direction and to this incarnation of the stream.
// The checksum is not a security measure; it lets a token from another
// stream, a re-created stream or a typo fail loudly instead of starting
// mid-record.
const (
	tokenOffsetDigits = 20
	tokenCheckDigits  = 10
	tokenLen          = 2 + tokenOffsetDigits + tokenCheckDigits
)

func tokenCheck(id string, dir byte, off int64) uint32 {
	var b [9]byte
	b[0] = dir
	binary.BigEndian.PutUint64(b[1:], uint64(off))
	return crc32.Update(crc32.Checksum([]byte(id), castagnoli), castagnoli, b[:])
}

func makeToken(id string, dir byte, off int64) string {
	return fmt.Sprintf("%c/%0*d%0*d", dir, tokenOffsetDigits, off, tokenCheckDigits, tokenCheck(id, dir, off))
}

// parseToken checks the token's form and checksum; whether the offset is a
// record boundary inside the file is for the caller to check.
func parseToken(id, tok string) (dir byte, off int64, err error) {
	bad := fmt.Errorf("%w: %q", ErrInvalidToken, tok)
	if len(tok) != tokenLen || tok[1] != '/' || (tok[0] != 'f' && tok[0] != 'b') {
		return 0, 0, bad
	}
	for i := 2; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, 0, bad
		}
	}
	off, err1 := strconv.ParseInt(tok[2:2+tokenOffsetDigits], 10, 64)
	sum, err2 := strconv.ParseUint(tok[2+tokenOffsetDigits:], 10, 32)
	if err1 != nil || err2 != nil || uint32(sum) != tokenCheck(id, tok[0], off) {
		return 0, 0, bad
	}
	return tok[0], off, nil
}
