package batch

import (
	"slices"
	"testing"
)

func TestGPUSlots(t *testing.T) {
	g := gpuSlots{total: 3}
	steps := []struct {
		op   string // "take" or "give"
		ce   string
		n    int
		give []int
		want []int
	}{
		{op: "take", ce: "a", n: 2, want: []int{0, 1}},
		{op: "take", ce: "b", n: 3, want: []int{0, 1, 2}}, // another compute environment: its own devices
		{op: "take", ce: "a", n: 1, want: []int{2}},
		{op: "take", ce: "a", n: 1, want: nil}, // none left (the scheduler would not have placed it)
		{op: "give", ce: "a", give: []int{0}},
		{op: "take", ce: "a", n: 2, want: []int{0}}, // only what is free
		{op: "give", ce: "a", give: []int{0, 1, 2}},
		{op: "take", ce: "a", n: 0, want: nil},
		{op: "take", ce: "a", n: 3, want: []int{0, 1, 2}},
	}
	for i, s := range steps {
		switch s.op {
		case "take":
			if got := g.take(s.ce, s.n); !slices.Equal(got, s.want) {
				t.Fatalf("step %d: take %d on %s = %v, want %v", i, s.n, s.ce, got, s.want)
			}
		case "give":
			g.give(s.ce, s.give)
		}
	}
	if got := (&gpuSlots{}).take("a", 1); got != nil {
		t.Fatalf("a host without GPUs gave %v", got)
	}
	if got := visibleDevices([]int{0, 2}); got != "0,2" {
		t.Fatalf("NVIDIA_VISIBLE_DEVICES %q", got)
	}
}
