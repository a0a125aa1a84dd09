package schedule

import "time"

// clock is a wall-clock minute in the schedule's zone. Cron is searched in these fields rather
// than in instants so that a day always has hours 0-23, whatever DST does to it; resolve then
// maps a wall time to the instant it names.
type clock struct{ y, mo, d, h, mi int }

func daysIn(y, mo int) int { return time.Date(y, time.Month(mo)+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// weekday is AWS's day-of-week number: 1 = Sunday ... 7 = Saturday.
func weekday(y, mo, d int) int {
	return int(time.Date(y, time.Month(mo), d, 0, 0, 0, 0, time.UTC).Weekday()) + 1
}

func (c *clock) nextMonth() {
	c.mo, c.d, c.h, c.mi = c.mo+1, 1, 0, 0
	if c.mo > 12 {
		c.y, c.mo = c.y+1, 1
	}
}

func (c *clock) nextDay() {
	c.d, c.h, c.mi = c.d+1, 0, 0
	if c.d > daysIn(c.y, c.mo) {
		c.nextMonth()
	}
}

func (c *clock) nextHour() {
	c.h, c.mi = c.h+1, 0
	if c.h > 23 {
		c.nextDay()
	}
}

func (c *clock) nextMinute() {
	c.mi++
	if c.mi > 59 {
		c.nextHour()
	}
}

// next walks wall-clock minutes from after's, skipping whole years, months, days and hours that
// cannot match, and returns the first matching wall time whose instant is after after.
func (c *cronSpec) next(after time.Time, loc *time.Location) (time.Time, bool) {
	a := after.In(loc)
	w := clock{a.Year(), int(a.Month()), a.Day(), a.Hour(), a.Minute()}
	if w.y < MinYear {
		w = clock{MinYear, 1, 1, 0, 0}
	}
	days, daysFor := uint32(0), clock{} // the day mask of the month daysFor names
	for w.y <= MaxYear {
		switch {
		case !c.years.has(w.y - MinYear):
			w = clock{w.y + 1, 1, 1, 0, 0}
		case !c.months.has(w.mo):
			w.nextMonth()
		default:
			if daysFor.y != w.y || daysFor.mo != w.mo {
				days, daysFor = c.days(w.y, w.mo), w
			}
			switch {
			case days&(1<<w.d) == 0:
				w.nextDay()
			case !c.hours.has(w.h):
				w.nextHour()
			case !c.minutes.has(w.mi):
				w.nextMinute()
			default:
				if t, ok := resolve(w, loc); ok && t.After(after) {
					return t, true
				}
				w.nextMinute()
			}
		}
	}
	return time.Time{}, false
}

// days returns the days of month mo of year y that the day fields select, as bit d for day d.
func (c *cronSpec) days(y, mo int) uint32 {
	n := daysIn(y, mo)
	var m uint32
	if !c.dom.any {
		return c.dom.mask(y, mo, n)
	}
	d := c.dow
	switch {
	case d.lastOf != 0:
		for day := n; day > n-7; day-- {
			if weekday(y, mo, day) == d.lastOf {
				return 1 << day
			}
		}
	case d.nth != 0:
		first := 1 + (d.nth-weekday(y, mo, 1)+7)%7
		if day := first + 7*(d.nthWeek-1); day <= n {
			return 1 << day
		}
	default:
		for day := 1; day <= n; day++ {
			if d.days.has(weekday(y, mo, day)) {
				m |= 1 << day
			}
		}
	}
	return m
}

// mask is the day-of-month field's days in a month of n days.
func (d domSpec) mask(y, mo, n int) uint32 {
	switch {
	case d.last:
		return 1 << n
	case d.lastWeekday:
		return 1 << nearestWeekday(y, mo, n, n)
	case d.nearest != 0:
		if d.nearest > n {
			return 0
		}
		return 1 << nearestWeekday(y, mo, d.nearest, n)
	}
	var m uint32
	for day := 1; day <= n; day++ {
		if d.days.has(day) {
			m |= 1 << day
		}
	}
	return m
}

// nearestWeekday is the Monday-Friday closest to day, not leaving the month: a Saturday moves
// to Friday (or to Monday the 3rd when day is the 1st), a Sunday to Monday (or to Friday when
// day is the month's last).
func nearestWeekday(y, mo, day, n int) int {
	switch weekday(y, mo, day) {
	case 7: // Saturday
		if day == 1 {
			return 3
		}
		return day - 1
	case 1: // Sunday
		if day == n {
			return day - 2
		}
		return day + 1
	}
	return day
}

// resolve maps a wall time in loc to its instant. A time skipped by a spring-forward has none
// (false); a time a fall-back repeats maps to its first occurrence, so it fires once. The zone
// offsets tried are those in force a day and a half either side, which covers any transition.
func resolve(w clock, loc *time.Location) (time.Time, bool) {
	u := time.Date(w.y, time.Month(w.mo), w.d, w.h, w.mi, 0, 0, time.UTC)
	var best time.Time
	found := false
	for _, probe := range [...]time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := u.Add(probe).In(loc).Zone()
		t := u.Add(-time.Duration(off) * time.Second)
		l := t.In(loc)
		if l.Year() != w.y || int(l.Month()) != w.mo || l.Day() != w.d || l.Hour() != w.h || l.Minute() != w.mi {
			continue
		}
		if !found || t.Before(best) {
			best, found = t, true
		}
	}
	return best, found
}
