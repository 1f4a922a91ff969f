// Package termtext makes text from others (a server's error message, a statement ID from
// a bucket policy, an object key) safe to print on a terminal. It only rewrites strings;
// it never writes anywhere itself.
package termtext

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape returns s with printable characters and spaces as they are and every other
// character escaped as in a Go string literal: \n, \t, \x1b, \u202e (a bidirectional
// override), \xff for a byte that is not UTF-8. The result holds no control or format
// character, so it can neither move the cursor, change colours, reorder what follows
// nor start a line of its own.
func Escape(s string) string {
	if Safe(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r) || r == ' ':
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// Safe reports whether s is valid UTF-8 of printable characters and spaces only, so that
// Escape returns it unchanged.
func Safe(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !(unicode.IsPrint(r) || r == ' ') {
			return false
		}
	}
	return true
}
