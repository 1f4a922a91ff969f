package uploader

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/s3mpu/s3mpu/mpu"
)

func validState() *State {
	return &State{
		Version: StateVersion, Bucket: "b", Key: "dir/k", UploadID: "u-1",
		CreateStarted: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC),
		PartSize:      5 * mib, Size: 11 * mib,
		Source: Source{Path: "/data/f", Size: 11 * mib, ModTime: time.Date(2026, 11, 27, 11, 0, 0, 5, time.UTC),
			HeadCRC32C: "0a1b2c3d", TailCRC32C: "4e5f6a7b"},
		ChecksumAlgorithm: "CRC32C", ChecksumType: "FULL_OBJECT",
		SSE:   StateSSE{CustomerAlgorithm: "AES256", CustomerKeyMD5: "bWQ1"},
		Parts: []StatePart{{Number: 1, Size: 5 * mib, ETag: `"e1"`, Checksum: "AAAAAA=="}, {Number: 3, Size: mib, ETag: `"e3"`, Checksum: "AQIDBA=="}},
	}
}

func TestStateRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	want := validState()
	if err := writeState(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil || len(entries) != 1 {
		t.Fatalf("temporary files left: %v %v", entries, err)
	}
	stale := filepath.Join(filepath.Dir(path), ".s.json.tmp-123")
	if err := os.WriteFile(stale, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := removeState(path); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(filepath.Dir(path)); err != nil || len(entries) != 0 {
		t.Fatalf("files left: %v %v", entries, err)
	}
	if err := removeState(path); err != nil {
		t.Fatalf("removing a missing state: %v", err)
	}
	if _, err := ReadState(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing state: %v", err)
	}
}

func TestParseStateRejects(t *testing.T) {
	for name, mod := range map[string]func(*State){
		"version":             func(s *State) { s.Version = 2 },
		"no bucket":           func(s *State) { s.Bucket = "" },
		"small part size":     func(s *State) { s.PartSize = 1 },
		"single part":         func(s *State) { s.Size = s.PartSize },
		"too many parts":      func(s *State) { s.PartSize, s.Size = 5*mib, 5*mib*10001; s.Source.Size = s.Size },
		"source size":         func(s *State) { s.Source.Size++ },
		"no fingerprint":      func(s *State) { s.Source.HeadCRC32C = "" },
		"parts without id":    func(s *State) { s.UploadID = "" },
		"algorithm":           func(s *State) { s.ChecksumAlgorithm = "MD5" },
		"no checksum type":    func(s *State) { s.ChecksumType = "" },
		"part order":          func(s *State) { s.Parts[0], s.Parts[1] = s.Parts[1], s.Parts[0] },
		"part out of range":   func(s *State) { s.Parts[1].Number = 4 },
		"part size":           func(s *State) { s.Parts[1].Size = 5 * mib },
		"part without etag":   func(s *State) { s.Parts[0].ETag = "" },
		"part checksum":       func(s *State) { s.Parts[0].Checksum = "AAAA" },
		"completing, no id":   func(s *State) { s.UploadID, s.Parts, s.Completing = "", nil, true },
		"composite CRC64NVME": func(s *State) { s.ChecksumAlgorithm, s.ChecksumType = "CRC64NVME", "COMPOSITE" },
	} {
		st := validState()
		mod(st)
		data, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseState(data); !errors.Is(err, mpu.ErrInvalidInput) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	for name, data := range map[string]string{
		"empty":         "",
		"not an object": "[]",
		"unknown field": `{"version":1,"secret_key":"x"}`,
		"trailing data": `{"version":1} {}`,
	} {
		if _, err := ParseState([]byte(data)); !errors.Is(err, mpu.ErrInvalidInput) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	// A valid state followed by anything but white space is not a state
	// file: not a second value, not a stray closing bracket or brace.
	good, err := json.Marshal(validState())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseState(append(good, " \n\t"...)); err != nil {
		t.Fatalf("valid state with trailing white space: %v", err)
	}
	for _, tail := range []string{" ]", "}", " {}", "x", ","} {
		if _, err := ParseState(append(slices.Clone(good), tail...)); !errors.Is(err, mpu.ErrInvalidInput) {
			t.Errorf("valid state + %q: got %v", tail, err)
		}
	}
}

func TestReadStateTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	if err := os.WriteFile(path, []byte(strings.Repeat(" ", maxStateSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadState(path); !errors.Is(err, mpu.ErrInvalidInput) {
		t.Fatalf("got %v", err)
	}
}

// FuzzParseState checks that the parser never panics, rejects with
// mpu.ErrInvalidInput only, and that whatever it accepts survives a round trip
// through the writer's encoding unchanged.
func FuzzParseState(f *testing.F) {
	good, err := json.Marshal(validState())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"bucket":"b","key":"k","part_size":5242880,"size":5242881,"source":{"size":5242881,"head_crc32c":"00000000","tail_crc32c":"00000000"},"checksum_algorithm":"SHA256","checksum_type":"COMPOSITE","parts":[]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"parts":[{"number":-1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseState(data)
		if err != nil {
			if !errors.Is(err, mpu.ErrInvalidInput) {
				t.Fatalf("error not mpu.ErrInvalidInput: %v", err)
			}
			return
		}
		again, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		st2, err := ParseState(again)
		if err != nil {
			t.Fatalf("re-encoded state rejected: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(st, st2) {
			t.Fatalf("round trip changed the state:\n%+v\n%+v", st, st2)
		}
	})
}
