package optfn

import "testing"

func TestWithAppliesInOrderToACopy(t *testing.T) {
	type opts struct{ a []int }
	base := opts{}
	got := With(base, []func(*opts){
		func(o *opts) { o.a = append(o.a, 1) },
		func(o *opts) { o.a = append(o.a, 2) },
	})
	if len(got.a) != 2 || got.a[0] != 1 || got.a[1] != 2 {
		t.Fatalf("With = %v, want [1 2]", got.a)
	}
	if base.a != nil {
		t.Fatalf("the caller's value changed: %v", base.a)
	}
	if With(opts{a: []int{5}}, nil).a[0] != 5 {
		t.Fatal("no functions changed the value")
	}
}
