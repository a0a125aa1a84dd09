package sfn

import (
	"encoding/base64"
	"strconv"
)

// pageSize reads maxResults: 0 or absent is AWS's default of 100, at most 1000.
func pageSize(max *int32) (int, error) {
	if max == nil || *max == 0 {
		return 100, nil
	}
	if *max < 0 || *max > 1000 {
		return 0, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", *max)
	}
	return int(*max), nil
}

// encodeToken makes an opaque nextToken of a cursor.
func encodeToken(cursor string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursor))
}

func decodeToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", apiErr("InvalidToken", "Invalid Token: '%s'", token)
	}
	return string(b), nil
}

// versionNumber reads a version qualifier (a positive decimal number).
func versionNumber(q string) (int, bool) {
	n, err := strconv.Atoi(q)
	if err != nil || n <= 0 || strconv.Itoa(n) != q {
		return 0, false
	}
	return n, true
}
