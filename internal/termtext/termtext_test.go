package termtext

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestEscapeExamples(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ünïcode ✓": "plain text, ünïcode ✓",
		"a\x1b[2Jb":             `a\x1b[2Jb`,
		"line\nforged: allowed": `line\nforged: allowed`,
		"tab\tcol":              `tab\tcol`,
		"rtl\u202eevil":         `rtl\u202eevil`,
		"c1\u009bx":             `c1\u009bx`,
		"bad\xffbyte":           `bad\xffbyte`,
		"":                      "",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzEscape checks the property the package promises: whatever the input, the output is
// valid UTF-8 with no control or format character, and safe input is left as it is.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "abc", "a\x1b[31mred", "x\ny", "\u202e", "\xff\xfe", "\u0085", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Escape(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q is not UTF-8", s, out)
		}
		if i := strings.IndexFunc(out, func(r rune) bool {
			return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || !(unicode.IsPrint(r) || r == ' ')
		}); i >= 0 {
			t.Fatalf("Escape(%q) = %q keeps an unsafe character at %d", s, out, i)
		}
		if Safe(s) != (out == s) && Safe(s) {
			t.Fatalf("Escape changed safe input %q to %q", s, out)
		}
		if !Safe(out) {
			t.Fatalf("Escape(%q) = %q is not Safe", s, out)
		}
	})
}
