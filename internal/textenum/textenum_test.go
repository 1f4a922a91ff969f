package textenum

import (
	"errors"
	"testing"
)

func TestUnmarshal(t *testing.T) {
	parse := func(s string) (int, error) {
		if s == "one" {
			return 1, nil
		}
		return 0, errors.New("unknown " + s)
	}
	v := 7
	if err := Unmarshal(&v, []byte("one"), parse); err != nil || v != 1 {
		t.Fatalf("Unmarshal(one) = %v, value %d", err, v)
	}
	v = 7
	if err := Unmarshal(&v, []byte("two"), parse); err == nil || v != 7 {
		t.Fatalf("Unmarshal(two) = %v, value %d; want an error and the value kept", err, v)
	}
}
