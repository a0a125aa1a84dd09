package batch

import (
	"strconv"
	"strings"
)

// gpuSlots assigns the host's GPUs to attempts. The scheduler counts a compute environment's
// GPUs (every local compute environment has all of the host's, as it has all of its memory);
// this picks which ones, per compute environment, so attempts placed side by side get different
// devices. Loop-owned, like the rest of the engine's state.
type gpuSlots struct {
	total int
	inUse map[string][]bool // compute environment ARN → device index → taken
}

// take assigns n free devices of ce, lowest indices first. The scheduler only places a job whose
// GPUs fit, so there are always n free; fewer would mean the two disagree, and the attempt gets
// what is free rather than a device another attempt holds.
func (g *gpuSlots) take(ce string, n int) []int {
	if n <= 0 || g.total <= 0 {
		return nil
	}
	if g.inUse == nil {
		g.inUse = map[string][]bool{}
	}
	used := g.inUse[ce]
	if used == nil {
		used = make([]bool, g.total)
		g.inUse[ce] = used
	}
	var out []int
	for i := range used {
		if len(out) == n {
			break
		}
		if !used[i] {
			used[i] = true
			out = append(out, i)
		}
	}
	return out
}

// give returns devices taken from ce.
func (g *gpuSlots) give(ce string, devices []int) {
	used := g.inUse[ce]
	for _, i := range devices {
		if i < len(used) {
			used[i] = false
		}
	}
}

// visibleDevices is NVIDIA_VISIBLE_DEVICES for devices, as the ECS agent sets it for AWS Batch
// GPU jobs: their indices, comma-separated.
func visibleDevices(devices []int) string {
	s := make([]string, len(devices))
	for i, d := range devices {
		s[i] = strconv.Itoa(d)
	}
	return strings.Join(s, ",")
}
