// Package uniq keeps short lists of strings free of repeats, in the order
// their entries were first added; the permission checkers build their
// reports' action, resource and reason lists with it.
package uniq

import "slices"

// Append appends to list each of items that list does not hold yet, in
// order, and returns the extended list.
func Append(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}
