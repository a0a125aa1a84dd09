// Command gen writes docs/compatibility.md: the output of compat.Render. It is run by go generate
// from internal/compat (see generate.go there):
//
//	go generate ./internal/compat
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/barge-run/barge/internal/compat"
)

func main() {
	out := flag.String("out", "", "markdown file to write")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	var buf bytes.Buffer
	if err := compat.Render(&buf); err != nil {
		fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fatal(err)
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}
