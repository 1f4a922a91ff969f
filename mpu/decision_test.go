package mpu

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/s3mpu/s3mpu/internal/s3err"
)

func TestDecisionText(t *testing.T) {
	for _, d := range []Decision{Unknown, Allowed, ExplicitDeny, ImplicitDeny} {
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back Decision
		if err := json.Unmarshal(b, &back); err != nil || back != d {
			t.Errorf("%s: round trip gave %v, %v", d, back, err)
		}
		if d.Denied() != (d == ExplicitDeny || d == ImplicitDeny) {
			t.Errorf("%s.Denied() = %v", d, d.Denied())
		}
	}
	if _, err := ParseDecision("maybe"); !errors.Is(err, s3err.ErrInvalidInput) {
		t.Errorf("ParseDecision(maybe): %v", err)
	}
	if _, err := Decision(9).MarshalText(); err == nil {
		t.Error("an invalid decision marshaled")
	}
}

// TestWorse: Worse is commutative, picks one of its arguments, and
// follows ExplicitDeny > ImplicitDeny > Unknown > Allowed.
func TestWorse(t *testing.T) {
	order := []Decision{Allowed, Unknown, ImplicitDeny, ExplicitDeny}
	for i, a := range order {
		for j, b := range order {
			want := a
			if j > i {
				want = b
			}
			if got := Worse(a, b); got != want || Worse(b, a) != want {
				t.Errorf("Worse(%s, %s) = %s, want %s", a, b, got, want)
			}
		}
	}
}
