package events

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/barge-run/barge/internal/awserr"
	ew "github.com/barge-run/barge/internal/awstypes/events"
)

func awsLimit() error {
	return awserr.New(http.StatusBadRequest, "LimitExceededException", "The requested resource exceeds the maximum number allowed.")
}

// inputOf is what a target receives: its constant Input, the part of the event its InputPath
// selects ($.a.b, dotted keys), or the whole event.
func inputOf(t ew.Target, event []byte) (string, error) {
	switch {
	case t.Input != "":
		return t.Input, nil
	case t.InputPath == "" || t.InputPath == "$":
		return string(event), nil
	}
	path, ok := strings.CutPrefix(t.InputPath, "$.")
	if !ok {
		return "", fmt.Errorf("InputPath %q is not a $.key path", t.InputPath)
	}
	var v any
	if err := json.Unmarshal(event, &v); err != nil {
		return "", err
	}
	for _, key := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "", fmt.Errorf("InputPath %q selects nothing", t.InputPath)
		}
		v = m[key]
	}
	b, err := json.Marshal(v)
	return string(b), err
}
