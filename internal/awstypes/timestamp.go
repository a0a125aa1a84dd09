package awstypes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Timestamp is a time on the wire. rest-json and json bodies carry timestamps as epoch seconds
// with a fractional part, which time.Time's own JSON form (RFC 3339) does not match.
type Timestamp struct {
	time.Time
}

// NewTimestamp returns a pointer because generated structs hold optional timestamps as pointers.
func NewTimestamp(t time.Time) *Timestamp {
	return &Timestamp{Time: t}
}

// MarshalJSON writes epoch seconds with millisecond precision, the resolution AWS SDKs use,
// and without a fraction when it is zero so whole seconds round-trip as integers.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(formatEpochSeconds(t.Time)), nil
}

// UnmarshalJSON accepts epoch seconds (a number, as AWS sends) and also ISO-8601 strings,
// since clients and hand-written fixtures use both.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := ParseTimestamp(s)
		if err != nil {
			return err
		}
		t.Time = v
		return nil
	}
	v, err := parseEpochSeconds(string(b))
	if err != nil {
		return fmt.Errorf("awstypes: invalid timestamp %s", b)
	}
	t.Time = v
	return nil
}

// ParseTimestamp reads the textual forms a timestamp takes outside JSON bodies: ISO-8601 in
// query strings, RFC 1123 (http-date) in headers, and epoch seconds anywhere.
func ParseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999",
		http.TimeFormat,
		time.RFC1123Z,
		time.RFC1123,
	} {
		if v, err := time.Parse(layout, s); err == nil {
			return v.UTC(), nil
		}
	}
	if v, err := parseEpochSeconds(s); err == nil {
		return v, nil
	}
	return time.Time{}, fmt.Errorf("awstypes: invalid timestamp %q", s)
}

func formatEpochSeconds(t time.Time) string {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	sec, frac := ms/1000, ms%1000
	if frac == 0 {
		return sign + strconv.FormatInt(sec, 10)
	}
	return sign + strconv.FormatInt(sec, 10) + "." + strings.TrimRight(fmt.Sprintf("%03d", frac), "0")
}

// parseEpochSeconds splits plain decimals by hand so fractions are exact; float64 alone
// cannot hold today's epoch seconds to nanoseconds.
func parseEpochSeconds(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, strconv.ErrSyntax
	}
	if !strings.ContainsAny(s, "eE") {
		neg := strings.HasPrefix(s, "-")
		intPart, fracPart, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
		if intPart == "" && fracPart == "" {
			return time.Time{}, strconv.ErrSyntax
		}
		sec := int64(0)
		if intPart != "" {
			v, err := strconv.ParseUint(intPart, 10, 63)
			if err != nil {
				return time.Time{}, err
			}
			sec = int64(v)
		}
		nsec := int64(0)
		if fracPart != "" {
			if len(fracPart) > 9 {
				fracPart = fracPart[:9]
			}
			v, err := strconv.ParseUint(fracPart+strings.Repeat("0", 9-len(fracPart)), 10, 64)
			if err != nil {
				return time.Time{}, err
			}
			nsec = int64(v)
		}
		if neg {
			sec, nsec = -sec, -nsec
		}
		return time.Unix(sec, nsec).UTC(), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return time.Time{}, strconv.ErrSyntax
	}
	sec, frac := math.Modf(f)
	// Exponent forms are already float-rounded; microseconds is all they can honestly carry.
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), nil
}
