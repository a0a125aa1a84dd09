package awstypes

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// Struct tags written by the generator on members that live outside the JSON body. The body
// codec skips them (json:"-"), so these tags are the only way an HTTP layer can find them.
const (
	tagLocation     = "location"
	tagLocationName = "locationName"
)

// Location tag values, as in the botocore model.
const (
	LocURI         = "uri"
	LocQueryString = "querystring"
	LocHeader      = "header"
	LocHeaders     = "headers" // a map filled from every header sharing the locationName prefix
	LocStatusCode  = "statusCode"
	// LocPayload marks the member that is the whole HTTP body (e.g. Lambda Invoke's raw
	// Payload); the HTTP layer reads and writes it itself rather than through JSON.
	LocPayload = "payload"
)

var timestampType = reflect.TypeFor[Timestamp]()

// LocationError reports a request value that cannot fill its member. It names the parameter as
// the client spelled it so the HTTP layer can turn it into a validation error the caller
// understands.
type LocationError struct {
	Location string // uri, querystring, header or headers
	Name     string // locationName from the model, e.g. "MaxItems" or "X-Amz-Log-Type"
	Field    string // Go field name
	Value    string
	Err      error
}

func (e *LocationError) Error() string {
	return fmt.Sprintf("invalid value %q for %s %s: %v", e.Value, e.Location, e.Name, e.Err)
}

func (e *LocationError) Unwrap() error { return e.Err }

var (
	errNotInteger = errors.New("expected an integer")
	errNotBool    = errors.New("expected true or false")
	errNotNumber  = errors.New("expected a number")
)

// BindLocation fills the members of *v tagged location:"uri|querystring|header|headers" from
// the request. uri returns the (already unescaped) value of a path label, "" when absent; nil
// uri, query or header simply bind nothing from that part. Absent values leave the field
// untouched, so defaults set before the call survive. A value that does not parse yields a
// *LocationError.
func BindLocation(v any, uri func(name string) string, query url.Values, header http.Header) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("awstypes: BindLocation needs a non-nil pointer to a struct, got %T", v)
	}
	rv = rv.Elem()
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		loc, ok := f.Tag.Lookup(tagLocation)
		if !ok || !f.IsExported() {
			continue
		}
		name := f.Tag.Get(tagLocationName)
		if name == "" {
			name = f.Name
		}
		var vals []string
		switch loc {
		case LocURI:
			if uri == nil {
				continue
			}
			if s := uri(name); s != "" {
				vals = []string{s}
			}
		case LocQueryString:
			vals = query[name]
		case LocHeader:
			for _, hv := range header.Values(name) {
				if f.Type.Kind() == reflect.Slice {
					// List headers are comma-joined on the wire.
					for part := range strings.SplitSeq(hv, ",") {
						vals = append(vals, strings.TrimSpace(part))
					}
				} else {
					vals = append(vals, hv)
				}
			}
		case LocHeaders:
			if err := bindHeaderMap(rv.Field(i), name, header); err != nil {
				return &LocationError{Location: loc, Name: name, Field: f.Name, Err: err}
			}
			continue
		default:
			continue
		}
		if len(vals) == 0 {
			continue
		}
		if bad, err := setValues(rv.Field(i), vals); err != nil {
			return &LocationError{Location: loc, Name: name, Field: f.Name, Value: bad, Err: err}
		}
	}
	return nil
}

func bindHeaderMap(fv reflect.Value, prefix string, header http.Header) error {
	if fv.Kind() != reflect.Map || fv.Type().Key().Kind() != reflect.String || fv.Type().Elem().Kind() != reflect.String {
		return fmt.Errorf("unsupported field type %s", fv.Type())
	}
	for k, vs := range header {
		if len(vs) == 0 || len(k) < len(prefix) || !strings.EqualFold(k[:len(prefix)], prefix) {
			continue
		}
		if fv.IsNil() {
			fv.Set(reflect.MakeMap(fv.Type()))
		}
		fv.SetMapIndex(reflect.ValueOf(k[len(prefix):]).Convert(fv.Type().Key()),
			reflect.ValueOf(strings.Join(vs, ",")).Convert(fv.Type().Elem()))
	}
	return nil
}

