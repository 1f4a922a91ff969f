package uniq

import (
	"slices"
	"testing"
	"testing/quick"
)

// TestAppend checks, for random lists, that Append keeps list as it was,
// adds exactly the items it lacks, each once and in their first order.
func TestAppend(t *testing.T) {
	f := func(list, items []string) bool {
		list = Append(nil, list...) // a list Append builds has no repeats
		before := slices.Clone(list)
		got := Append(list, items...)
		if !slices.Equal(got[:len(before)], before) {
			return false
		}
		want := slices.Clone(before)
		for _, it := range items {
			if !slices.Contains(want, it) {
				want = append(want, it)
			}
		}
		return slices.Equal(got, want)
	}
	// Few distinct values, so that repeats are common.
	cfg := &quick.Config{MaxCount: 500}
	small := func(xs []uint8) []string {
		out := make([]string, len(xs))
		for i, x := range xs {
			out[i] = string(rune('a' + x%4))
		}
		return out
	}
	if err := quick.Check(func(a, b []uint8) bool { return f(small(a), small(b)) }, cfg); err != nil {
		t.Fatal(err)
	}
}
