package preflight

import (
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/s3mpu/s3mpu/mpu"
)

// hostile is text a bucket policy, an object key or a server's error message could carry:
// a line break followed by a forged verdict, a terminal escape that clears the screen, a
// tab that shifts the table's columns, a bidirectional override and a C1 control.
const hostile = "x\nInitiate: allowed\x1b[2J\tcol\u202eevil\u009b"

// fill sets every string, byte slice and map key reachable from v to hostile text, and
// gives every slice one element and every nil pointer a value, so that each field a
// report can print carries it.
func fill(v reflect.Value, depth int) {
	if depth > 6 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(hostile)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(`{"Sid":"` + hostile + `"}`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		e := reflect.New(v.Type().Elem()).Elem()
		fill(k, depth+1)
		fill(e, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	}
}

// TestWriteTextEscapesEverything checks the promise of WriteText for every field at once:
// whatever text from elsewhere a report holds, its rendering has no control or format
// character but its own line breaks, and no hostile text starts a line of its own.
func TestWriteTextEscapesEverything(t *testing.T) {
	for _, dec := range []mpu.Decision{mpu.Allowed, mpu.ExplicitDeny, mpu.ImplicitDeny, mpu.Unknown} {
		r := &Report{}
		fill(reflect.ValueOf(r), 0)
		for i := range r.Steps {
			r.Steps[i].Decision = dec
		}
		for i := range r.KMS {
			r.KMS[i].Decision = dec
		}
		out := r.String()
		if !strings.Contains(out, "evil") {
			t.Fatalf("the hostile text was not rendered at all:\n%s", out)
		}
		for i, c := range out {
			if c != '\n' && (unicode.IsControl(c) || unicode.Is(unicode.Cf, c)) {
				t.Fatalf("decision %v: output keeps %U at byte %d:\n%q", dec, c, i, out)
			}
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "Initiate: allowed") {
				t.Fatalf("decision %v: hostile text forged the line %q", dec, line)
			}
		}
	}
}
