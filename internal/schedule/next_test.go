package schedule

import (
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// fires lists the next n fire times after from, in the expression's zone ("none" once over).
func fires(t *testing.T, e Expression, from time.Time, n int) string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		next, ok := e.Next(from)
		if !ok {
			out = append(out, "none")
			break
		}
		out = append(out, next.In(e.Location()).Format(time.RFC3339))
		from = next
	}
	return strings.Join(out, " ")
}

type cronCase struct {
	name, expr, tz, from string
	want                 []string
}

// The DST and L/W/# expectations were computed independently by walking every UTC minute with
// Python's zoneinfo (skipping second occurrences, fold=1) against hand-written predicates.
var cronCalendarCases = []cronCase{
	{"daily in UTC", "cron(0 10 * * ? *)", "", "2024-01-30T10:00:00Z",
		[]string{"2024-01-31T10:00:00Z", "2024-02-01T10:00:00Z", "2024-02-02T10:00:00Z"}},
	{"strictly after", "cron(0 8 ? * MON-FRI *)", "", "2024-06-07T08:00:00Z",
		[]string{"2024-06-10T08:00:00Z", "2024-06-11T08:00:00Z", "2024-06-12T08:00:00Z", "2024-06-13T08:00:00Z"}},
	{"mid-minute after", "cron(* * * * ? *)", "", "2024-06-07T08:00:30Z",
		[]string{"2024-06-07T08:01:00Z", "2024-06-07T08:02:00Z"}},
	{"wrapping weekday range", "cron(0 8 ? * FRI-MON *)", "", "2024-06-05T00:00:00Z",
		[]string{"2024-06-07T08:00:00Z", "2024-06-08T08:00:00Z", "2024-06-09T08:00:00Z", "2024-06-10T08:00:00Z", "2024-06-14T08:00:00Z"}},
	{"wrapping hour range", "cron(30 22-1 * * ? *)", "", "2024-06-05T21:00:00Z",
		[]string{"2024-06-05T22:30:00Z", "2024-06-05T23:30:00Z", "2024-06-06T00:30:00Z", "2024-06-06T01:30:00Z", "2024-06-06T22:30:00Z"}},
	{"range with increment", "cron(0-15/5 8 * * ? *)", "", "2024-06-05T00:00:00Z",
		[]string{"2024-06-05T08:00:00Z", "2024-06-05T08:05:00Z", "2024-06-05T08:10:00Z", "2024-06-05T08:15:00Z", "2024-06-06T08:00:00Z"}},
	{"increment past the field", "cron(0/60 * * * ? *)", "", "2024-06-05T00:10:00Z",
		[]string{"2024-06-05T01:00:00Z", "2024-06-05T02:00:00Z"}},
	{"month names and increments", "cron(0 0 1 1/3 ? *)", "", "2024-01-01T00:00:00Z",
		[]string{"2024-04-01T00:00:00Z", "2024-07-01T00:00:00Z", "2024-10-01T00:00:00Z", "2025-01-01T00:00:00Z"}},
	{"day 31 skips short months", "cron(0 0 31 * ? *)", "", "2024-01-01T00:00:00Z",
		[]string{"2024-01-31T00:00:00Z", "2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z"}},
	{"L: last day of the month", "cron(0 23 L * ? *)", "", "2023-12-01T00:00:00Z",
		[]string{"2023-12-31T23:00:00Z", "2024-01-31T23:00:00Z", "2024-02-29T23:00:00Z", "2024-03-31T23:00:00Z"}},
	{"LW: last weekday of the month", "cron(0 0 LW * ? *)", "", "2024-01-01T00:00:00Z",
		[]string{"2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-29T00:00:00Z", "2024-04-30T00:00:00Z", "2024-05-31T00:00:00Z", "2024-06-28T00:00:00Z"}},
	{"15W: Saturday 15th moves to Friday", "cron(0 9 15W * ? *)", "", "2024-01-01T00:00:00Z",
		[]string{"2024-01-15T09:00:00Z", "2024-02-15T09:00:00Z", "2024-03-15T09:00:00Z", "2024-04-15T09:00:00Z", "2024-05-15T09:00:00Z", "2024-06-14T09:00:00Z"}},
	{"1W: Saturday the 1st moves to Monday the 3rd", "cron(0 9 1W * ? *)", "", "2024-01-01T00:00:00Z",
		[]string{"2024-01-01T09:00:00Z", "2024-02-01T09:00:00Z", "2024-03-01T09:00:00Z", "2024-04-01T09:00:00Z", "2024-05-01T09:00:00Z", "2024-06-03T09:00:00Z"}},
	{"31W: Sunday the last moves back to Friday, short months skipped", "cron(0 9 31W * ? *)", "", "2024-01-01T00:00:00Z",
		[]string{"2024-01-31T09:00:00Z", "2024-03-29T09:00:00Z", "2024-05-31T09:00:00Z", "2024-07-31T09:00:00Z"}},
	{"6L: last Friday", "cron(15 10 ? * 6L *)", "", "2024-01-01T00:00:00Z",
		[]string{"2024-01-26T10:15:00Z", "2024-02-23T10:15:00Z", "2024-03-29T10:15:00Z", "2024-04-26T10:15:00Z"}},
	{"6L within a year range, then over", "cron(15 10 ? * 6L 2022-2023)", "", "2023-10-01T00:00:00Z",
		[]string{"2023-10-27T10:15:00Z", "2023-11-24T10:15:00Z", "2023-12-29T10:15:00Z", "none"}},
	{"L in day-of-week: Saturday", "cron(0 12 ? * L *)", "", "2024-06-01T12:00:00Z",
		[]string{"2024-06-08T12:00:00Z", "2024-06-15T12:00:00Z"}},
	{"3#2: second Tuesday", "cron(0 12 ? * 3#2 *)", "", "2024-01-01T00:00:00Z",
		[]string{"2024-01-09T12:00:00Z", "2024-02-13T12:00:00Z", "2024-03-12T12:00:00Z", "2024-04-09T12:00:00Z"}},
	{"MON#5: only months with five Mondays", "cron(0 12 ? * MON#5 *)", "", "2024-01-01T00:00:00Z",
		[]string{"2024-01-29T12:00:00Z", "2024-04-29T12:00:00Z", "2024-07-29T12:00:00Z", "2024-09-30T12:00:00Z"}},
	{"29 February: leap years only", "cron(0 0 29 2 ? *)", "", "2024-03-01T00:00:00Z",
		[]string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z", "2036-02-29T00:00:00Z"}},
	{"29 February: 2100 is not a leap year", "cron(0 0 29 2 ? 2096-2104)", "", "2090-01-01T00:00:00Z",
		[]string{"2096-02-29T00:00:00Z", "2104-02-29T00:00:00Z", "none"}},
	{"30 February never fires", "cron(0 0 30 2 ? *)", "", "2024-01-01T00:00:00Z", []string{"none"}},
	{"year increments", "cron(0 0 1 JAN ? 2030/5)", "", "2024-06-01T00:00:00Z",
		[]string{"2030-01-01T00:00:00Z", "2035-01-01T00:00:00Z", "2040-01-01T00:00:00Z"}},
	{"first year", "cron(0 0 * * ? 1970)", "", "1969-12-31T23:00:00Z",
		[]string{"1970-01-01T00:00:00Z", "1970-01-02T00:00:00Z"}},
	{"last year, then none", "cron(0 0 1 1 ? 2199)", "", "2198-05-01T00:00:00Z",
		[]string{"2199-01-01T00:00:00Z", "none"}},
	{"past the last year", "cron(* * * * ? *)", "", "2199-12-31T23:59:00Z", []string{"none"}},
}

var cronDSTCases = []cronCase{
	{"New York: 10:00 follows the wall clock across spring-forward", "cron(0 10 * * ? *)", "America/New_York", "2024-03-08T00:00:00Z",
		[]string{"2024-03-08T10:00:00-05:00", "2024-03-09T10:00:00-05:00", "2024-03-10T10:00:00-04:00", "2024-03-11T10:00:00-04:00"}},
	{"New York: 02:30 skipped on spring-forward day", "cron(30 2 * * ? *)", "America/New_York", "2024-03-08T12:00:00Z",
		[]string{"2024-03-09T02:30:00-05:00", "2024-03-11T02:30:00-04:00", "2024-03-12T02:30:00-04:00"}},
	{"New York: repeated 01:30 runs once", "cron(30 1 * * ? *)", "America/New_York", "2024-11-02T12:00:00Z",
		[]string{"2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00", "2024-11-05T01:30:00-05:00"}},
	{"New York: after the first 01:30, the second is not a fire", "cron(30 1 * * ? *)", "America/New_York", "2024-11-03T05:45:00Z",
		[]string{"2024-11-04T01:30:00-05:00"}},
	{"London: every 20 minutes through fall-back", "cron(0/20 * * * ? *)", "Europe/London", "2024-10-27T00:00:00Z",
		[]string{"2024-10-27T01:20:00+01:00", "2024-10-27T01:40:00+01:00", "2024-10-27T02:00:00Z", "2024-10-27T02:20:00Z", "2024-10-27T02:40:00Z", "2024-10-27T03:00:00Z"}},
	{"London: every 30 minutes through spring-forward", "cron(*/30 * * * ? *)", "Europe/London", "2024-03-31T00:00:00Z",
		[]string{"2024-03-31T00:30:00Z", "2024-03-31T02:00:00+01:00", "2024-03-31T02:30:00+01:00", "2024-03-31T03:00:00+01:00"}},
	{"Sydney: 02:30 skipped on spring-forward day (October)", "cron(30 2 * * ? *)", "Australia/Sydney", "2024-10-04T00:00:00Z",
		[]string{"2024-10-05T02:30:00+10:00", "2024-10-07T02:30:00+11:00", "2024-10-08T02:30:00+11:00"}},
	{"Sydney: repeated 02:15 runs once (April)", "cron(15 2 * * ? *)", "Australia/Sydney", "2024-04-05T00:00:00Z",
		[]string{"2024-04-06T02:15:00+11:00", "2024-04-07T02:15:00+11:00", "2024-04-08T02:15:00+10:00"}},
	{"Sydney: hourly through fall-back", "cron(0 * * * ? *)", "Australia/Sydney", "2024-04-06T13:30:00Z",
		[]string{"2024-04-07T01:00:00+11:00", "2024-04-07T02:00:00+11:00", "2024-04-07T03:00:00+10:00", "2024-04-07T04:00:00+10:00"}},
}

func TestNextCron(t *testing.T) {
	t.Parallel()
	for _, c := range append(cronCalendarCases, cronDSTCases...) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(c.expr, c.tz)
			if err != nil {
				t.Fatal(err)
			}
			got := fires(t, e, mustTime(t, c.from), len(c.want))
			if want := strings.Join(c.want, " "); got != want {
				t.Errorf("%s from %s:\n got %s\nwant %s", c.expr, c.from, got, want)
			}
		})
	}
}

