package eventfilter

import (
	"testing"
)

type matchCase struct {
	name, pattern, event string
	want                 bool
}

func runMatch(t *testing.T, cases []matchCase) {
	t.Helper()
	for _, c := range cases {
		p, err := Compile(c.pattern)
		if err != nil {
			t.Errorf("%s: Compile(%s): %v", c.name, c.pattern, err)
			continue
		}
		if got := p.Match([]byte(c.event)); got != c.want {
			t.Errorf("%s: %s against %s = %v, want %v", c.name, c.pattern, c.event, got, c.want)
		}
	}
}

func TestMatchExact(t *testing.T) {
	t.Parallel()
	runMatch(t, []matchCase{
		{"string", `{"source":["aws.ec2"]}`, `{"source":"aws.ec2"}`, true},
		{"string differs", `{"source":["aws.ec2"]}`, `{"source":"aws.s3"}`, false},
		{"case matters", `{"source":["aws.ec2"]}`, `{"source":"AWS.EC2"}`, false},
		{"one of several", `{"source":["aws.ec2","aws.fargate"]}`, `{"source":"aws.fargate"}`, true},
		{"missing key", `{"source":["aws.ec2"]}`, `{"detail":{}}`, false},
		{"empty string", `{"LastName":[""]}`, `{"LastName":""}`, true},
		{"empty string is not absent", `{"LastName":[""]}`, `{}`, false},
		{"number", `{"n":[300]}`, `{"n":300}`, true},
		{"number in another notation", `{"n":[300]}`, `{"n":3.0e2}`, true},
		{"number is not its string", `{"n":[300]}`, `{"n":"300"}`, false},
		{"string is not its number", `{"n":["300"]}`, `{"n":300}`, false},
		{"decimals to six places", `{"n":[1.5]}`, `{"n":1.5000000}`, true},
		{"beyond the numeric range: exact only", `{"n":[1e12]}`, `{"n":1000000000000}`, true},
		{"true", `{"ok":[true]}`, `{"ok":true}`, true},
		{"true is not false", `{"ok":[true]}`, `{"ok":false}`, false},
		{"true is not the string", `{"ok":[true]}`, `{"ok":"true"}`, false},
		{"null", `{"c":[null]}`, `{"c":null}`, true},
		{"null is not absent", `{"c":[null]}`, `{}`, false},
		{"null is not empty", `{"c":[null]}`, `{"c":""}`, false},
		{"and: all keys", `{"a":["1"],"b":["2"]}`, `{"a":"1","b":"2","c":"3"}`, true},
		{"and: one key fails", `{"a":["1"],"b":["2"]}`, `{"a":"1","b":"3"}`, false},
		{"nested", `{"detail":{"state":["terminated"]}}`, `{"detail":{"state":"terminated","id":"i-1"}}`, true},
		{"nested at the wrong level", `{"detail":{"state":["terminated"]}}`, `{"state":"terminated"}`, false},
		{"nested against a scalar", `{"detail":{"state":["terminated"]}}`, `{"detail":"terminated"}`, false},
		{"not an object event", `{"a":["1"]}`, `["a"]`, false},
		{"invalid event JSON", `{"a":["1"]}`, `{"a":"1"`, false},
	})
}

