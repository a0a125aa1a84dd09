package server

import (
	"os"
	"path/filepath"
	"strings"
)

// RegionFile is where a server records its default region in its data directory, so that
// barge's client commands on the same directory act in it unless told otherwise.
const RegionFile = "region"

// DefaultRegion is the region of a server started without --region on a new data directory.
const DefaultRegion = "us-east-1"

// RecordedRegion is the region the server on dataDir last ran with, or DefaultRegion.
func RecordedRegion(dataDir string) string {
	if b, err := os.ReadFile(filepath.Join(dataDir, RegionFile)); err == nil {
		if r := strings.TrimSpace(string(b)); r != "" {
			return r
		}
	}
	return DefaultRegion
}

// recordRegion writes the server's region into its data directory (best effort: clients fall
// back to DefaultRegion).
func recordRegion(dataDir, region string) {
	os.WriteFile(filepath.Join(dataDir, RegionFile), []byte(region+"\n"), 0o644)
}
