package apicalls

import (
	"fmt"
	"sync"
	"testing"
)

// TestCounter counts from many goroutines at once (run with -race) and checks every count,
// and that a snapshot is not changed by later counting.
func TestCounter(t *testing.T) {
	var c Counter
	if s := c.Snapshot(); s == nil || len(s) != 0 {
		t.Fatalf("zero Counter's snapshot %v, want an empty map", s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				c.Add(fmt.Sprintf("op%d", (g+i)%5))
			}
		})
	}
	wg.Wait()
	s := c.Snapshot()
	for i := range 5 {
		if n := s[fmt.Sprintf("op%d", i)]; n != 160 {
			t.Errorf("op%d counted %d times, want 160", i, n)
		}
	}
	c.Add("op0")
	if s["op0"] != 160 || c.Snapshot()["op0"] != 161 {
		t.Errorf("snapshot shares the counter's map: %v", s)
	}
}
