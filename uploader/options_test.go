package uploader

import (
	"errors"
	"reflect"
	"testing"

	"github.com/s3mpu/s3mpu/mpu"
)

// TestDefaultOptionsResolveAsZero: starting from DefaultOptions is the same
// as starting from the zero Options, field by field, and DefaultOptions
// holds every fixed default (no field it fills resolves to another value).
func TestDefaultOptionsResolveAsZero(t *testing.T) {
	zero, err := Options{}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	def, err := DefaultOptions().resolve()
	if err != nil {
		t.Fatal(err)
	}
	zero.clock, def.clock = nil, nil
	if !reflect.DeepEqual(zero, def) {
		t.Fatalf("DefaultOptions resolves to\n%+v\nthe zero Options to\n%+v", def, zero)
	}
	d := DefaultOptions()
	if d.Concurrency != 0 || d.MaxBufferMemory != 0 {
		t.Fatalf("DefaultOptions fixes Concurrency %d / MaxBufferMemory %d; both must stay 0 (adaptive, derived)", d.Concurrency, d.MaxBufferMemory)
	}
	// Every exported field DefaultOptions fills keeps its value through
	// resolve: what it shows is what an upload uses.
	rv, dv := reflect.ValueOf(def), reflect.ValueOf(d)
	for i := 0; i < dv.NumField(); i++ {
		f := dv.Type().Field(i)
		if !f.IsExported() || dv.Field(i).IsZero() {
			continue
		}
		if !reflect.DeepEqual(dv.Field(i).Interface(), rv.Field(i).Interface()) {
			t.Errorf("DefaultOptions().%s = %v, resolved %v", f.Name, dv.Field(i).Interface(), rv.Field(i).Interface())
		}
	}
}

// TestMaxConcurrency: it bounds the adaptive level (and its start), leaves a
// fixed Concurrency alone, and rejects values below 1.
func TestMaxConcurrency(t *testing.T) {
	for _, c := range []struct {
		in                    Options
		wantConc, wantMax     int
		wantAdaptive, wantErr bool
	}{
		{Options{}, defaultConcurrency, defaultMaxConcurrency, true, false},
		{Options{MaxConcurrency: 2}, 2, 2, true, false},
		{Options{MaxConcurrency: 64}, defaultConcurrency, 64, true, false},
		{Options{Concurrency: 32, MaxConcurrency: 2}, 32, 2, false, false},
		{Options{MaxConcurrency: -1}, 0, 0, false, true},
	} {
		o, err := c.in.resolve()
		if c.wantErr {
			if !errors.Is(err, mpu.ErrInvalidInput) {
				t.Errorf("%+v: err %v, want ErrInvalidInput", c.in, err)
			}
			continue
		}
		if err != nil || o.Concurrency != c.wantConc || o.MaxConcurrency != c.wantMax || o.adaptive != c.wantAdaptive {
			t.Errorf("MaxConcurrency %d Concurrency %d: got %d/%d adaptive %v err %v, want %d/%d adaptive %v",
				c.in.MaxConcurrency, c.in.Concurrency, o.Concurrency, o.MaxConcurrency, o.adaptive, err, c.wantConc, c.wantMax, c.wantAdaptive)
		}
	}
}

func TestPreflightModeString(t *testing.T) {
	for m, want := range map[PreflightMode]string{
		PreflightAuto: "auto", PreflightOff: "off", PreflightWarn: "warn", PreflightEnforce: "enforce",
		PreflightMode(4): "PreflightMode(4)", PreflightMode(-1): "PreflightMode(-1)",
	} {
		if got := m.String(); got != want {
			t.Errorf("PreflightMode(%d).String() = %q, want %q", int(m), got, want)
		}
	}
}
