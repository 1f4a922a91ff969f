package cmdkit

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "0", want: 0},
		{in: "1048576", want: 1 << 20},
		{in: "16MiB", want: 16 << 20},
		{in: "16MB", want: 16 << 20},
		{in: "16mb", want: 16 << 20},
		{in: "16M", want: 16 << 20},
		{in: "16 MiB", want: 16 << 20},
		{in: "5GiB", want: 5 << 30},
		{in: "1.5GiB", want: 3 << 29},
		{in: "2KiB", want: 2048},
		{in: "1TiB", want: 1 << 40},
		{in: "100B", want: 100},
		{in: "", wantErr: true},
		{in: "MiB", wantErr: true},
		{in: "-5MiB", wantErr: true},
		{in: "five", wantErr: true},
		{in: "16XB", wantErr: true},
		{in: "9999999999TiB", wantErr: true},
		{in: "NaN", wantErr: true},
		{in: "0.5", wantErr: true}, // must not round to 0 (read as "default" or "unlimited")
		{in: "0.0001KiB", wantErr: true},
		{in: "0.0", want: 0},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseSize(%q) = %d, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{"50MiB/s": 50 << 20, "10MB": 10 << 20, "0": 0, "1Mps": 1 << 20} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"fast", "0.5/s", "-1MiB/s"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q): no error", in)
		}
	}
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "7d", want: 7 * 24 * time.Hour},
		{in: "2w", want: 14 * 24 * time.Hour},
		{in: "36h", want: 36 * time.Hour},
		{in: "90m", want: 90 * time.Minute},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "1.5d", want: 36 * time.Hour},
		{in: "10s", want: 10 * time.Second},
		{in: "", wantErr: true},
		{in: "7", wantErr: true},
		{in: "d", wantErr: true},
		{in: "7x", wantErr: true},
		{in: "-7d", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseAge(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseAge(%q) = %v, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseKeyValues(t *testing.T) {
	got, err := ParseKeyValues("metadata", []string{"a=1", "b=x=y", "c="})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"a": "1", "b": "x=y", "c": ""}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range [][]string{{"novalue"}, {"=v"}, {"a=1", "a=2"}} {
		if _, err := ParseKeyValues("metadata", bad); err == nil || !strings.Contains(err.Error(), "--metadata") {
			t.Errorf("ParseKeyValues(%q): err = %v", bad, err)
		}
	}
	multi, err := ParseMultiKeyValues("context", []string{"aws:SourceIp=10.0.0.1", "s3:prefix=a", "s3:prefix=b"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][]string{"aws:SourceIp": {"10.0.0.1"}, "s3:prefix": {"a", "b"}}; !reflect.DeepEqual(multi, want) {
		t.Fatalf("got %v, want %v", multi, want)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 256 << 20: "256.0 MiB", 3 << 29: "1.5 GiB"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{-time.Second: "0s", 45 * time.Second: "45s", 12 * time.Minute: "12m", 5 * time.Hour: "5h", 72 * time.Hour: "3d"} {
		if got := FormatAge(d); got != want {
			t.Errorf("FormatAge(%v) = %q, want %q", d, got, want)
		}
	}
}
