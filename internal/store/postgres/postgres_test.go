package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/barge-run/barge/internal/store"
	"github.com/barge-run/barge/internal/store/postgres"
	"github.com/barge-run/barge/internal/store/postgres/pgtest"
	"github.com/barge-run/barge/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the store conformance suite against PostgreSQL, a fresh database each.
func TestConformance(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) store.Store { return open(t, pgtest.DSN(t)) })
}

// TestSharedDatabase runs the several-servers suite with two connections pools on one database,
// as two barge servers would have.
func TestSharedDatabase(t *testing.T) {
	storetest.ExerciseShared(t, func(t *testing.T) (store.Store, store.Store) {
		dsn := pgtest.DSN(t)
		return open(t, dsn), open(t, dsn)
	})
}

// TestMigrationsRaced: servers starting together on an empty database apply each migration once.
func TestMigrationsRaced(t *testing.T) {
	dsn := pgtest.DSN(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
