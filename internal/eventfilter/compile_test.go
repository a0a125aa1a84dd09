package eventfilter

import (
	"errors"
	"strings"
	"testing"
)

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	const pre = "Invalid filter pattern definition: "
	long := `{"a":["` + strings.Repeat("x", MaxPatternLength) + `"]}`
	manyStars := `{"a":[{"wildcard":"` + strings.Repeat("*a", MaxComplexity+1) + `"}]}`
	cases := []struct{ pattern, want string }{
		{``, pre + "the pattern is not valid JSON: unexpected end of JSON input"},
		{`{"a":["x"]`, pre + "the pattern is not valid JSON: unexpected end of JSON input"},
		{`{"a":["x"]} {}`, pre + "the pattern is not valid JSON: unexpected data after the pattern"},
		{`["a"]`, pre + "the pattern must be a JSON object"},
		{`null`, pre + "the pattern must be a JSON object"},
		{`{}`, pre + "empty objects are not allowed"},
		{long, pre + "the pattern is longer than 4096 characters"},
		{`{"a":["x"],"a":["y"]}`, pre + `key "a": the key appears twice`},
		{`{"detail":{"a":[1],"a":[2]}}`, pre + `key "detail.a": the key appears twice`},
		{`{"detail":{}}`, pre + `key "detail": empty objects are not allowed`},
		{`{"a":[]}`, pre + `key "a": empty arrays are not allowed`},
		{`{"a":"x"}`, pre + `key "a": a value must be an array of match values or a nested object`},
		{`{"a":5}`, pre + `key "a": a value must be an array of match values or a nested object`},
		{`{"a":[["x"]]}`, pre + `key "a": nested arrays are not allowed`},
		{`{"detail":{"state":[{"foo":"x"}]}}`, pre + `key "detail.state": unrecognized match type "foo"`},
		{`{"a":[{}]}`, pre + `key "a": a match object must hold exactly one operator, e.g. {"prefix": "a"}`},
		{`{"a":[{"prefix":"x","suffix":"y"}]}`, pre + `key "a": a match object must hold exactly one operator, e.g. {"prefix": "a"}`},
		{`{"a":[{"prefix":5}]}`, pre + `key "a": prefix: the value must be a string or {"equals-ignore-case": string}`},
		{`{"a":[{"suffix":{"equals-ignore-case":1}}]}`, pre + `key "a": suffix: the value must be a string or {"equals-ignore-case": string}`},
		{`{"a":[{"equals-ignore-case":["x"]}]}`, pre + `key "a": equals-ignore-case: the value must be a string`},
		{`{"a":[{"exists":"true"}]}`, pre + `key "a": exists: the value must be true or false`},
		{`{"a":[{"cidr":"10.0.0.0"}]}`, pre + `key "a": cidr: "10.0.0.0" is not an IPv4 or IPv6 CIDR block`},
		{`{"a":[{"cidr":"10.0.0.0/33"}]}`, pre + `key "a": cidr: "10.0.0.0/33" is not an IPv4 or IPv6 CIDR block`},
		{`{"a":[{"cidr":24}]}`, pre + `key "a": cidr: the value must be a string such as "10.0.0.0/24"`},
		{`{"a":[{"wildcard":"a**b"}]}`, pre + `key "a": wildcard "a**b": consecutive wildcard characters are not allowed`},
		{`{"a":[{"wildcard":"a\\b"}]}`, pre + `key "a": wildcard "a\\b": only \* and \\ may be escaped`},
		{`{"a":[{"wildcard":"ab\\"}]}`, pre + `key "a": wildcard "ab\\": only \* and \\ may be escaped`},
		{`{"a":[{"wildcard":5}]}`, pre + `key "a": wildcard: the value must be a string`},
		{manyStars, pre + "the pattern is too complex (101 wildcard characters, at most 100): use fewer wildcards"},
		{`{"n":[{"numeric":[">",0,"<",0]}]}`, pre + `key "n": numeric: the lower bound must be below the upper bound`},
		{`{"n":[{"numeric":["<",0,">",5]}]}`, pre + `key "n": numeric: the lower bound must be below the upper bound`},
		{`{"n":[{"numeric":[">",0,">",5]}]}`, pre + `key "n": numeric: two lower bounds`},
		{`{"n":[{"numeric":["<",0,"<=",5]}]}`, pre + `key "n": numeric: two upper bounds`},
		{`{"n":[{"numeric":["=",0,"<",5]}]}`, pre + `key "n": numeric: = stands alone`},
		{`{"n":[{"numeric":["!=",0]}]}`, pre + `key "n": numeric: unknown operator "!=" (=, <, <=, >, >=)`},
		{`{"n":[{"numeric":[">"]}]}`, pre + `key "n": numeric: want ["op", number] or ["op", number, "op", number]`},
		{`{"n":[{"numeric":">5"}]}`, pre + `key "n": numeric: want ["op", number] or ["op", number, "op", number]`},
		{`{"n":[{"numeric":[">","5"]}]}`, pre + `key "n": numeric: each operator must be a string followed by a number`},
		{`{"n":[{"numeric":[">",5e10]}]}`, pre + `key "n": numeric: 5e10 is outside -5.0e9 to 5.0e9`},
		{`{"n":[{"numeric":[">",-5000000000.5]}]}`, pre + `key "n": numeric: -5000000000.5 is outside -5.0e9 to 5.0e9`},
		{`{"n":[1e400]}`, pre + `key "n": 1e400 is not a usable number`},
		{`{"s":[{"anything-but":[]}]}`, pre + `key "s": anything-but: the list is empty`},
		{`{"s":[{"anything-but":["a",1]}]}`, pre + `key "s": anything-but: the list must hold only strings or only numbers`},
		{`{"s":[{"anything-but":[true]}]}`, pre + `key "s": anything-but: the list must hold only strings or only numbers`},
		{`{"s":[{"anything-but":null}]}`, pre + `key "s": anything-but: the value must be a string, a number, a list of either, or an operator object`},
		{`{"s":[{"anything-but":{"prefix":""}}]}`, pre + `key "s": anything-but: prefix: the value must not be empty`},
		{`{"s":[{"anything-but":{"prefix":["a"]}}]}`, pre + `key "s": anything-but: prefix: the value must be a string`},
		{`{"s":[{"anything-but":{"equals-ignore-case":["a",1]}}]}`, pre + `key "s": anything-but: equals-ignore-case: the list must hold only strings`},
		{`{"s":[{"anything-but":{"numeric":[">",1]}}]}`, pre + `key "s": anything-but: unsupported operator "numeric"`},
		{`{"s":[{"anything-but":{"prefix":"a","suffix":"b"}}]}`, pre + `key "s": anything-but: the object must hold exactly one of prefix, suffix, equals-ignore-case, wildcard`},
		{`{"s":[{"anything-but":{"wildcard":"a**"}}]}`, pre + `key "s": wildcard "a**": consecutive wildcard characters are not allowed`},
		{`{"$or":[{"a":["x"]}]}`, pre + `key "$or": $or needs at least two patterns`},
		{`{"detail":{"$or":[{"a":["x"]},{}]}}`, pre + `key "detail": empty objects are not allowed`},
		{`{"$or":[{"a":["x"]},{"b":"y"}]}`, pre + `key "b": a value must be an array of match values or a nested object`},
	}
	for _, c := range cases {
		_, err := Compile(c.pattern)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Compile(%s) = %v, want *Error", c.pattern, err)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("Compile(%.80s):\n got %s\nwant %s", c.pattern, err, c.want)
		}
	}
}

