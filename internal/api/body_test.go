package api

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

func TestReadChunked(t *testing.T) {
	for _, tc := range []struct {
		name      string
		n         int
		announced bool
	}{
		{"empty", 0, true},
		{"small", 100, true},
		{"one chunk", bodyChunk, true},
		{"one chunk and a byte", bodyChunk + 1, true},
		{"several chunks", 3*bodyChunk + bodyChunk/2, true},
		{"small, length unknown", 100, false},
		{"several chunks, length unknown", 2*bodyChunk + 7, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := make([]byte, tc.n)
			for i := range want {
				want[i] = byte(rand.IntN(256))
			}
			size := int64(-1)
			if tc.announced {
				size = int64(tc.n)
			}
			// A reader that returns half of what is asked each time: chunks must still be filled whole.
			got, err := readChunked(iotest.HalfReader(bytes.NewReader(want)), size)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("read %d of %d bytes (equal %v), err %v", len(got), tc.n, bytes.Equal(got, want), err)
			}
		})
	}
}