// setValues stores vals into fv, returning the offending value with any error.
func setValues(fv reflect.Value, vals []string) (string, error) {
	if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() != reflect.Uint8 {
		out := reflect.MakeSlice(fv.Type(), 0, len(vals))
		for _, s := range vals {
			ev := reflect.New(fv.Type().Elem()).Elem()
			if err := setScalar(ev, s); err != nil {
				return s, err
			}
			out = reflect.Append(out, ev)
		}
		fv.Set(out)
		return "", nil
	}
	s := vals[0]
	target := fv.Type()
	if target.Kind() == reflect.Pointer {
		target = target.Elem()
	}
	// An empty parameter carries no number, bool or time; treat it as absent instead of failing.
	if s == "" && target.Kind() != reflect.String {
		return "", nil
	}
	if fv.Kind() == reflect.Pointer {
		nv := reflect.New(target)
		if err := setScalar(nv.Elem(), s); err != nil {
			return s, err
		}
		fv.Set(nv)
		return "", nil
	}
	if err := setScalar(fv, s); err != nil {
		return s, err
	}
	return "", nil
}

func setScalar(fv reflect.Value, s string) error {
	if fv.Type() == timestampType {
		t, err := ParseTimestamp(s)
		if err != nil {
			return errors.New("expected a timestamp")
		}
		fv.Set(reflect.ValueOf(Timestamp{Time: t}))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, fv.Type().Bits())
		if err != nil {
			return errNotInteger
		}
		fv.SetInt(n)
	case reflect.Bool:
		// AWS serialises booleans only as these two words; strconv.ParseBool would also let
		// "1" or "T" through.
		switch {
		case strings.EqualFold(s, "true"):
			fv.SetBool(true)
		case strings.EqualFold(s, "false"):
			fv.SetBool(false)
		default:
			return errNotBool
		}
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, fv.Type().Bits())
		if err != nil {
			return errNotNumber
		}
		fv.SetFloat(f)
	default:
		return fmt.Errorf("unsupported field type %s", fv.Type())
	}
	return nil
}

// LocationHeaders collects the header- and statusCode-located members of an output struct (or
// pointer to one) so the HTTP layer can write them beside the JSON body. status is 0 when no
// statusCode member is set, meaning the operation's default applies. h is never nil.
func LocationHeaders(v any) (status int, h http.Header) {
	h = http.Header{}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return 0, h
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return 0, h
	}
	rt := rv.Type()
	for i := range rt.NumField() {
		f := rt.Field(i)
		loc := f.Tag.Get(tagLocation)
		if loc == "" || !f.IsExported() {
			continue
		}
		name := f.Tag.Get(tagLocationName)
		if name == "" {
			name = f.Name
		}
		fv := rv.Field(i)
		switch loc {
		case LocStatusCode:
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					continue
				}
				fv = fv.Elem()
			}
			if fv.CanInt() && fv.Int() != 0 {
				status = int(fv.Int())
			}
		case LocHeader:
			if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() != reflect.Uint8 {
				for j := range fv.Len() {
					if s, ok := formatScalar(fv.Index(j)); ok {
						h.Add(name, s)
					}
				}
				continue
			}
			if s, ok := formatScalar(fv); ok {
				h.Set(name, s)
			}
		case LocHeaders:
			if fv.Kind() != reflect.Map || fv.Type().Key().Kind() != reflect.String {
				continue
			}
			iter := fv.MapRange()
			for iter.Next() {
				if s, ok := formatScalar(iter.Value()); ok {
					h.Set(name+iter.Key().String(), s)
				}
			}
		}
	}
	return status, h
}

// formatScalar renders a header value; ok is false for unset members, which must not be sent.
func formatScalar(fv reflect.Value) (string, bool) {
	if fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			return "", false
		}
		fv = fv.Elem()
	}
	if fv.Type() == timestampType {
		t := fv.Interface().(Timestamp)
		if t.IsZero() {
			return "", false
		}
		// Header timestamps default to http-date in rest-json.
		return t.UTC().Format(http.TimeFormat), true
	}
	switch fv.Kind() {
	case reflect.String:
		return fv.String(), fv.Len() > 0
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(fv.Int(), 10), true
	case reflect.Bool:
		return strconv.FormatBool(fv.Bool()), true
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(fv.Float(), 'f', -1, fv.Type().Bits()), true
	}
	return "", false
}
