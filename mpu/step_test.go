package mpu

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/s3mpu/s3mpu/internal/s3err"
)

func TestStepNamesRoundTrip(t *testing.T) {
	if len(AllSteps) != 7 {
		t.Fatalf("AllSteps has %d steps, want the seven multipart steps", len(AllSteps))
	}
	seen := map[string]bool{}
	for _, s := range AllSteps {
		name := s.String()
		if seen[name] {
			t.Fatalf("duplicate step name %q", name)
		}
		seen[name] = true
		if s.Operation() == "" {
			t.Errorf("%s has no S3 operation", name)
		}
		got, err := ParseStep(name)
		if err != nil || got != s {
			t.Errorf("ParseStep(%q) = %v, %v; want %v", name, got, err, s)
		}
	}
	if _, err := ParseStep("uploadpart"); !errors.Is(err, s3err.ErrInvalidInput) {
		t.Errorf("ParseStep accepted a wrongly cased name, or failed without ErrInvalidInput: %v", err)
	}
	if got := Step(99).String(); got != "Step(99)" {
		t.Errorf("unknown step prints %q", got)
	}
}

func TestStepJSON(t *testing.T) {
	b, err := json.Marshal(map[string]Step{"step": Complete})
	if err != nil || string(b) != `{"step":"Complete"}` {
		t.Fatalf("marshal: %s, %v", b, err)
	}
	var v struct{ Step Step }
	if err := json.Unmarshal([]byte(`{"Step":"ListUploads"}`), &v); err != nil || v.Step != ListUploads {
		t.Fatalf("unmarshal: %v, %v", v.Step, err)
	}
	if err := json.Unmarshal([]byte(`{"Step":"Nope"}`), &v); err == nil {
		t.Fatal("unmarshal accepted an unknown step")
	}
}

func TestLimits(t *testing.T) {
	if MaxObjectSize/MaxParts > MaxPartSize {
		t.Fatal("the largest object does not fit in MaxParts parts of MaxPartSize")
	}
	if MinPartSize != 5*1024*1024 || MaxPartSize != 5*1024*1024*1024 {
		t.Fatal("S3 part size limits are 5 MiB and 5 GiB")
	}
}
