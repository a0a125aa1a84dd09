package cli

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// sizeUnits are the suffixes parseSize takes, largest first so that "KiB" is not read as "B".
var sizeUnits = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}

// parseSize reads a positive size in bytes: a plain number of bytes ("1048576") or a whole number
// with a binary unit ("64MiB", "512MiB", "20GiB", "1TiB"; also "KiB" and "B").
func parseSize(s string) (int64, error) {
	num, shift := strings.TrimSpace(s), uint(0)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, shift = strings.TrimSpace(n), u.shift
			break
		}
	}
	// Out of range, ParseInt answers MaxInt64 or MinInt64 and ErrRange.
	n, err := strconv.ParseInt(num, 10, 64)
	tooLarge := errors.Is(err, strconv.ErrRange)
	switch {
	case err != nil && !tooLarge || strings.HasPrefix(num, "+"):
		return 0, fmt.Errorf("%q is not a size: give bytes or a whole number of KiB, MiB, GiB or TiB, such as 20GiB", s)
	case n <= 0:
		return 0, fmt.Errorf("%q: the size must be positive", s)
	case tooLarge || n > math.MaxInt64>>shift:
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n << shift, nil
}

// sizeFlag is a flag.Value holding a size in bytes, parsed by parseSize.
type sizeFlag int64

func (f *sizeFlag) String() string {
	b := int64(*f)
	for _, u := range sizeUnits {
		if b != 0 && b%(1<<u.shift) == 0 {
			return strconv.FormatInt(b>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(b, 10)
}

func (f *sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*f = sizeFlag(n)
	return nil
}