func TestMatchArrays(t *testing.T) {
	t.Parallel()
	runMatch(t, []matchCase{
		{"event array: any element", `{"resources":["arn:b"]}`, `{"resources":["arn:a","arn:b"]}`, true},
		{"event array: no element", `{"resources":["arn:c"]}`, `{"resources":["arn:a","arn:b"]}`, false},
		{"intersection of arrays", `{"resources":["arn:x","arn:a"]}`, `{"resources":["arn:a","arn:b"]}`, true},
		{"nested arrays flatten", `{"v":[3]}`, `{"v":[[1,2],[3]]}`, true},
		{"objects in an array", `{"items":{"id":["b"]}}`, `{"items":[{"id":"a"},{"id":"b"}]}`, true},
		{"objects in an array: same element", `{"items":{"id":["a"],"n":[2]}}`, `{"items":[{"id":"a","n":1},{"id":"b","n":2}]}`, false},
		{"objects in an array: one element has both", `{"items":{"id":["b"],"n":[2]}}`, `{"items":[{"id":"a","n":1},{"id":"b","n":2}]}`, true},
		{"prefix on an array", `{"v":[{"prefix":"ab"}]}`, `{"v":["x","abc"]}`, true},
		{"numeric on an array", `{"v":[{"numeric":[">",10]}]}`, `{"v":[1,2,30]}`, true},
		{"anything-but on an array: one other value", `{"v":[{"anything-but":"a"}]}`, `{"v":["a","b"]}`, true},
		{"anything-but on an array: only excluded", `{"v":[{"anything-but":"a"}]}`, `{"v":["a","a"]}`, false},
	})
}

func TestMatchAffixes(t *testing.T) {
	t.Parallel()
	runMatch(t, []matchCase{
		{"prefix", `{"time":[{"prefix":"2017-10-02"}]}`, `{"time":"2017-10-02T18:43:48Z"}`, true},
		{"prefix fails", `{"time":[{"prefix":"2017-10-02"}]}`, `{"time":"2017-10-03T18:43:48Z"}`, false},
		{"prefix is case-sensitive", `{"r":[{"prefix":"us-"}]}`, `{"r":"US-east-1"}`, false},
		{"prefix only on strings", `{"n":[{"prefix":"1"}]}`, `{"n":123}`, false},
		{"empty prefix: any string", `{"s":[{"prefix":""}]}`, `{"s":"x"}`, true},
		{"prefix ignoring case", `{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}`, `{"service":"eventbridge"}`, true},
		{"prefix ignoring case fails", `{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}`, `{"service":"events"}`, false},
		{"suffix", `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"a.png"}`, true},
		{"suffix fails", `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"a.PNG"}`, false},
		{"suffix ignoring case", `{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}`, `{"FileName":"a.PNG"}`, true},
		{"equals-ignore-case", `{"Name":[{"equals-ignore-case":"alice"}]}`, `{"Name":"ALICE"}`, true},
		{"equals-ignore-case is whole", `{"Name":[{"equals-ignore-case":"alice"}]}`, `{"Name":"alicea"}`, false},
		{"equals-ignore-case only on strings", `{"Name":[{"equals-ignore-case":"true"}]}`, `{"Name":true}`, false},
	})
}

func TestMatchAnythingBut(t *testing.T) {
	t.Parallel()
	runMatch(t, []matchCase{
		{"string", `{"state":[{"anything-but":"initializing"}]}`, `{"state":"running"}`, true},
		{"string excluded", `{"state":[{"anything-but":"initializing"}]}`, `{"state":"initializing"}`, false},
		{"absent does not match", `{"state":[{"anything-but":"initializing"}]}`, `{}`, false},
		{"another type matches", `{"state":[{"anything-but":"1"}]}`, `{"state":1}`, true},
		{"number", `{"x":[{"anything-but":123}]}`, `{"x":124}`, true},
		{"number excluded", `{"x":[{"anything-but":123}]}`, `{"x":1.23e2}`, false},
		{"string list", `{"state":[{"anything-but":["stopped","overloaded"]}]}`, `{"state":"running"}`, true},
		{"string list excluded", `{"state":[{"anything-but":["stopped","overloaded"]}]}`, `{"state":"stopped"}`, false},
		{"number list excluded", `{"x":[{"anything-but":[100,200]}]}`, `{"x":200}`, false},
		{"prefix", `{"Region":[{"anything-but":{"prefix":"us-"}}]}`, `{"Region":"eu-west-1"}`, true},
		{"prefix excluded", `{"Region":[{"anything-but":{"prefix":"us-"}}]}`, `{"Region":"us-east-1"}`, false},
		{"prefix: strings only", `{"Region":[{"anything-but":{"prefix":"us-"}}]}`, `{"Region":5}`, false},
		{"suffix", `{"FileName":[{"anything-but":{"suffix":".png"}}]}`, `{"FileName":"a.jpg"}`, true},
		{"suffix excluded", `{"FileName":[{"anything-but":{"suffix":".png"}}]}`, `{"FileName":"a.png"}`, false},
		{"ignore case", `{"state":[{"anything-but":{"equals-ignore-case":"initializing"}}]}`, `{"state":"INITIALIZING"}`, false},
		{"ignore case list", `{"state":[{"anything-but":{"equals-ignore-case":["a","b"]}}]}`, `{"state":"C"}`, true},
		{"wildcard", `{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"FilePath":"/usr/bin/ls"}`, true},
		{"wildcard excluded", `{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"FilePath":"/usr/lib/x.so"}`, false},
		{"wildcard list", `{"f":[{"anything-but":{"wildcard":["*.png","*.jpg"]}}]}`, `{"f":"a.jpg"}`, false},
	})
}