func TestNextRate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, expr, anchor, from string
		want                     []string
	}{
		{"grid from the anchor", "rate(5 minutes)", "2024-01-01T00:00:30Z", "2024-01-01T00:07:00Z",
			[]string{"2024-01-01T00:10:30Z", "2024-01-01T00:15:30Z", "2024-01-01T00:20:30Z"}},
		{"the anchor itself is the first fire", "rate(1 hour)", "2024-01-01T12:00:00Z", "2024-01-01T00:00:00Z",
			[]string{"2024-01-01T12:00:00Z", "2024-01-01T13:00:00Z"}},
		{"on a grid point, the next one", "rate(2 hours)", "2024-01-01T00:00:00Z", "2024-01-01T04:00:00Z",
			[]string{"2024-01-01T06:00:00Z"}},
		{"far from the anchor", "rate(7 days)", "2000-01-01T00:00:00Z", "2024-05-30T00:00:00Z",
			[]string{"2024-06-01T00:00:00Z", "2024-06-08T00:00:00Z"}}, // 2000-01-01 + 1274 weeks
		{"no anchor: one period after", "rate(15 minutes)", "", "2024-01-01T10:03:00Z",
			[]string{"2024-01-01T10:18:00Z", "2024-01-01T10:33:00Z"}},
		// A day is 24 hours: across New York's spring-forward the wall time moves (10:00 EST
		// is 15:00Z; 24 hours later is 11:00 EDT).
		{"days are 24 hours across DST", "rate(1 day)", "2024-03-09T15:00:00Z", "2024-03-09T15:00:00Z",
			[]string{"2024-03-10T15:00:00Z", "2024-03-11T15:00:00Z"}},
	}
	for _, c := range cases {
		e, err := Parse(c.expr, "America/New_York")
		if err != nil {
			t.Fatal(err)
		}
		if c.anchor != "" {
			e = e.WithAnchor(mustTime(t, c.anchor))
		}
		var got []string
		from := mustTime(t, c.from)
		for range c.want {
			next, ok := e.Next(from)
			if !ok {
				t.Fatalf("%s: no next", c.name)
			}
			got = append(got, next.UTC().Format(time.RFC3339))
			from = next
		}
		if g, w := strings.Join(got, " "), strings.Join(c.want, " "); g != w {
			t.Errorf("%s: got %s want %s", c.name, g, w)
		}
	}
}

func TestNextAt(t *testing.T) {
	t.Parallel()
	e, err := Parse("at(2024-05-01T10:00:00)", "Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	at := mustTime(t, "2024-05-01T09:00:00Z")
	cases := []struct {
		after time.Time
		ok    bool
	}{{at.Add(-time.Hour), true}, {at.Add(-time.Nanosecond), true}, {at, false}, {at.Add(time.Hour), false}}
	for _, c := range cases {
		got, ok := e.Next(c.after)
		if ok != c.ok || (ok && !got.Equal(at)) {
			t.Errorf("Next(%v) = %v, %v; want %v, %v", c.after, got, ok, at, c.ok)
		}
	}
}
