package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		expr, tz string
		kind     Kind
		rule     bool
	}{
		// The examples in AWS's guides.
		{expr: "cron(0 10 * * ? *)", kind: KindCron},
		{expr: "cron(15 12 * * ? *)", kind: KindCron, rule: true},
		{expr: "cron(0 18 ? * MON-FRI *)", kind: KindCron},
		{expr: "cron(0 8 1 * ? *)", kind: KindCron},
		{expr: "cron(0/15 * * * ? *)", kind: KindCron},
		{expr: "cron(0/10 * ? * MON-FRI *)", kind: KindCron},
		{expr: "cron(0/5 8-17 ? * MON-FRI *)", kind: KindCron},
		{expr: "cron(0 9 ? * 2#1 *)", kind: KindCron},
		{expr: "cron(15 10 ? * 6L 2022-2023)", kind: KindCron},
		{expr: "cron(0 0 3W * ? *)", kind: KindCron},
		{expr: "cron(0 0 L * ? *)", kind: KindCron},
		{expr: "cron(0-15/1 8-8 ? * 2,3,4,5,6,7 *)", kind: KindCron},
		{expr: "cron(1-31/30 1-1 ? * 1,7 *)", kind: KindCron},
		{expr: "cron(0/60 * * * ? *)", kind: KindCron},
		{expr: "cron(0 8 ? * mon-fri *)", kind: KindCron},
		{expr: "cron(0 22-2 * * ? *)", kind: KindCron},
		{expr: "cron(0 0 1 JAN,jul ? 2030/5)", kind: KindCron},
		{expr: "cron(0 12 ? * L *)", kind: KindCron},
		{expr: "cron(0 12 ? * FRI#3 *)", kind: KindCron},
		{expr: "cron(0   12  * *  ? *)", kind: KindCron},
		{expr: "rate(1 minute)", kind: KindRate, rule: true},
		{expr: "rate(5 minutes)", kind: KindRate},
		{expr: "rate(1 hour)", kind: KindRate},
		{expr: "rate(12 hours)", kind: KindRate},
		{expr: "rate(1 day)", kind: KindRate},
		{expr: "rate(7 days)", kind: KindRate},
		{expr: "at(2022-11-20T13:00:00)", kind: KindAt},
		{expr: "at(2030-02-28T23:59:59)", tz: "Australia/Sydney", kind: KindAt},
		{expr: "cron(0 10 * * ? *)", tz: "UTC", kind: KindCron, rule: true},
		{expr: "cron(0 10 * * ? *)", tz: "Europe/London", kind: KindCron},
	}
	for _, c := range cases {
		var opts []Option
		if c.rule {
			opts = append(opts, ForRule())
		}
		e, err := Parse(c.expr, c.tz, opts...)
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", c.expr, c.tz, err)
			continue
		}
		if e.Kind() != c.kind || e.String() != c.expr {
			t.Errorf("Parse(%q): kind %v text %q", c.expr, e.Kind(), e.String())
		}
		if c.tz != "" && e.Location().String() != c.tz {
			t.Errorf("Parse(%q, %q): location %v", c.expr, c.tz, e.Location())
		}
	}
}

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	const scheduler = "Invalid Schedule Expression "
	cases := []struct {
		expr, tz string
		rule     bool
		want     string // Error(); Message() is its text before the first ": "
	}{
		{expr: "", want: scheduler + ": want rate(value unit), cron(fields) or at(yyyy-mm-ddThh:mm:ss)"},
		{expr: "Rate(5 minutes)", want: scheduler + "Rate(5 minutes): want rate(value unit), cron(fields) or at(yyyy-mm-ddThh:mm:ss)"},
		{expr: "rate(5 minutes", want: scheduler + "rate(5 minutes: want rate(value unit), cron(fields) or at(yyyy-mm-ddThh:mm:ss)"},
		{expr: "rate(5)", want: scheduler + "rate(5): rate: want rate(value unit), e.g. rate(5 minutes)"},
		{expr: "rate(5 minute)", want: scheduler + "rate(5 minute): unit: use the singular unit for a value of 1 and the plural otherwise"},
		{expr: "rate(1 minutes)", want: scheduler + "rate(1 minutes): unit: use the singular unit for a value of 1 and the plural otherwise"},
		{expr: "rate(0 minutes)", want: scheduler + `rate(0 minutes): value: "0" is not a positive integer`},
		{expr: "rate(-5 minutes)", want: scheduler + `rate(-5 minutes): value: "-5" is not a positive integer`},
		{expr: "rate(+5 minutes)", want: scheduler + `rate(+5 minutes): value: "+5" is not a positive integer`},
		{expr: "rate(1.5 hours)", want: scheduler + `rate(1.5 hours): value: "1.5" is not a positive integer`},
		{expr: "rate(5 weeks)", want: scheduler + `rate(5 weeks): unit: "weeks" is not minute(s), hour(s) or day(s)`},
		{expr: "rate(999999999999 days)", want: scheduler + "rate(999999999999 days): value: 999999999999 days is too long a period"},
		{expr: "cron(0 10 * * ?)", want: scheduler + "cron(0 10 * * ?): cron: want 6 fields (minutes hours day-of-month month day-of-week year), got 5"},
		{expr: "cron(0 10 * * * *)", want: scheduler + "cron(0 10 * * * *): day-of-month: exactly one of day-of-month and day-of-week must be ?"},
		{expr: "cron(0 10 ? * ? *)", want: scheduler + "cron(0 10 ? * ? *): day-of-month: exactly one of day-of-month and day-of-week must be ?"},
		{expr: "cron(0 10 1 * 2 *)", want: scheduler + "cron(0 10 1 * 2 *): day-of-month: exactly one of day-of-month and day-of-week must be ?"},
		{expr: "cron(60 * * * ? *)", want: scheduler + "cron(60 * * * ? *): minutes: 60 is out of range 0-59"},
		{expr: "cron(0 24 * * ? *)", want: scheduler + "cron(0 24 * * ? *): hours: 24 is out of range 0-23"},
		{expr: "cron(0 0 32 * ? *)", want: scheduler + "cron(0 0 32 * ? *): day-of-month: 32 is out of range 1-31"},
		{expr: "cron(0 0 0 * ? *)", want: scheduler + "cron(0 0 0 * ? *): day-of-month: 0 is out of range 1-31"},
		{expr: "cron(0 0 1 13 ? *)", want: scheduler + "cron(0 0 1 13 ? *): month: 13 is out of range 1-12"},
		{expr: "cron(0 0 1 JANUARY ? *)", want: scheduler + `cron(0 0 1 JANUARY ? *): month: "JANUARY" is not a valid value`},
		{expr: "cron(0 0 ? * 8 *)", want: scheduler + "cron(0 0 ? * 8 *): day-of-week: 8 is out of range 1-7"},
		{expr: "cron(0 0 ? * 0 *)", want: scheduler + "cron(0 0 ? * 0 *): day-of-week: 0 is out of range 1-7"},
		{expr: "cron(0 0 ? * FOO *)", want: scheduler + `cron(0 0 ? * FOO *): day-of-week: "FOO" is not a valid value`},
		{expr: "cron(0 0 1 * ? 1969)", want: scheduler + "cron(0 0 1 * ? 1969): year: 1969 is out of range 1970-2199"},
		{expr: "cron(0 0 1 * ? 2200)", want: scheduler + "cron(0 0 1 * ? 2200): year: 2200 is out of range 1970-2199"},
		{expr: "cron(0 0 1 * ? 2030-2025)", want: scheduler + `cron(0 0 1 * ? 2030-2025): year: "2030-2025": the range runs backwards`},
		{expr: "cron(0/0 * * * ? *)", want: scheduler + `cron(0/0 * * * ? *): minutes: "0/0": the increment must be a positive integer`},
		{expr: "cron(1,,2 * * * ? *)", want: scheduler + `cron(1,,2 * * * ? *): minutes: "" is not a valid value`},
		{expr: "cron(? * * * ? *)", want: scheduler + `cron(? * * * ? *): minutes: "?" is not a valid value`},
		{expr: "cron(0 0 ? * 2/2 *)", want: scheduler + `cron(0 0 ? * 2/2 *): day-of-week: "2/2": / is not allowed in day-of-week`},
		{expr: "cron(0 0 ? * 3#6 *)", want: scheduler + `cron(0 0 ? * 3#6 *): day-of-week: "3#6": the week after # must be 1-5`},
		{expr: "cron(0 0 ? * 3#1,6#3 *)", want: scheduler + `cron(0 0 ? * 3#1,6#3 *): day-of-week: "3#1,6#3": the week after # must be 1-5`},
		{expr: "cron(0 0 ? * 9#1 *)", want: scheduler + `cron(0 0 ? * 9#1 *): day-of-week: "9#1": # takes one weekday and one week, e.g. 3#2`},
		{expr: "cron(0 0 ? * 5L,6 *)", want: scheduler + `cron(0 0 ? * 5L,6 *): day-of-week: "5L" is not a valid value`},
		{expr: "cron(0 0 L-2 * ? *)", want: scheduler + `cron(0 0 L-2 * ? *): day-of-month: "L-2": L and W stand alone (L, LW, nW) and # is for day-of-week`},
		{expr: "cron(0 0 1,15W * ? *)", want: scheduler + `cron(0 0 1,15W * ? *): day-of-month: "1,15W": W takes a single day, e.g. 15W`},
		{expr: "at(2024-05-01 10:00:00)", want: scheduler + `at(2024-05-01 10:00:00): at: "2024-05-01 10:00:00" is not yyyy-mm-ddThh:mm:ss`},
		{expr: "at(2024-02-30T00:00:00)", want: scheduler + `at(2024-02-30T00:00:00): at: "2024-02-30T00:00:00" is not yyyy-mm-ddThh:mm:ss`},
		{expr: "at(2024-05-01T10:00)", want: scheduler + `at(2024-05-01T10:00): at: "2024-05-01T10:00" is not yyyy-mm-ddThh:mm:ss`},
		{expr: "rate(" + strings.Repeat("1", 260) + " minutes)", want: scheduler + "rate(" + strings.Repeat("1", 260) + " minutes): longer than 256 characters"},
		{expr: "cron(0 10 * * ? *)", tz: "Mars/Olympus_Mons", want: "Invalid ScheduleExpressionTimezone Mars/Olympus_Mons: timezone: unknown IANA time zone"},
		{expr: "cron(0 10 * * ? *)", tz: "Local", want: "Invalid ScheduleExpressionTimezone Local: timezone: not an IANA time zone name"},
		{expr: "cron(0 10 * * ? *)", tz: "/etc/localtime", want: "Invalid ScheduleExpressionTimezone /etc/localtime: timezone: not an IANA time zone name"},
		// EventBridge rules: the rules API's message, no at(), no time zone.
		{expr: "at(2024-05-01T10:00:00)", rule: true, want: "Parameter ScheduleExpression is not valid.: at() is for EventBridge Scheduler only; rules take cron() or rate()"},
		{expr: "cron(7 20 * * 1-7 *)", rule: true, want: "Parameter ScheduleExpression is not valid.: day-of-month: exactly one of day-of-month and day-of-week must be ?"},
		{expr: "cron(0 10 * * ? *)", tz: "America/New_York", rule: true, want: "Invalid ScheduleExpressionTimezone America/New_York: timezone: EventBridge rules are evaluated in UTC only"},
	}
	for _, c := range cases {
		var opts []Option
		if c.rule {
			opts = append(opts, ForRule())
		}
		_, err := Parse(c.expr, c.tz, opts...)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q, %q) = %v, want *Error", c.expr, c.tz, err)
			continue
		}
		if err.Error() != c.want {
			t.Errorf("Parse(%q, %q):\n got %s\nwant %s", c.expr, c.tz, err, c.want)
		}
		if !strings.HasPrefix(c.want, e.Message()+": ") {
			t.Errorf("Parse(%q): Message() = %q", c.expr, e.Message())
		}
	}
}