func TestMatchNumeric(t *testing.T) {
	t.Parallel()
	runMatch(t, []matchCase{
		{"equals", `{"n":[{"numeric":["=",301.5]}]}`, `{"n":3.015e2}`, true},
		{"equals fails", `{"n":[{"numeric":["=",301.5]}]}`, `{"n":301.6}`, false},
		{"greater", `{"n":[{"numeric":[">",0]}]}`, `{"n":0.000001}`, true},
		{"greater is strict", `{"n":[{"numeric":[">",0]}]}`, `{"n":0}`, false},
		{"at least", `{"n":[{"numeric":[">=",0]}]}`, `{"n":0}`, true},
		{"less", `{"n":[{"numeric":["<",10]}]}`, `{"n":-3}`, true},
		{"less is strict", `{"n":[{"numeric":["<",10]}]}`, `{"n":10}`, false},
		{"at most", `{"n":[{"numeric":["<=",10]}]}`, `{"n":10}`, true},
		{"range", `{"c":[{"numeric":[">",0,"<=",5]}]}`, `{"c":5}`, true},
		{"range low end", `{"c":[{"numeric":[">",0,"<=",5]}]}`, `{"c":0}`, false},
		{"range written upper first", `{"c":[{"numeric":["<",5,">=",1]}]}`, `{"c":1}`, true},
		{"six decimal places", `{"n":[{"numeric":["=",0.1]}]}`, `{"n":0.1000001}`, true},
		{"the sixth place counts", `{"n":[{"numeric":["=",0.1]}]}`, `{"n":0.100001}`, false},
		{"limit included", `{"n":[{"numeric":[">=",5e9]}]}`, `{"n":5000000000}`, true},
		{"event beyond the limit", `{"n":[{"numeric":[">",0]}]}`, `{"n":5000000001}`, false},
		{"strings are not numbers", `{"n":[{"numeric":[">",0]}]}`, `{"n":"5"}`, false},
		{"absent", `{"n":[{"numeric":[">",0]}]}`, `{}`, false},
	})
}

