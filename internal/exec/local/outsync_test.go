package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bexec "github.com/barge-run/barge/internal/exec"
)

// chunks is a reader handing out its pieces one Read at a time.
type chunks [][]byte

func (c *chunks) Read(p []byte) (int, error) {
	if len(*c) == 0 {
		return 0, os.ErrClosed
	}
	n := copy(p, (*c)[0])
	(*c)[0] = (*c)[0][n:]
	if len((*c)[0]) == 0 {
		*c = (*c)[1:]
	}
	return n, nil
}

func TestMarksCutOut(t *testing.T) {
	m1, m2 := []byte("\x00barge-mark-1\x00"), []byte("\x00barge-mark-2\x00")
	for _, tc := range []struct {
		name   string
		pieces []string
		want   string
	}{
		{"whole", []string{"ab" + string(m1) + "cd" + string(m2) + "ef"}, "abcdef"},
		{"split marks", []string{"ab\x00bar", "ge-mark-1\x00c", "d\x00", "barge-mark-2", "\x00ef"}, "abcdef"},
		{"output like a mark's start", []string{"ab\x00barge-x", "\x00barge-mark-1\x00cd" + string(m2), "ef"}, "ab\x00barge-xcdef"},
		{"byte by byte", strings.Split("ab"+string(m1)+"cd"+string(m2)+"ef", ""), "abcdef"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := &outputPipe{}
			var passed [2]chan struct{}
			for i, tok := range [][]byte{m1, m2} {
				passed[i] = make(chan struct{})
				op.marks = append(op.marks, &outputMark{token: tok, passed: passed[i]})
			}
			var r chunks
			for _, p := range tc.pieces {
				r = append(r, []byte(p))
			}
			var out bytes.Buffer
			op.copy(&out, &r)
			if out.String() != tc.want {
				t.Errorf("delivered %q", out.String())
			}
			for i, ch := range passed {
				select {
				case <-ch:
				default:
					t.Errorf("mark %d not passed", i+1)
				}
			}
		})
	}
}

// TestSyncOutput: once a process has printed and said so by another channel (a file), SyncOutput
// returns only after everything it printed has reached its writer.
func TestSyncOutput(t *testing.T) {
	dir := t.TempDir()
	var out syncBuf
	p, err := New().Start(context.Background(), bexec.Spec{
		Command: []string{"sh", "-c", `i=0; while [ $i -lt 3000 ]; do echo "line $i"; i=$((i+1)); done; echo ok > said; exec sleep 30`},
		Env:     os.Environ(), Dir: dir, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Wait()
	defer p.Signal(9)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "said")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the process never finished printing")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.(bexec.OutputSyncer).SyncOutput(ctx); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.HasSuffix(got, "line 2999\n") || strings.Contains(got, "barge-mark") {
		t.Fatalf("after SyncOutput the writer holds %d bytes ending %q", len(got), got[max(0, len(got)-40):])
	}
}
