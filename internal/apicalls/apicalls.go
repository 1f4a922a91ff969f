// Package apicalls counts the API requests a permission check makes, by
// operation ("s3:GetBucketPolicy", "kms:DescribeKey"), for the reports of
// preflight and kmsperm.
package apicalls

import (
	"maps"
	"sync"
)

// Counter counts requests by operation. The zero value is ready to use, and
// it is safe for concurrent use.
type Counter struct {
	mu sync.Mutex
	n  map[string]int
}

// Add counts one request of op.
func (c *Counter) Add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[op]++
}

// Snapshot returns the counts so far, as a map of its own: empty, not nil,
// when nothing was counted.
func (c *Counter) Snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.n))
	maps.Copy(out, c.n)
	return out
}
