package asl

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"unicode/utf8"
)

// intrinsicSpec is a function's arity and implementation; max -1 means
// variadic.
type intrinsicSpec struct {
	min, max int
	fn       func(env intrinsicEnv, args []any) (any, error)
}

func (s intrinsicSpec) arity() string {
	switch {
	case s.max < 0:
		return fmt.Sprintf("at least %d", s.min)
	case s.min == s.max:
		return strconv.Itoa(s.min)
	}
	return fmt.Sprintf("%d to %d", s.min, s.max)
}

// Limits Step Functions documents for intrinsic arguments.
const (
	maxIntrinsicString = 10000
	maxArrayRange      = 1000
)

var intrinsics map[string]intrinsicSpec

func init() {
	// Assigned in init because the specs refer to functions that use the map.
	intrinsics = map[string]intrinsicSpec{
		"States.Format":         {1, -1, fnFormat},
		"States.StringToJson":   {1, 1, fnStringToJSON},
		"States.JsonToString":   {1, 1, fnJSONToString},
		"States.Array":          {0, -1, fnArray},
		"States.ArrayPartition": {2, 2, fnArrayPartition},
		"States.ArrayContains":  {2, 2, fnArrayContains},
		"States.ArrayRange":     {3, 3, fnArrayRange},
		"States.ArrayGetItem":   {2, 2, fnArrayGetItem},
		"States.ArrayLength":    {1, 1, fnArrayLength},
		"States.ArrayUnique":    {1, 1, fnArrayUnique},
		"States.Base64Encode":   {1, 1, fnBase64Encode},
		"States.Base64Decode":   {1, 1, fnBase64Decode},
		"States.Hash":           {2, 2, fnHash},
		"States.JsonMerge":      {3, 3, fnJSONMerge},
		"States.MathRandom":     {2, 3, fnMathRandom},
		"States.MathAdd":        {2, 2, fnMathAdd},
		"States.StringSplit":    {2, 2, fnStringSplit},
		"States.UUID":           {0, 0, fnUUID},
	}
}

func argString(args []any, i int, name string) (string, error) {
	s, ok := args[i].(string)
	if !ok {
		return "", fmt.Errorf("argument %q must be a string, got %s", name, typeName(args[i]))
	}
	return s, nil
}

func argArray(args []any, i int, name string) ([]any, error) {
	a, ok := args[i].([]any)
	if !ok {
		return nil, fmt.Errorf("argument %q must be an array, got %s", name, typeName(args[i]))
	}
	return a, nil
}

func argInt(args []any, i int, name string) (int, error) {
	n, ok := asInt(args[i])
	if !ok {
		return 0, fmt.Errorf("argument %q must be an integer, got %s", name, mustJSON(args[i]))
	}
	return n, nil
}

func fnFormat(_ intrinsicEnv, args []any) (any, error) {
	tmpl, err := argString(args, 0, "template")
	if err != nil {
		return nil, err
	}
	parts := strings.Split(tmpl, "{}")
	if len(parts)-1 != len(args)-1 {
		return nil, fmt.Errorf("the template has %d placeholders but %d values were given", len(parts)-1, len(args)-1)
	}
	var b strings.Builder
	for i, p := range parts {
		b.WriteString(p)
		if i == len(parts)-1 {
			break
		}
		switch v := args[i+1].(type) {
		case string:
			b.WriteString(v)
		case nil, bool, float64:
			b.WriteString(mustJSON(v))
		default:
			return nil, fmt.Errorf("value %d must be a string, number, boolean or null, got %s", i+1, typeName(v))
		}
	}
	return unescapeBraces.Replace(b.String()), nil
}

func fnStringToJSON(_ intrinsicEnv, args []any) (any, error) {
	s, err := argString(args, 0, "jsonString")
	if err != nil {
		return nil, err
	}
	v, err := decodeJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("the string is not valid JSON: %w", err)
	}
	return v, nil
}

func fnJSONToString(_ intrinsicEnv, args []any) (any, error) {
	return mustJSON(args[0]), nil
}

func fnArray(_ intrinsicEnv, args []any) (any, error) {
	return append([]any{}, args...), nil
}

func fnArrayPartition(_ intrinsicEnv, args []any) (any, error) {
	arr, err := argArray(args, 0, "array")
	if err != nil {
		return nil, err
	}
	size, err := argInt(args, 1, "chunkSize")
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, errors.New("argument \"chunkSize\" must be a positive integer")
	}
	out := []any{}
	for i := 0; i < len(arr); i += size {
		out = append(out, append([]any{}, arr[i:min(i+size, len(arr))]...))
	}
	return out, nil
}

