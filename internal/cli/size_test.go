package cli

import (
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want int64
		err  string // a part of the error, "" when the size is valid
	}{
		{in: "1", want: 1},
		{in: "1048576", want: 1 << 20},
		{in: "512B", want: 512},
		{in: "4KiB", want: 4 << 10},
		{in: "64MiB", want: 64 << 20},
		{in: "512MiB", want: 512 << 20},
		{in: "20GiB", want: 20 << 30},
		{in: "1TiB", want: 1 << 40},
		{in: " 20 GiB ", want: 20 << 30},
		{in: "8388607TiB", want: 8388607 << 40},
		{in: "0", err: "must be positive"},
		{in: "0GiB", err: "must be positive"},
		{in: "-1", err: "must be positive"},
		{in: "-20GiB", err: "must be positive"},
		{in: "8388608TiB", err: "too large"},
		{in: "99999999999999999999", err: "too large"},
		{in: "-99999999999999999999", err: "must be positive"},
		{in: "", err: "not a size"},
		{in: "GiB", err: "not a size"},
		{in: "20G", err: "not a size"},
		{in: "20GB", err: "not a size"},
		{in: "20gib", err: "not a size"},
		{in: "1.5GiB", err: "not a size"},
		{in: "+5MiB", err: "not a size"},
		{in: "0x10", err: "not a size"},
		{in: "lots", err: "not a size"},
	} {
		got, err := parseSize(c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("parseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("parseSize(%q) = %d, %v; want an error with %q", c.in, got, err, c.err)
		}
	}
}

func TestSizeFlagString(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   int64
		want string
	}{{20 << 30, "20GiB"}, {1 << 40, "1TiB"}, {1536 << 20, "1536MiB"}, {1000, "1000B"}, {0, "0"}} {
		f := sizeFlag(c.in)
		if got := f.String(); got != c.want {
			t.Errorf("sizeFlag(%d) = %q, want %q", c.in, got, c.want)
		}
		if c.in > 0 {
			var back sizeFlag
			if err := back.Set(c.want); err != nil || back != f {
				t.Errorf("Set(%q) = %d, %v; want %d", c.want, back, err, c.in)
			}
		}
	}
}
