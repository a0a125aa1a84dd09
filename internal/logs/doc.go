// Package logs owns barge's log streams: the output of Batch jobs and Lambda
// invocations, stored durably on the local filesystem and read back with
// CloudWatch Logs semantics (GetLogEvents paging tokens, DescribeLogStreams
// ordering, Lambda's X-Amz-Log-Result tail).
//
// Each (account, log group, log stream) is one append-only file under the
// store's directory:
//
//	<dir>/<account>/<group>/<stream>.log
//
// Every path component is escaped so that a client-supplied name can never
// name anything outside dir: only [a-z0-9_-] are kept literally, every other
// byte (including '.', '/', NUL and upper-case letters, so that names that
// differ only in case do not collide on case-insensitive filesystems) becomes
// %XX, and a component whose escaped form would be too long for a file name
// becomes "~" followed by a hash of the name. All file access also goes
// through an [os.Root], so a mistake in escaping still cannot escape dir.
//
// The file is plain text, so operators can read it with ordinary tools. The
// first line is a header:
//
//	#barge-log v1 created=<ms> id=<hex> account=<esc> group=<esc> stream=<esc>
//
// and each following line is one event:
//
//	<timestamp ms>\t<ingestion time ms>\t<message>\n
//
// Messages never contain '\n' (the writer splits on it), so a line is a
// record and the record boundary is found by scanning for '\n' in either
// direction. That is what lets readers start at any byte offset a paging
// token names, read the newest events from the end of the file without
// touching the rest, and recognise a record torn by a crash (it has no
// terminating '\n'). The writer keeps timestamps non-decreasing within a
// stream, which lets start/end time filters binary-search the file.
//
// A stream with no events yet may have no file: a job's stream is reserved at its start (most
// short jobs print nothing) as its header line in the group's index of empty streams,
// <dir>/<account>/<group>/.empty-streams, and its first event makes the file with that header
// (empty.go).
package logs