func fnArrayContains(_ intrinsicEnv, args []any) (any, error) {
	arr, err := argArray(args, 0, "array")
	if err != nil {
		return nil, err
	}
	for _, e := range arr {
		if jsonEqual(e, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

func fnArrayRange(_ intrinsicEnv, args []any) (any, error) {
	var n [3]int
	for i, name := range []string{"start", "end", "step"} {
		v, err := argInt(args, i, name)
		if err != nil {
			return nil, err
		}
		n[i] = v
	}
	start, end, step := n[0], n[1], n[2]
	if step == 0 {
		return nil, errors.New("argument \"step\" must not be 0")
	}
	out := []any{}
	for i := start; (step > 0 && i <= end) || (step < 0 && i >= end); i += step {
		if len(out) == maxArrayRange {
			return nil, fmt.Errorf("the range has more than %d elements", maxArrayRange)
		}
		out = append(out, float64(i))
	}
	return out, nil
}

func fnArrayGetItem(_ intrinsicEnv, args []any) (any, error) {
	arr, err := argArray(args, 0, "array")
	if err != nil {
		return nil, err
	}
	i, err := argInt(args, 1, "index")
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= len(arr) {
		return nil, fmt.Errorf("index %d is out of bounds for an array of length %d", i, len(arr))
	}
	return arr[i], nil
}

func fnArrayLength(_ intrinsicEnv, args []any) (any, error) {
	arr, err := argArray(args, 0, "array")
	if err != nil {
		return nil, err
	}
	return float64(len(arr)), nil
}

func fnArrayUnique(_ intrinsicEnv, args []any) (any, error) {
	arr, err := argArray(args, 0, "array")
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, e := range arr {
		dup := false
		for _, o := range out {
			if jsonEqual(e, o) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, e)
		}
	}
	return out, nil
}

func limitedString(args []any, name string) (string, error) {
	s, err := argString(args, 0, name)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(s) > maxIntrinsicString {
		return "", fmt.Errorf("argument %q is longer than %d characters", name, maxIntrinsicString)
	}
	return s, nil
}

func fnBase64Encode(_ intrinsicEnv, args []any) (any, error) {
	s, err := limitedString(args, "data")
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(_ intrinsicEnv, args []any) (any, error) {
	s, err := limitedString(args, "base64")
	if err != nil {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("argument \"base64\" is not valid base64: %w", err)
	}
	return string(b), nil
}

var hashes = map[string]func() hash.Hash{
	"MD5": md5.New, "SHA-1": sha1.New, "SHA-256": sha256.New,
	"SHA-384": sha512.New384, "SHA-512": sha512.New,
}

func fnHash(_ intrinsicEnv, args []any) (any, error) {
	s, err := limitedString(args, "data")
	if err != nil {
		return nil, err
	}
	alg, err := argString(args, 1, "algorithm")
	if err != nil {
		return nil, err
	}
	newHash, ok := hashes[alg]
	if !ok {
		return nil, fmt.Errorf("algorithm %q is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512", alg)
	}
	h := newHash()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fnJSONMerge(_ intrinsicEnv, args []any) (any, error) {
	a, okA := args[0].(map[string]any)
	b, okB := args[1].(map[string]any)
	if !okA || !okB {
		return nil, errors.New("the first two arguments must be objects")
	}
	deep, ok := args[2].(bool)
	if !ok {
		return nil, errors.New("argument \"isDeepMerge\" must be a boolean")
	}
	if deep {
		return nil, errors.New("deep merging is not supported; isDeepMerge must be false")
	}
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out, nil
}

func fnMathRandom(env intrinsicEnv, args []any) (any, error) {
	start, err := argInt(args, 0, "start")
	if err != nil {
		return nil, err
	}
	end, err := argInt(args, 1, "end")
	if err != nil {
		return nil, err
	}
	if end <= start {
		return nil, errors.New("argument \"end\" must be greater than \"start\"")
	}
	if len(args) == 3 {
		seed, err := argInt(args, 2, "seed")
		if err != nil {
			return nil, err
		}
		return float64(start + seededIntN(int64(seed), end-start)), nil
	}
	return float64(start + env.rand.IntN(end-start)), nil
}

func fnMathAdd(_ intrinsicEnv, args []any) (any, error) {
	a, err := argInt(args, 0, "value1")
	if err != nil {
		return nil, err
	}
	b, err := argInt(args, 1, "value2")
	if err != nil {
		return nil, err
	}
	return float64(a + b), nil
}

func fnStringSplit(_ intrinsicEnv, args []any) (any, error) {
	s, err := argString(args, 0, "inputString")
	if err != nil {
		return nil, err
	}
	delims, err := argString(args, 1, "splitter")
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) }) {
		out = append(out, f)
	}
	return out, nil
}

func fnUUID(env intrinsicEnv, _ []any) (any, error) {
	return env.rand.uuid(), nil
}