func TestCompileValid(t *testing.T) {
	t.Parallel()
	// Patterns from AWS's guides, and the limits' edges.
	for _, p := range []string{
		`{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["terminated"]}}`,
		`{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}`,
		`{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}`,
		`{"body":{"RequestCode":["BBBB"]}}`,
		`{"a":[{"exists":false},null,"",0,true]}`,
		`{"a":[{"wildcard":"` + strings.Repeat("*a", MaxComplexity) + `"}]}`,
		`{"n":[{"numeric":[">=",-5e9,"<=",5e9]}]}`,
	} {
		if _, err := Compile(p); err != nil {
			t.Errorf("Compile(%.80s): %v", p, err)
		}
	}
}

// FuzzCompile checks that no pattern or event panics Compile or Match.
func FuzzCompile(f *testing.F) {
	f.Add(`{"a":[{"wildcard":"x*y"}],"$or":[{"b":[1]},{"c":{"d":[{"exists":false}]}}]}`, `{"a":"xzy","c":[{"d":1},{}]}`)
	f.Add(`{"n":[{"numeric":[">",0,"<=",5]}],"s":[{"anything-but":{"prefix":"u"}}]}`, `{"n":[1,"2"],"s":null}`)
	f.Add(`{"ip":[{"cidr":"::/0"}]}`, `{"ip":"::1%eth0"}`)
	f.Fuzz(func(t *testing.T, pattern, event string) {
		p, err := Compile(pattern)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Compile(%q) = %v, not *Error", pattern, err)
			}
			return
		}
		p.Match([]byte(event))
	})
}
