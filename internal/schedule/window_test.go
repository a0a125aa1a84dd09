package schedule

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func TestWindowValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		mode    string
		max     int
		wantMax time.Duration
		wantErr string
	}{
		{mode: "OFF"},
		{mode: "OFF", max: 30}, // ignored when OFF
		{mode: "FLEXIBLE", max: 1, wantMax: time.Minute},
		{mode: "FLEXIBLE", max: 1440, wantMax: 24 * time.Hour},
		{mode: "FLEXIBLE", wantErr: "MaximumWindowInMinutes must be 1-1440 when Mode is FLEXIBLE."},
		{mode: "FLEXIBLE", max: 1441, wantErr: "MaximumWindowInMinutes must be 1-1440 when Mode is FLEXIBLE."},
		{mode: "flexible", max: 10, wantErr: "Mode must be OFF or FLEXIBLE."},
	}
	for _, c := range cases {
		w, err := Window(c.mode, c.max)
		if c.wantErr != "" {
			var e *Error
			if !errors.As(err, &e) || err.Error() != c.wantErr {
				t.Errorf("Window(%q, %d) = %v, want %s", c.mode, c.max, err, c.wantErr)
			}
			continue
		}
		if err != nil || w.Max() != c.wantMax {
			t.Errorf("Window(%q, %d) = %v, %v; want max %v", c.mode, c.max, w.Max(), err, c.wantMax)
		}
	}
}

func TestWindowInvocationTime(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	if got := (FlexibleWindow{}).InvocationTime(at, nil); !got.Equal(at) {
		t.Errorf("OFF: %v, want %v", got, at)
	}
	w, err := Window(ModeFlexible, 15)
	if err != nil {
		t.Fatal(err)
	}
	draw := func(seed uint64) []time.Time {
		r := rand.New(rand.NewPCG(seed, 7))
		var out []time.Time
		for i := 0; i < 200; i++ {
			out = append(out, w.InvocationTime(at, r))
		}
		return out
	}
	a, b := draw(1), draw(1)
	spread := map[time.Time]bool{}
	for i := range a {
		if !a[i].Equal(b[i]) {
			t.Fatalf("draw %d differs with the same seed: %v vs %v", i, a[i], b[i])
		}
		if a[i].Before(at) || !a[i].Before(at.Add(15*time.Minute)) || a[i].Nanosecond() != 0 {
			t.Fatalf("draw %d = %v, outside [t, t+15m) or not whole seconds", i, a[i])
		}
		spread[a[i]] = true
	}
	if len(spread) < 100 { // 200 draws over 900 seconds: far fewer distinct values means no spread
		t.Errorf("only %d distinct invocation times in 200 draws", len(spread))
	}
}

func TestBounds(t *testing.T) {
	t.Parallel()
	daily, _ := Parse("cron(0 10 * * ? *)", "")
	hourly, _ := Parse("rate(1 hour)", "")
	once, _ := Parse("at(2024-01-10T00:00:00)", "")
	start := mustTime(t, "2024-01-03T10:00:00Z")
	end := mustTime(t, "2024-01-05T10:00:00Z")
	cases := []struct {
		name   string
		b      Bounds
		e      Expression
		after  string
		want   string // "" for none
		wantOK bool
	}{
		{"cron: start is inclusive", Bounds{Start: start}, daily, "2024-01-01T00:00:00Z", "2024-01-03T10:00:00Z", true},
		{"cron: after start, bounds do nothing", Bounds{Start: start}, daily, "2024-01-03T10:00:00Z", "2024-01-04T10:00:00Z", true},
		{"cron: end is exclusive", Bounds{Start: start, End: end}, daily, "2024-01-04T10:00:00Z", "", false},
		{"cron: before end", Bounds{End: end}, daily, "2024-01-03T11:00:00Z", "2024-01-04T10:00:00Z", true},
		{"rate: anchored at start", Bounds{Start: mustTime(t, "2024-01-01T00:30:00Z")}, hourly, "2023-12-01T00:00:00Z", "2024-01-01T00:30:00Z", true},
		{"rate: grid from start", Bounds{Start: mustTime(t, "2024-01-01T00:30:00Z")}, hourly, "2024-01-01T00:40:00Z", "2024-01-01T01:30:00Z", true},
		{"rate: explicit anchor wins", Bounds{Start: mustTime(t, "2024-01-01T00:30:00Z")},
			hourly.WithAnchor(mustTime(t, "2023-01-01T00:00:00Z")), "2023-12-01T00:00:00Z", "2024-01-01T01:00:00Z", true},
		{"at: ignores start and end", Bounds{Start: end, End: end.Add(time.Hour)}, once, "2024-01-01T00:00:00Z", "2024-01-10T00:00:00Z", true},
	}
	for _, c := range cases {
		got, ok := c.b.Next(c.e, mustTime(t, c.after))
		if ok != c.wantOK || (ok && got.UTC().Format(time.RFC3339) != c.want) {
			t.Errorf("%s: got %v, %v; want %s, %v", c.name, got, ok, c.want, c.wantOK)
		}
	}
	if err := (Bounds{Start: end, End: start}).Validate(); err == nil || err.Error() !=
		"EndDate must be after StartDate." {
		t.Errorf("Validate(end before start) = %v", err)
	}
	if err := (Bounds{Start: start, End: end}).Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
}
