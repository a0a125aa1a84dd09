package schedule

import (
	"strconv"
	"strings"
)

// bits is a set of small non-negative integers (up to 255): minutes, hours, days, months,
// weekdays, and years as offsets from MinYear.
type bits [4]uint64

func (b *bits) set(i int)     { b[i>>6] |= 1 << (i & 63) }
func (b bits) has(i int) bool { return i >= 0 && i < 256 && b[i>>6]&(1<<(i&63)) != 0 }

// cronSpec is a parsed cron(): one set per plain field, and the day fields' special forms.
type cronSpec struct {
	minutes, hours, months, years bits // years: offsets from MinYear
	dom                           domSpec
	dow                           dowSpec
}

// domSpec is day-of-month: a set of days, or one of the forms L, LW, nW; or "?" (any).
type domSpec struct {
	any         bool
	days        bits
	last        bool // L: the last day of the month
	lastWeekday bool // LW: the last Monday-Friday of the month
	nearest     int  // nW: the weekday nearest day n, within the month; 0 = unused
}

// dowSpec is day-of-week (1 = Sunday): a set of weekdays, nL (the month's last such weekday)
// or n#k (its k-th); or "?" (any).
type dowSpec struct {
	any     bool
	days    bits
	lastOf  int // nL: weekday n; 0 = unused
	nth     int // n#k: weekday n...
	nthWeek int // ...in week k (1-5)
}

// field describes one numeric cron field: its name for errors, its range and its names.
type field struct {
	name     string
	min, max int
	names    []string // names[i] is value min+i; nil if the field has none
	step     bool     // whether "/" is allowed
	wrap     bool     // whether a range may wrap (FRI-MON); years do not
}

var (
	fMinutes = field{name: "minutes", min: 0, max: 59, step: true, wrap: true}
	fHours   = field{name: "hours", min: 0, max: 23, step: true, wrap: true}
	fDOM     = field{name: "day-of-month", min: 1, max: 31, step: true, wrap: true}
	fMonth   = field{name: "month", min: 1, max: 12, step: true, wrap: true,
		names: []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}}
	fDOW = field{name: "day-of-week", min: 1, max: 7, wrap: true,
		names: []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}}
	fYear = field{name: "year", min: MinYear, max: MaxYear, step: true}
)

// parseCron reads the six whitespace-separated fields.
func parseCron(body string) (*cronSpec, error) {
	f := strings.Fields(body)
	if len(f) != 6 {
		return nil, fieldErr("cron", "want 6 fields (minutes hours day-of-month month day-of-week year), got %d", len(f))
	}
	c := &cronSpec{}
	var err error
	if c.minutes, err = fMinutes.parseList(f[0], 0); err != nil {
		return nil, err
	}
	if c.hours, err = fHours.parseList(f[1], 0); err != nil {
		return nil, err
	}
	if c.months, err = fMonth.parseList(f[3], 0); err != nil {
		return nil, err
	}
	if c.years, err = fYear.parseList(f[5], MinYear); err != nil {
		return nil, err
	}
	if c.dom, err = parseDOM(f[2]); err != nil {
		return nil, err
	}
	if c.dow, err = parseDOW(f[4]); err != nil {
		return nil, err
	}
	// AWS: exactly one of the two day fields is "?"; a value or * in one needs ? in the other.
	if c.dom.any == c.dow.any {
		return nil, fieldErr("day-of-month", "exactly one of day-of-month and day-of-week must be ?")
	}
	return c, nil
}

// parseList reads a comma-separated list of *, v, a-b, */n, v/n and a-b/n into a set, each
// value stored minus offset.
func (fd field) parseList(s string, offset int) (bits, error) {
	var b bits
	for _, item := range strings.Split(s, ",") {
		if err := fd.parseItem(item, offset, &b); err != nil {
			return bits{}, err
		}
	}
	return b, nil
}

