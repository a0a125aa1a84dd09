// Package eventfilter is the pure logic of AWS event patterns, the one syntax shared by Lambda
// event source mapping FilterCriteria and EventBridge rules: it validates a JSON pattern
// (Compile) and tells whether an event matches it (Pattern.Match). It owns no state and no I/O;
// the caller (the future triggers service) stores patterns, reads queues and answers the API.
//
// Semantics, following the EventBridge and Lambda guides:
//   - Every key of a pattern must match (AND); the values in a key's array are alternatives
//     (OR); "$or" takes two or more sub-patterns of which one must match.
//   - A pattern key holds either a nested object (matched against the event's object at that
//     key) or an array of match values: exact strings, numbers (compared as numbers: 300 matches
//     3.0e2), true, false, null, and operator objects: prefix, suffix (each also as
//     {"equals-ignore-case": s}), equals-ignore-case, wildcard, anything-but (a value, a list,
//     or {prefix}, {suffix}, {equals-ignore-case}, {wildcard}), numeric, exists and cidr.
//   - Where the event holds an array, the pattern matches if any element does; an array of
//     objects matches a nested pattern if one element matches it whole (keys are not combined
//     across elements).
//   - exists looks at leaf values only: a key holding an object, or an empty array, does not
//     "exist" (AWS: exists works on leaf nodes only).
//   - numeric covers -5.0e9 to 5.0e9 with six decimal places, compared exactly in millionths;
//     pattern bounds outside that range are rejected, and event values outside it never match.
//   - Filters (CompileCriteria): a record passes if any filter matches; no filters pass all.
//   - SQS (MatchSQSRecord): the record's body is matched as JSON when it is valid JSON and as a
//     plain string otherwise, so a pattern on body fields cannot match a plain-text body and a
//     plain-string pattern on body cannot match a JSON body, as Lambda's table says.
//
// Limits are constants the caller applies: MaxPatternLength (enforced by Compile),
// DefaultEventBridgePatternLength, DefaultMaxFilters and MaxFiltersQuota (Lambda filters per
// mapping), MaxComplexity (enforced by Compile).
//
// Where it differs from AWS (or AWS is silent):
//   - One dialect for both services: Lambda accepts fewer operators than EventBridge (no
//     wildcard, cidr or anything-but on prefix/suffix/wildcard per its guide); barge accepts them
//     everywhere.
//   - Errors are *Error naming the offending key; AWS answers only "Invalid filter pattern
//     definition." (Lambda) or a short reason (EventBridge).
//   - MaxComplexity is barge's own measure (the wildcard characters in the pattern); AWS's
//     "too complex" check is an undocumented automaton size.
//   - A plain anything-but ("anything-but": "x" or [1, 2]) matches any leaf value not listed,
//     including values of another type, null and booleans; anything-but with prefix, suffix,
//     equals-ignore-case or wildcard matches strings only. prefix, suffix, wildcard and cidr
//     match strings only.
//   - Duplicate keys in a pattern are rejected; "$or" whose value is not an array of objects is
//     an ordinary key named "$or".
//   - exists:false inside an array of objects is judged per element.
//   - AWS's guide says SQS mappings filter on the body key only; MatchSQSRecord lets a pattern
//     name any key of the record (attributes, messageAttributes...) as well.
package eventfilter