func TestParseAtZones(t *testing.T) {
	t.Parallel()
	cases := []struct{ expr, tz, want string }{
		{"at(2024-05-01T10:00:00)", "", "2024-05-01T10:00:00Z"},
		{"at(2024-05-01T10:00:00)", "America/New_York", "2024-05-01T14:00:00Z"},
		{"at(2024-07-01T09:30:15)", "Australia/Sydney", "2024-06-30T23:30:15Z"},
		// A repeated wall time is its first occurrence (EDT), as for cron.
		{"at(2024-11-03T01:30:00)", "America/New_York", "2024-11-03T05:30:00Z"},
		// A skipped wall time still runs once, read with the offset before the jump: 02:30
		// EST, which the clock shows as 03:30 EDT.
		{"at(2024-03-10T02:30:00)", "America/New_York", "2024-03-10T07:30:00Z"},
	}
	for _, c := range cases {
		e, err := Parse(c.expr, c.tz)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.At().UTC().Format(time.RFC3339); got != c.want {
			t.Errorf("%s in %q = %s, want %s", c.expr, c.tz, got, c.want)
		}
	}
}

// FuzzParse checks that no input panics Parse or Next and that fire times only move forward.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"cron(0 10 * * ? *)", "cron(15 10 ? * 6L 2022-2023)", "cron(0 0 LW * ? *)",
		"cron(0/5 22-2 ? * FRI-MON *)", "cron(0 12 ? * 3#5 2199)", "rate(5 minutes)", "at(2024-05-01T10:00:00)"} {
		f.Add(s, "America/New_York")
	}
	f.Fuzz(func(t *testing.T, expr, tz string) {
		e, err := Parse(expr, tz)
		if err != nil {
			return
		}
		after := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 3; i++ {
			next, ok := e.Next(after)
			if !ok {
				return
			}
			if !next.After(after) {
				t.Fatalf("%s: Next(%v) = %v, not after", expr, after, next)
			}
			after = next
		}
	})
}