func TestMatchExistsWildcardCIDR(t *testing.T) {
	t.Parallel()
	runMatch(t, []matchCase{
		{"exists", `{"c":[{"exists":true}]}`, `{"c":"x"}`, true},
		{"exists: null is a value", `{"c":[{"exists":true}]}`, `{"c":null}`, true},
		{"exists: absent", `{"c":[{"exists":true}]}`, `{}`, false},
		{"exists: objects are not leaves", `{"c":[{"exists":true}]}`, `{"c":{"d":1}}`, false},
		{"exists: empty array", `{"c":[{"exists":true}]}`, `{"c":[]}`, false},
		{"does not exist", `{"c":[{"exists":false}]}`, `{}`, true},
		{"does not exist: present", `{"c":[{"exists":false}]}`, `{"c":"x"}`, false},
		{"does not exist: nested, parent absent", `{"detail":{"c":[{"exists":false}]}}`, `{}`, true},
		{"does not exist: nested, present", `{"detail":{"c":[{"exists":false}]}}`, `{"detail":{"c":1}}`, false},
		{"absent or a value", `{"c":[{"exists":false},"x"]}`, `{"c":"x"}`, true},
		{"wildcard", `{"EventBusArn":[{"wildcard":"arn:aws:events:us-east-1:*:event-bus/*"}]}`,
			`{"EventBusArn":"arn:aws:events:us-east-1:123456789012:event-bus/default"}`, true},
		{"wildcard fails", `{"EventBusArn":[{"wildcard":"arn:aws:events:us-east-1:*:event-bus/*"}]}`,
			`{"EventBusArn":"arn:aws:events:us-west-2:123456789012:event-bus/default"}`, false},
		{"wildcard: empty run", `{"f":[{"wildcard":"a*b"}]}`, `{"f":"ab"}`, true},
		{"wildcard: anchored", `{"f":[{"wildcard":"a*b"}]}`, `{"f":"abc"}`, false},
		{"wildcard: parts may not overlap", `{"f":[{"wildcard":"ab*ba"}]}`, `{"f":"aba"}`, false},
		{"wildcard: repeated parts", `{"f":[{"wildcard":"*a*a*"}]}`, `{"f":"xaya"}`, true},
		{"wildcard: escaped star is literal", `{"f":[{"wildcard":"a\\*b"}]}`, `{"f":"a*b"}`, true},
		{"wildcard: escaped star matches only a star", `{"f":[{"wildcard":"a\\*b"}]}`, `{"f":"axb"}`, false},
		{"wildcard: escaped backslash", `{"f":[{"wildcard":"a\\\\*"}]}`, `{"f":"a\\bc"}`, true},
		{"wildcard: no star is equality", `{"f":[{"wildcard":"abc"}]}`, `{"f":"abc"}`, true},
		{"cidr IPv4", `{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}`, `{"sourceIPAddress":"10.0.0.255"}`, true},
		{"cidr IPv4 outside", `{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}`, `{"sourceIPAddress":"10.0.1.0"}`, false},
		{"cidr host bits ignored", `{"ip":[{"cidr":"10.0.0.7/24"}]}`, `{"ip":"10.0.0.1"}`, true},
		{"cidr IPv4-mapped IPv6 value", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"::ffff:10.1.2.3"}`, true},
		{"cidr IPv6", `{"ip":[{"cidr":"2001:db8::/32"}]}`, `{"ip":"2001:db8:1::5"}`, true},
		{"cidr IPv6 outside", `{"ip":[{"cidr":"2001:db8::/32"}]}`, `{"ip":"2001:db9::1"}`, false},
		{"cidr: not an address", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"host.example"}`, false},
	})
}

func TestMatchOr(t *testing.T) {
	t.Parallel()
	const either = `{"$or":[{"c":[1]},{"d":[2]}]}`
	const withAnd = `{"source":["s"],"$or":[{"c":[1]},{"detail":{"d":[{"numeric":[">",5]}]}}]}`
	runMatch(t, []matchCase{
		{"first alternative", either, `{"c":1}`, true},
		{"second alternative", either, `{"d":2}`, true},
		{"neither", either, `{"c":2,"d":1}`, false},
		{"and with or", withAnd, `{"source":"s","detail":{"d":6}}`, true},
		{"and fails", withAnd, `{"source":"t","c":1}`, false},
		{"or fails", withAnd, `{"source":"s","c":2,"detail":{"d":5}}`, false},
		{"nested $or", `{"detail":{"$or":[{"a":["x"]},{"b":["y"]}]}}`, `{"detail":{"b":"y"}}`, true},
		{"$or inside $or", `{"$or":[{"a":["x"]},{"$or":[{"b":["y"]},{"c":["z"]}]}]}`, `{"c":"z"}`, true},
		{"$or as a field name", `{"$or":["x"]}`, `{"$or":"x"}`, true},
	})
}
