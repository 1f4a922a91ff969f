package cmdkit

import (
	"strconv"
	"strings"

	"github.com/s3mpu/s3mpu/internal/termtext"
)

// TermPath returns a path for text output: as it is when every character is printable,
// else quoted with Go's escapes (as %q does: "a\x1b[2Jb"), so that a file name cannot move
// the cursor, change colours or forge lines on a terminal, and the printed form tells the
// name apart from any other.
func TermPath(s string) string {
	if termtext.Safe(s) && !strings.HasPrefix(s, `"`) {
		return s
	}
	return strconv.Quote(s)
}

// TermText returns free text (a reason, an error) for text output: printable characters
// as they are, the others escaped as in Go strings (\n, \x1b, \u202e, \xff for a byte
// that is not UTF-8).
func TermText(s string) string { return termtext.Escape(s) }
