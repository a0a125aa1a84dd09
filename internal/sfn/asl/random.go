package asl

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
)

// randSource serialises a math/rand/v2 source: Parallel branches and Map
// iterations draw from it concurrently. Injecting the source makes jitter,
// States.MathRandom, States.UUID and task tokens reproducible in tests.
type randSource struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newRandSource(src rand.Source) *randSource {
	if src == nil {
		var seed [32]byte
		_, _ = crand.Read(seed[:]) // crypto/rand.Read never fails on supported platforms
		src = rand.NewChaCha8(seed)
	}
	return &randSource{r: rand.New(src)}
}

func (r *randSource) Float64() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r.Float64()
}

// IntN returns a number in [0, n).
func (r *randSource) IntN(n int) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r.IntN(n)
}

// uuid returns a random (version 4) UUID.
func (r *randSource) uuid() string {
	r.mu.Lock()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r.r.Uint64())
	binary.BigEndian.PutUint64(b[8:], r.r.Uint64())
	r.mu.Unlock()
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// seededIntN draws from a generator seeded with seed, so the same seed gives
// the same number, as States.MathRandom and $random promise.
func seededIntN(seed int64, n int) int {
	return rand.New(rand.NewPCG(uint64(seed), 0x5f3759df)).IntN(n)
}

func seededFloat(seed int64) float64 {
	return rand.New(rand.NewPCG(uint64(seed), 0x5f3759df)).Float64()
}
