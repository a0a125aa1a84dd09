package asl

import "testing"

func TestJSONPath(t *testing.T) {
	t.Parallel()
	doc, _ := decodeJSON([]byte(`{"store":{"book":[{"title":"A","price":8,"tags":["x"]},{"title":"B","price":12},{"title":"C","price":20,"isbn":"1"}],"bike":{"price":5}},"a.b":1,"arr":[0,1,2,3,4]}`))
	vars := map[string]any{"v": map[string]any{"k": []any{"z"}}}
	env := pathEnv{input: doc, context: map[string]any{"State": map[string]any{"Name": "S"}},
		vars: func(n string) (any, bool) { v, ok := vars[n]; return v, ok }}
	tests := []struct{ path, want string }{
		{`$`, mustJSON(doc)},
		{`$.store.book[0].title`, `"A"`},
		{`$['store']['bike'].price`, `5`},
		{`$['a.b']`, `1`},
		{`$.store.book[-1].title`, `"C"`},
		{`$.store.book[*].title`, `["A","B","C"]`},
		{`$.store.book[0,2].price`, `[8,20]`},
		{`$.arr[1:3]`, `[1,2]`},
		{`$.arr[::2]`, `[0,2,4]`},
		{`$..price`, `[5,8,12,20]`},
		{`$.store.book[?(@.price > 10)].title`, `["B","C"]`},
		{`$.store.book[?(@.price < 10 || @.title == 'C')].title`, `["A","C"]`},
		{`$.store.book[?(@.isbn)].title`, `["C"]`},
		{`$.store.book[?(!(@.price >= 12) && @.tags)].title`, `["A"]`},
		{`$.store.book[?(@.title =~ /^[AB]$/)].price`, `[8,12]`},
		{`$.arr.length()`, `5`},
		{`$$.State.Name`, `"S"`},
		{`$v.k[0]`, `"z"`},
		{`$.store.book[?(@.price > 100)]`, `[]`},
	}
	for _, tc := range tests {
		p, err := compileAnyPath(tc.path)
		if err != nil {
			t.Errorf("compile %s: %v", tc.path, err)
			continue
		}
		got, err := p.eval(env)
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		jsonEq(t, mustJSON(got), tc.want)
	}
	for _, missing := range []string{`$.nope`, `$.store.book[7]`, `$undefined`} {
		p, _ := compileAnyPath(missing)
		if _, err := p.eval(env); err == nil {
			t.Errorf("%s found something", missing)
		}
	}
	for _, bad := range []string{`store`, `$.`, `$[`, `$.a[?(@.x ==)]`, `$..`} {
		if _, err := compileAnyPath(bad); err == nil {
			t.Errorf("%s compiled", bad)
		}
	}
}

func TestResultPathMerge(t *testing.T) {
	t.Parallel()
	in := map[string]any{"a": map[string]any{"keep": 1.0}, "s": "str", "l": []any{map[string]any{}}}
	tests := []struct{ path, want string }{
		{`$.r`, `{"a":{"keep":1},"s":"str","l":[{}],"r":"R"}`},
		{`$.a.b.c`, `{"a":{"keep":1,"b":{"c":"R"}},"s":"str","l":[{}]}`},
		{`$['a']['x']`, `{"a":{"keep":1,"x":"R"},"s":"str","l":[{}]}`},
		{`$.l[0].y`, `{"a":{"keep":1},"s":"str","l":[{"y":"R"}]}`},
	}
	for _, tc := range tests {
		out, err := setRefPath(in, tc.path, "R")
		if err != nil {
			t.Errorf("%s: %v", tc.path, err)
			continue
		}
		jsonEq(t, mustJSON(out), tc.want)
	}
	if mustJSON(in) != `{"a":{"keep":1},"l":[{}],"s":"str"}` {
		t.Errorf("input was modified: %s", mustJSON(in))
	}
	if _, err := setRefPath(in, "$.s.x", 1.0); err == nil {
		t.Error("set under a string succeeded")
	}
}
