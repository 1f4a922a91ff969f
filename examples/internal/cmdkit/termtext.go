package cmdkit

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// TermPath returns a path for text output: as it is when every character is printable,
// else quoted with Go's escapes (as %q does: "a\x1b[2Jb"), so that a file name cannot move
// the cursor, change colours or forge lines on a terminal, and the printed form tells the
// name apart from any other.
func TermPath(s string) string {
	if isTermSafe(s) && !strings.HasPrefix(s, `"`) {
		return s
	}
	return strconv.Quote(s)
}

// TermText returns free text (a reason, an error) for text output: printable characters
// as they are, the others escaped as in Go strings (\n, \x1b, \u202e, \xff for a byte
// that is not UTF-8).
func TermText(s string) string {
	if isTermSafe(s) {
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

// isTermSafe reports whether s is valid UTF-8 of printable characters and spaces only.
func isTermSafe(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !(unicode.IsPrint(r) || r == ' ') {
			return false
		}
	}
	return true
}
