package server

import (
	"log/slog"
	"time"

	"github.com/barge-run/barge/internal/logs"
)

// logExpiryEvery is how often log streams past their group's retention are deleted (CloudWatch
// deletes expired events within days; reads hide them at once).
const logExpiryEvery = 10 * time.Minute

// expireLogs deletes expired log streams now and every logExpiryEvery until stop closes.
func expireLogs(ls *logs.Store, log *slog.Logger, stop <-chan struct{}) {
	t := time.NewTicker(logExpiryEvery)
	defer t.Stop()
	for {
		if n, err := ls.Expire(); err != nil {
			log.Warn("expiring log streams", "err", err)
		} else if n > 0 {
			log.Info("expired log streams past their retention", "streams", n)
		}
		select {
		case <-t.C:
		case <-stop:
			return
		}
	}
}