func (fd field) parseItem(item string, offset int, b *bits) error {
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		if !fd.step {
			return fieldErr(fd.name, "%q: / is not allowed in %s", item, fd.name)
		}
		n, err := strconv.Atoi(stepText)
		if err != nil || n < 1 || strings.TrimLeft(stepText, "0123456789") != "" {
			return fieldErr(fd.name, "%q: the increment must be a positive integer", item)
		}
		step = n
	}
	lo, hi := fd.min, fd.max
	switch a, z, isRange := strings.Cut(rng, "-"); {
	case rng == "*":
	case isRange:
		var err error
		if lo, err = fd.value(a); err != nil {
			return err
		}
		if hi, err = fd.value(z); err != nil {
			return err
		}
		if lo > hi && !fd.wrap {
			return fieldErr(fd.name, "%q: the range runs backwards", item)
		}
	default:
		v, err := fd.value(rng)
		if err != nil {
			return err
		}
		lo = v
		if !hasStep { // a bare value; "v/n" runs from v to the end of the field
			hi = v
		}
	}
	span := fd.max - fd.min + 1
	for i := 0; ; i += step {
		v := lo + i
		if lo > hi { // a wrapping range: count through the end of the field and around
			if i > hi+span-lo {
				break
			}
			v = fd.min + (lo-fd.min+i)%span
		} else if v > hi {
			break
		}
		b.set(v - offset)
	}
	return nil
}

// value reads one number or (for month and day-of-week) name, checked against the range.
func (fd field) value(s string) (int, error) {
	for i, n := range fd.names {
		if strings.EqualFold(s, n) {
			return fd.min + i, nil
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fieldErr(fd.name, "%q is not a valid value", s)
	}
	if v < fd.min || v > fd.max {
		return 0, fieldErr(fd.name, "%d is out of range %d-%d", v, fd.min, fd.max)
	}
	return v, nil
}

// parseDOM reads day-of-month: ?, L, LW, nW, or a list.
func parseDOM(s string) (domSpec, error) {
	u := strings.ToUpper(s)
	switch {
	case s == "?":
		return domSpec{any: true}, nil
	case u == "L":
		return domSpec{last: true}, nil
	case u == "LW":
		return domSpec{lastWeekday: true}, nil
	case strings.HasSuffix(u, "W"):
		v, err := fDOM.value(u[:len(u)-1])
		if err != nil {
			return domSpec{}, fieldErr(fDOM.name, "%q: W takes a single day, e.g. 15W", s)
		}
		return domSpec{nearest: v}, nil
	case strings.ContainsAny(u, "LW#"):
		return domSpec{}, fieldErr(fDOM.name, "%q: L and W stand alone (L, LW, nW) and # is for day-of-week", s)
	}
	days, err := fDOM.parseList(s, 0)
	return domSpec{days: days}, err
}

// parseDOW reads day-of-week: ?, L (Saturday, the last day of the week), nL, n#k, or a list.
func parseDOW(s string) (dowSpec, error) {
	u := strings.ToUpper(s)
	switch {
	case s == "?":
		return dowSpec{any: true}, nil
	case u == "L":
		var d dowSpec
		d.days.set(7)
		return d, nil
	case strings.Contains(u, "#"):
		day, week, _ := strings.Cut(u, "#")
		n, err := fDOW.value(day)
		if err != nil {
			return dowSpec{}, fieldErr(fDOW.name, "%q: # takes one weekday and one week, e.g. 3#2", s)
		}
		k, err := strconv.Atoi(week)
		if err != nil || k < 1 || k > 5 || len(week) != 1 {
			return dowSpec{}, fieldErr(fDOW.name, "%q: the week after # must be 1-5", s)
		}
		return dowSpec{nth: n, nthWeek: k}, nil
	case strings.HasSuffix(u, "L"):
		n, err := fDOW.value(u[:len(u)-1])
		if err != nil {
			return dowSpec{}, fieldErr(fDOW.name, "%q: L takes a single weekday, e.g. 6L", s)
		}
		return dowSpec{lastOf: n}, nil
	}
	// A misplaced L (5L,6) fails here as an invalid value; the check cannot be on letters
	// alone, since names such as WED hold them.
	days, err := fDOW.parseList(s, 0)
	return dowSpec{days: days}, err
}
