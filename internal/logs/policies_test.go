package logs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestResourcePolicies: an account's resource policies are kept per account, a failed update
// changes nothing, and a resource-scoped policy lives exactly as long as its log group — also a
// group made by a job's first output, whose directory changes as streams come.
func TestResourcePolicies(t *testing.T) {
	s, clk := newTestStore(t)
	names := func(account string) []string {
		t.Helper()
		ps, err := s.ResourcePolicies(account)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, p.Name)
		}
		return out
	}
	add := func(account string, p ResourcePolicy) error {
		return s.UpdateResourcePolicies(account, func(ps []ResourcePolicy) ([]ResourcePolicy, error) { return append(ps, p), nil })
	}
	if got := names(acct); len(got) != 0 {
		t.Fatalf("a new account's policies: %q", got)
	}
	if err := add(acct, ResourcePolicy{Name: "a", Document: "{}"}); err != nil {
		t.Fatal(err)
	}
	if err := add("999999999999@eu-west-1", ResourcePolicy{Name: "other", Document: "{}"}); err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	if err := s.UpdateResourcePolicies(acct, func([]ResourcePolicy) ([]ResourcePolicy, error) { return nil, refused }); !errors.Is(err, refused) {
		t.Errorf("a failed update: %v", err)
	}
	if err := add(acct, ResourcePolicy{Name: "on-missing", Group: "missing"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("a policy on a group that does not exist: %v", err)
	}

	if err := s.CreateGroup(acct, GroupInfo{Name: "made"}); err != nil {
		t.Fatal(err)
	}
	writeStream(t, s, clk, "implicit", "s1", 1, func(int) int64 { return 2000 }, func(int) string { return "x" })
	for _, g := range []string{"made", "implicit"} {
		if err := add(acct, ResourcePolicy{Name: "on-" + g, Group: g, Revision: NewRevision()}); err != nil {
			t.Fatal(err)
		}
	}
	writeStream(t, s, clk, "implicit", "s2", 1, func(int) int64 { return 3000 }, func(int) string { return "y" })
	long := time.Unix(1, 0) // as if the directory had changed: its time must not matter any more
	if err := os.Chtimes(filepath.Join(s.dir, groupPath(acct, "implicit")), long, long); err != nil {
		t.Fatal(err)
	}
	if got := names(acct); !slices.Equal(got, []string{"a", "on-made", "on-implicit"}) {
		t.Errorf("policies: %q", got)
	}
	if got := names("999999999999@eu-west-1"); !slices.Equal(got, []string{"other"}) {
		t.Errorf("another scope's policies: %q", got)
	}

	// Deleting a group drops its policy; a group of the same name made later has none.
	if err := s.DeleteGroup(acct, "made"); err != nil {
		t.Fatal(err)
	}
	clk.set(5000)
	if err := s.CreateGroup(acct, GroupInfo{Name: "made"}); err != nil {
		t.Fatal(err)
	}
	if got := names(acct); !slices.Equal(got, []string{"a", "on-implicit"}) {
		t.Errorf("policies after the group was deleted and made again: %q", got)
	}
}
