//go:build !linux

package cli

import "io"

// terminalWidth treats every output as a file or pipe where barge cannot ask the terminal
// (a line per change).
func terminalWidth(w io.Writer) (int, bool) { return 0, false }
