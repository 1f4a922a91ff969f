package policy

import (
	"strings"
	"testing"
	"unicode"
)

// TestHostileTextNeverReachesOutputRaw: a policy comes from a bucket others may write (the
// preflight reads the bucket policy from the server), and the names in it reach a terminal
// through ParseError texts, Reasons and MissingKeys. A control character (an escape
// sequence, a bell, a newline that forges a line) in any element name, condition key or
// policy variable name must either make Parse refuse the document with an error that shows
// it escaped, or never appear raw in what Evaluate returns.
func TestHostileTextNeverReachesOutputRaw(t *testing.T) {
	hostile := []string{"\x1b]0;owned\x07", "\x1b[2J", "a\nexplicitDeny", "\u009b31m", "\x7f"}
	shapes := []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/H":"v"}}}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"arn:aws:s3:::b/${aws:PrincipalTag/H}/*"}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"s3:prefix":"${H}"}}}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringLike":{"aws:TagKeys":"x${H, 'd'}"}}}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","H":"x"}}`,
		`{"Version":"2012-10-17","H":"x","Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*","Condition":{"H":{"k":"v"}}}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"H":"x"},"Action":"*","Resource":"*"}}`,
	}
	raw := func(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }
	caller, err := PrincipalFromARN("arn:aws:iam::111122223333:user/alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, shape := range shapes {
		for _, h := range hostile {
			// The hostile text as a JSON string escape, as a bucket policy would carry it.
			esc := strings.Trim(quoteJSON(h), `"`)
			doc := strings.ReplaceAll(shape, "H", esc)
			d, err := ParseNamed("bucket policy", []byte(doc))
			if err != nil {
				if raw(err.Error()) {
					t.Errorf("Parse(%s): error shows a control character raw: %q", doc, err.Error())
				}
				continue
			}
			for _, action := range []string{"s3:GetObject", "s3:PutObject"} {
				r := Evaluate(Request{Principal: caller, Action: action, Resource: "arn:aws:s3:::b/x/k"}, PolicySet{Resource: []*Document{d}})
				for _, s := range append(append([]string{}, r.Reasons...), r.MissingKeys...) {
					if raw(s) {
						t.Errorf("Evaluate(%s): %q shows a control character raw", doc, s)
					}
				}
			}
		}
	}
}

func quoteJSON(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '"' || r == '\\' {
			b.WriteString(`\u`)
			const hexd = "0123456789abcdef"
			b.WriteByte(hexd[r>>12&0xf])
			b.WriteByte(hexd[r>>8&0xf])
			b.WriteByte(hexd[r>>4&0xf])
			b.WriteByte(hexd[r&0xf])
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}
