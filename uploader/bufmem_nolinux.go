//go:build !linux

package uploader

// adviseHugePages is a no-op outside Linux.
func adviseHugePages(b []byte) {}
