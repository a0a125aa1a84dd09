package logs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func insightsRecords() []Record {
	var out []Record
	for i := range 10 {
		msg := fmt.Sprintf(`{"level":"%s","status":%d,"user":{"id":"u%d"},"ms":%d}`,
			map[bool]string{true: "ERROR", false: "INFO"}[i%3 == 0], 200+100*(i%4), i%2, 10*i)
		if i == 9 {
			msg = "plain text line ERROR 42"
		}
		out = append(out, RecordOf("g", FilteredEvent{Event: Event{Timestamp: int64(1_000 + i), Message: msg}, Stream: fmt.Sprint("s", i%2)}))
	}
	return out
}

// rowsText renders rows as "f=v f=v; …" for comparison.
func rowsText(rows [][2][]string) string {
	var b strings.Builder
	for i, r := range rows {
		if i > 0 {
			b.WriteString("; ")
		}
		for j := range r[0] {
			if j > 0 {
				b.WriteString(" ")
			}
			b.WriteString(r[0][j] + "=" + r[1][j])
		}
	}
	return b.String()
}

func TestInsightsQueries(t *testing.T) {
	for _, c := range []struct{ query, want string }{
		{`fields @timestamp, level | filter level = "ERROR" | sort @timestamp asc`,
			"@timestamp=1970-01-01 00:00:01.000 level=ERROR; @timestamp=1970-01-01 00:00:01.003 level=ERROR; @timestamp=1970-01-01 00:00:01.006 level=ERROR"},
		{`fields status | filter status >= 400 and user.id = "u1" | sort status desc | limit 2`, "status=500; status=500"},
		{`filter @message like /ERROR \d+/ | fields @message`, "@message=plain text line ERROR 42"},
		{`filter @message like "text" or (level = "INFO" and ms > 70) | fields @logStream | sort @timestamp asc`, "@logStream=s0; @logStream=s1"},
		{`filter not ispresent(level) | fields @message`, "@message=plain text line ERROR 42"},
		{`filter level not like /INFO/ | stats count(*) as n`, "n=4"},
		{`stats count(*) as n, avg(ms) as avgms by level | sort n desc`, "level=INFO n=6 avgms=45; level=ERROR n=3 avgms=30; n=1"},
		{`stats sum(ms), min(status), max(status) by @logStream | sort @logStream asc`,
			"@logStream=s0 sum(ms)=200 min(status)=200 max(status)=400; @logStream=s1 sum(ms)=160 min(status)=300 max(status)=500"},
	} {
		t.Run(c.query, func(t *testing.T) {
			q, err := ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			if got := rowsText(q.Run(insightsRecords(), 1000)); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestInsightsMalformed(t *testing.T) {
	for _, q := range []string{
		`parse @message "x"`, `filter level =`, `filter (level = "a"`, `filter level like notaregex`,
		`filter level ~ 3`, `sort a b c`, `limit 0`, `limit 20000`, `stats median(ms)`, `stats count() by (x`,
		`filter @message like /[/`, `filter "unclosed`,
	} {
		if _, err := ParseQuery(q); !errors.Is(err, ErrQuery) {
			t.Errorf("%q: %v, want ErrQuery", q, err)
		}
	}
}
