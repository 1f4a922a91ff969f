package uploader_test

import (
	"encoding/json"
	"regexp"
	"testing"

	"github.com/s3mpu/s3mpu/uploader"
)

// stateV1 is a state file as version 1 of the format writes it (every
// key snake_case, as since its first release).
const stateV1 = `{"version":1,"bucket":"photos","key":"2026/a.bin","upload_id":"u-1",
"create_started":"2026-12-01T10:00:00Z","part_size":5242880,"size":10485761,
"source":{"path":"/data/a.bin","size":10485761,"mtime":"2026-12-01T09:00:00Z","head_crc32c":"0123abcd","tail_crc32c":"89abcdef"},
"checksum_algorithm":"CRC32C","checksum_type":"FULL_OBJECT",
"sse":{"algorithm":"aws:kms","kms_key_id":"arn:aws:kms:us-east-1:111122223333:key/k"},
"parts":[{"number":1,"size":5242880,"etag":"\"e1\"","checksum":"AAAAAA=="}]}`

// TestStateFileFormat: a state file written by version 1 is read as it
// was written, and writing it again keeps every key, in snake_case.
func TestStateFileFormat(t *testing.T) {
	st, err := uploader.ParseState([]byte(stateV1))
	if err != nil {
		t.Fatalf("a version 1 state file is not read: %v", err)
	}
	if st.UploadID != "u-1" || st.PartSize != 5242880 || st.Source.HeadCRC32C != "0123abcd" || len(st.Parts) != 1 || st.Parts[0].ETag != `"e1"` || st.SSE.KMSKeyID == "" || st.CreateStarted.IsZero() {
		t.Fatalf("read %+v", st)
	}
	out, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back, orig map[string]any
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(stateV1), &orig); err != nil {
		t.Fatal(err)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	for k := range back {
		if !snake.MatchString(k) {
			t.Errorf("state key %q is not snake_case", k)
		}
	}
	for k := range orig {
		if _, ok := back[k]; !ok {
			t.Errorf("state key %q of version 1 is no longer written", k)
		}
	}
}
