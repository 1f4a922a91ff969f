// Package textenum holds what the module's small enumerated types (a
// decision, a step, a profile) share in their text encoding. It knows no
// type's names: each type keeps its own Parse function.
package textenum

// Unmarshal sets *dst to the value parse reads from b, and leaves *dst as
// it was when parse fails: the body of an UnmarshalText method.
func Unmarshal[T any](dst *T, b []byte, parse func(string) (T, error)) error {
	v, err := parse(string(b))
	if err != nil {
		return err
	}
	*dst = v
	return nil
}
