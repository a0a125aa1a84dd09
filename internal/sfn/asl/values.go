package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Values flowing through an execution are plain decoded JSON: nil, bool,
// float64, string, []any and map[string]any. They are never modified in
// place once created, so states, branches and history events can share them.

// MaxPayloadBytes is Step Functions' payload quota (256 KiB): larger state
// inputs, task results and outputs fail with States.DataLimitExceeded.
const MaxPayloadBytes = 256 * 1024

// marshalJSON encodes v without HTML escaping, as Step Functions prints it.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// mustJSON encodes a value known to be JSON (it came from decoding).
func mustJSON(v any) string {
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return string(b)
}

// decodeJSON decodes JSON text into plain values.
func decodeJSON(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	return normalize(v), nil
}

// normalize converts Go values from JSON libraries (ints, []string,
// map[string]string, ...) into the plain forms by a JSON round trip when
// needed.
func normalize(v any) any {
	switch t := v.(type) {
	case nil, bool, float64, string:
		return t
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = normalize(e)
		}
		return out
	case int:
		return float64(t)
	case int64:
		return float64(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

// checkSize enforces MaxPayloadBytes on a value about to become a state's
// input, result or output.
func checkSize(v any, what string) *Error {
	b, err := marshalJSON(v)
	if err != nil {
		return newError(ErrRuntime, "%s is not valid JSON: %v", what, err)
	}
	if len(b) > MaxPayloadBytes {
		return newError(ErrDataLimitExceeded,
			"The %s has a size of %d bytes, which exceeds the maximum of %d bytes", what, len(b), MaxPayloadBytes)
	}
	return nil
}

// jsonEqual compares two plain values structurally.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	}
	return a == b
}

// parseTimestamp accepts the RFC 3339 profile ASL requires: an uppercase T
// between date and time and a Z or numeric offset.
func parseTimestamp(s string) (time.Time, bool) {
	if !strings.Contains(s, "T") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// formatTime renders times the way the context object shows them.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// typeName names a value's JSON type for error messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// asInt converts a JSON number holding an integer.
func asInt(v any) (int, bool) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int(f), true
}
