package eventfilter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jkind is a JSON value's type in a decoded pattern.
type jkind int

const (
	jString jkind = iota + 1
	jNumber
	jBool
	jNull
	jArray
	jObject
)

// jv is one value of a pattern. Unlike encoding/json's maps it keeps the keys' order, so errors
// name the first offending key, and it sees duplicate keys, which a map would silently merge.
type jv struct {
	kind jkind
	str  string // a string, or a number's literal
	b    bool
	arr  []jv // array elements
	keys []string
	vals []jv // object values, parallel to keys
}

// decodePattern parses one JSON value with nothing after it.
func decodePattern(s string) (jv, error) {
	d := json.NewDecoder(bytes.NewReader([]byte(s)))
	d.UseNumber()
	v, err := readValue(d, "")
	if err == io.EOF { // the decoder's Token reports a truncated value as plain EOF
		err = errors.New("unexpected end of JSON input")
	}
	if err != nil {
		return jv{}, err
	}
	if _, err := d.Token(); err != io.EOF {
		return jv{}, errors.New("unexpected data after the pattern")
	}
	return v, nil
}

// readValue reads the value at path (dotted keys, for errors).
func readValue(d *json.Decoder, path string) (jv, error) {
	tok, err := d.Token()
	if err != nil {
		return jv{}, err
	}
	switch t := tok.(type) {
	case string:
		return jv{kind: jString, str: t}, nil
	case json.Number:
		return jv{kind: jNumber, str: string(t)}, nil
	case bool:
		return jv{kind: jBool, b: t}, nil
	case nil:
		return jv{kind: jNull}, nil
	case json.Delim:
		if t == '[' {
			return readArray(d, path)
		}
		return readObject(d, path)
	}
	return jv{}, fmt.Errorf("unexpected token %v", tok)
}

func readArray(d *json.Decoder, path string) (jv, error) {
	v := jv{kind: jArray}
	for d.More() {
		e, err := readValue(d, path)
		if err != nil {
			return jv{}, err
		}
		v.arr = append(v.arr, e)
	}
	_, err := d.Token() // ']'
	return v, err
}

func readObject(d *json.Decoder, path string) (jv, error) {
	v := jv{kind: jObject}
	seen := map[string]bool{}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return jv{}, err
		}
		k := tok.(string) // the decoder only yields string keys inside an object
		if seen[k] {
			return jv{}, &Error{Key: join(path, k), Reason: "the key appears twice"}
		}
		seen[k] = true
		e, err := readValue(d, join(path, k))
		if err != nil {
			return jv{}, err
		}
		v.keys, v.vals = append(v.keys, k), append(v.vals, e)
	}
	_, err := d.Token() // '}'
	return v, err
}

// DecodeEvent parses an event for MatchValue: objects are map[string]any, arrays []any, and
// numbers json.Number so that their precision survives.
func DecodeEvent(event []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(event))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the event")
	}
	return v, nil
}
