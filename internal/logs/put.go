package logs

import (
	"errors"
	"fmt"
	"io/fs"
)

// InputEvent is one event PutLogEvents stores: its own timestamp (ms) and message.
type InputEvent struct {
	Timestamp int64
	Message   string
}

// PutResult says which events of a Put were not stored, with AWS's indexes: TooOldEnd is the
// index of the last event rejected as too old (-1: none), TooNewStart of the first rejected as
// too new (-1: none).
type PutResult struct {
	TooOldEnd, TooNewStart int
}

// Put appends events, sorted by timestamp, to an existing stream with their own timestamps.
// Events before oldest, or before the stream's newest event (a stream's events are kept in time
// order, which its reads rely on), are rejected as too old; events after newest as too new.
func (s *Store) Put(account, group, stream string, events []InputEvent, oldest, newest int64) (PutResult, error) {
	res := PutResult{TooOldEnd: -1, TooNewStart: -1}
	var reserved *header
	if _, err := s.root.Stat(streamPath(account, group, stream)); errors.Is(err, fs.ErrNotExist) {
		hdr, err := s.withoutFile(account, group, stream)
		if err != nil {
			return res, err
		}
		reserved = &hdr // its first events make it a file
	}
	w, err := s.createWith(account, group, stream, reserved)
	if err != nil {
		return res, err
	}
	defer w.Close()
	st := w.st
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.f == nil {
		return res, fs.ErrClosed
	}
	now := s.now().UnixMilli()
	var buf []byte
	last := st.lastTS
	for i, e := range events {
		switch {
		case e.Timestamp < oldest || e.Timestamp < st.lastTS:
			res.TooOldEnd = i
			continue
		case e.Timestamp > newest:
			res.TooNewStart = i
		}
		if res.TooNewStart >= 0 {
			break
		}
		buf = appendRecord(buf, e.Timestamp, now, []byte(e.Message))
		last = e.Timestamp
	}
	if len(buf) == 0 {
		return res, nil
	}
	if err := st.write(buf); err != nil {
		return res, fmt.Errorf("logs: put log events into %q: %w", stream, err)
	}
	st.lastTS = last
	s.notify(&st.hdr, func() []Event {
		var stored []Event
		for i, e := range events {
			if i > res.TooOldEnd && (res.TooNewStart < 0 || i < res.TooNewStart) && e.Timestamp >= oldest {
				stored = append(stored, Event{Timestamp: e.Timestamp, IngestionTime: now, Message: e.Message})
			}
		}
		return stored
	})
	return res, nil
}
