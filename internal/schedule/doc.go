// Package schedule is the pure logic of AWS schedule expressions, shared by EventBridge Scheduler
// schedules and EventBridge rules: it parses rate(), cron() and at() expressions in a time zone
// and computes their fire times. It owns no state, no clock and no I/O; the caller (the future
// triggers service) stores schedules, keeps the clock and invokes targets.
//
// What it owns:
//   - Parse: the three expression forms, validated with AWS's limits (cron's six fields and
//     their wildcards , - * / ? L W #, JAN-DEC and SUN-SAT names, day-of-week 1-7 with 1 =
//     Sunday, years 1970-2199; rate values with a singular unit only for 1). ForRule restricts
//     it to what EventBridge rules accept (cron and rate, UTC only).
//   - Expression.Next: the next fire time strictly after an instant. Rate schedules run on a grid
//     anchored at a caller-supplied instant (WithAnchor: creation time or StartDate).
//   - Bounds: StartDate and EndDate, which one-time schedules ignore as AWS does.
//   - FlexibleWindow: where in [t, t+MaximumWindowInMinutes) an invocation lands, drawn from a
//     random source the caller injects so tests and simulations are deterministic.
//
// Time zones and daylight saving, as the EventBridge Scheduler guide documents: cron fields are
// wall-clock times in the schedule's IANA zone (embedded with time/tzdata, so no system zoneinfo
// is needed). A wall time skipped by a spring-forward transition does not fire; a wall time
// repeated by a fall-back transition fires once, at its first occurrence. A rate is an elapsed
// duration (a day is 24 hours), so DST never moves it.
//
// Where it differs from AWS (or AWS is silent):
//   - Error messages: "Invalid Schedule Expression <expr>" (Scheduler) and "Parameter
//     ScheduleExpression is not valid." (rules), as AWS answers; Error.Error adds the field and
//     the reason, which AWS does not give. The time zone message is barge's wording.
//   - cron accepts Quartz forms AWS's table does not list but Quartz-style parsers take: */n,
//     wrap-around ranges such as FRI-MON or 22-2, LW (last weekday of the month) and names in
//     lower case. It rejects / in day-of-week, as the table says, and L-n offsets.
//   - nW for a day the month does not have (31W in April) does not fire that month.
//   - at() naming a wall time skipped by a spring-forward still runs once, at that time read
//     with the offset before the jump (02:30 EST, i.e. 03:30 EDT); AWS does not document it.
//   - Invocations are computed to the second, not AWS's "within the minute" delivery.
//   - EndDate is exclusive, StartDate inclusive.
package schedule
