package uploader

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/mpu"
)

// StateVersion is the version of the state file format written by Resume.
const StateVersion = 1

// maxStateSize bounds the state files ReadState accepts: 10,000 parts of a
// few hundred bytes each fit well within it.
const maxStateSize = 16 << 20

// State is the content of a resumable upload's state file: what a later
// Resume needs to continue the upload, and nothing secret. It holds no
// credentials and no SSE-C key, only the key's MD5, to check that the same
// key is supplied again. Resume writes it; ReadState reads it, for example
// to show an interrupted upload's progress.
type State struct {
	// Version is StateVersion.
	Version int `json:"version"`
	// Bucket and Key name the object.
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// UploadID is the multipart upload's ID, "" while CreateMultipartUpload
	// has not answered yet.
	UploadID string `json:"upload_id,omitempty"`
	// CreateStarted is when CreateMultipartUpload was first sent. With an
	// empty UploadID it tells Resume that an upload may have been created
	// whose ID was never recorded.
	CreateStarted time.Time `json:"create_started,omitzero"`
	// CreateLast is the latest time a CreateMultipartUpload attempt is
	// known to have been in progress: written before each attempt with its
	// start, and after one that failed with its end. With CreateStarted it
	// bounds the window in which an upload whose ID was never recorded may
	// have been initiated (see OrphanCheck); when absent (a state file of
	// an earlier version), CreateStarted bounds it on both sides.
	CreateLast time.Time `json:"create_last,omitzero"`
	// PartSize is the size of every part but the last; Size the body's size.
	PartSize int64 `json:"part_size"`
	Size     int64 `json:"size"`
	// Source identifies the body.
	Source Source `json:"source"`
	// ChecksumAlgorithm and ChecksumType are the upload's checksum settings.
	ChecksumAlgorithm types.ChecksumAlgorithm `json:"checksum_algorithm"`
	ChecksumType      types.ChecksumType      `json:"checksum_type"`
	// SSE holds the upload's encryption settings, without secrets.
	SSE StateSSE `json:"sse,omitzero"`
	// Completing is set just before CompleteMultipartUpload is sent: if the
	// upload is gone afterwards, the object may be the completed upload.
	Completing bool `json:"completing,omitempty"`
	// Parts are the parts known to be stored, in part-number order.
	Parts []StatePart `json:"parts"`
}

// StateSSE is the encryption of a resumable upload, without secrets.
type StateSSE struct {
	// Algorithm is UploadInput.ServerSideEncryption.
	Algorithm types.ServerSideEncryption `json:"algorithm,omitempty"`
	// KMSKeyID is UploadInput.SSEKMSKeyID.
	KMSKeyID string `json:"kms_key_id,omitempty"`
	// CustomerAlgorithm is UploadInput.SSECustomerAlgorithm.
	CustomerAlgorithm string `json:"customer_algorithm,omitempty"`
	// CustomerKeyMD5 is the base64 MD5 of the SSE-C key, never the key.
	CustomerKeyMD5 string `json:"customer_key_md5,omitempty"`
}

// StatePart is one stored part of a resumable upload.
type StatePart struct {
	// Number is the part number, from 1; Size its size in bytes.
	Number int32 `json:"number"`
	Size   int64 `json:"size"`
	// ETag is the part's ETag as S3 returned it.
	ETag string `json:"etag"`
	// Checksum is the part's base64 checksum, of the upload's algorithm.
	Checksum string `json:"checksum,omitempty"`
}

// sseOf returns the secret-free encryption settings of in.
func sseOf(in *UploadInput) StateSSE {
	s := StateSSE{Algorithm: in.ServerSideEncryption, KMSKeyID: in.SSEKMSKeyID, CustomerAlgorithm: in.SSECustomerAlgorithm}
	if in.SSECustomerKey != "" {
		s.CustomerKeyMD5 = in.SSECustomerKeyMD5
		if s.CustomerKeyMD5 == "" {
			if raw, err := base64.StdEncoding.DecodeString(in.SSECustomerKey); err == nil {
				sum := md5.Sum(raw)
				s.CustomerKeyMD5 = base64.StdEncoding.EncodeToString(sum[:])
			}
		}
	}
	return s
}

// ReadState reads and validates a state file. A file that does not exist
// fails with an error for which errors.Is(err, fs.ErrNotExist) holds; a
// path that is not a regular file (a directory, a FIFO, a device), or a
// file that is not a valid state, fails with mpu.ErrInvalidInput.
func ReadState(path string) (*State, error) {
	if err := checkStatePath(path); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("read state file %s: %w", path, err)
	}
	if len(data) > maxStateSize {
		return nil, invalidf("state file %s is larger than %d bytes", path, maxStateSize)
	}
	st, err := ParseState(data)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return st, nil
}

// checkStatePath fails with mpu.ErrInvalidInput when path exists and is not a
// regular file (after symbolic links): opening a FIFO blocks until someone
// writes to it, past any context, and writing the state would replace a
// device (/dev/null) or fail on a directory only after requests were
// sent. A path that does not exist fails with fs.ErrNotExist.
func checkStatePath(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		kind := "a " + fi.Mode().Type().String()
		switch t := fi.Mode().Type(); {
		case t&fs.ModeDir != 0:
			kind = "a directory"
		case t&fs.ModeNamedPipe != 0:
			kind = "a named pipe"
		case t&fs.ModeDevice != 0:
			kind = "a device"
		case t&fs.ModeSocket != 0:
			kind = "a socket"
		}
		return invalidf("state file %s is not a regular file but %s: give the path of a file to create or of an earlier run's state file", path, kind)
	}
	return nil
}

// ParseState decodes and validates a state file's content. Anything but a
// well-formed state of version StateVersion fails with mpu.ErrInvalidInput.
func ParseState(data []byte) (*State, error) {
	var st State
	trailing, err := decodeOne(data, &st)
	if err != nil {
		return nil, invalidf("not a state file: %v", err)
	}
	if trailing {
		return nil, invalidf("not a state file: data after the JSON object")
	}
	if err := st.validate(); err != nil {
		return nil, err
	}
	return &st, nil
}

// decodeOne decodes the JSON value data begins with into v, rejecting
// fields v does not have; trailing reports anything but white space after
// that value (a second value, a stray bracket).
func decodeOne(data []byte, v any) (trailing bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return false, err
	}
	_, err = dec.Token()
	return !errors.Is(err, io.EOF), nil
}

// validate checks that the state is one Resume could have written.
func (st *State) validate() error {
	bad := func(format string, a ...any) error { return invalidf("invalid state: "+format, a...) }
	switch {
	case st.Version != StateVersion:
		return bad("version %d, want %d", st.Version, StateVersion)
	case st.Bucket == "" || st.Key == "":
		return bad("empty bucket or key")
	case len(st.Key) > mpu.MaxKeyLength || !utf8.ValidString(st.Key) || !utf8.ValidString(st.Bucket):
		return bad("invalid key")
	case st.PartSize < mpu.MinPartSize || st.PartSize > mpu.MaxPartSize:
		return bad("part size %d out of range", st.PartSize)
	case st.Size <= st.PartSize || st.Size > mpu.MaxObjectSize:
		return bad("size %d is not that of a multipart upload with parts of %d bytes", st.Size, st.PartSize)
	case (st.Size+st.PartSize-1)/st.PartSize > mpu.MaxParts:
		return bad("size %d needs more than %d parts of %d bytes", st.Size, mpu.MaxParts, st.PartSize)
	case st.Source.Size != st.Size:
		return bad("source size %d differs from size %d", st.Source.Size, st.Size)
	case len(st.Source.HeadCRC32C) != 8 || len(st.Source.TailCRC32C) != 8:
		return bad("missing source fingerprint")
	case st.UploadID == "" && len(st.Parts) > 0:
		return bad("parts without an upload ID")
	case st.UploadID == "" && st.Completing:
		return bad("completing without an upload ID")
	}
	cs, err := checksumFor(st.ChecksumAlgorithm, st.ChecksumType)
	if err != nil {
		return bad("%v", err)
	}
	if st.ChecksumType == "" {
		return bad("missing checksum type")
	}
	parts := int32((st.Size + st.PartSize - 1) / st.PartSize)
	var prev int32
	for _, p := range st.Parts {
		if p.Number <= prev || p.Number > parts {
			return bad("part number %d out of order or range", p.Number)
		}
		prev = p.Number
		if want := min(st.PartSize, st.Size-int64(p.Number-1)*st.PartSize); p.Size != want {
			return bad("part %d has %d bytes, want %d", p.Number, p.Size, want)
		}
		if p.ETag == "" {
			return bad("part %d has no ETag", p.Number)
		}
		raw, err := base64.StdEncoding.DecodeString(p.Checksum)
		if err != nil || len(raw) != cs.new().Size() {
			return bad("part %d has an invalid %s checksum", p.Number, st.ChecksumAlgorithm)
		}
	}
	return nil
}

// writeState writes st to path atomically: to a temporary file in the same
// directory, synced, renamed over path, and the directory synced, so that
// a crash leaves either the old state or the new one.
func writeState(path string, st *State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write state file: %w", err)
	}
	ok = true
	return syncDir(dir)
}

// removeState removes the state file, and any temporary file a write
// interrupted by a crash left beside it, and syncs its directory. A file
// already gone is not an error.
func removeState(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove state file: %w", err)
	}
	if stale, err := filepath.Glob(filepath.Join(filepath.Dir(path), "."+globEscape(filepath.Base(path))+".tmp-*")); err == nil {
		for _, f := range stale {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove temporary state file: %w", err)
			}
		}
	}
	return syncDir(filepath.Dir(path))
}

// globEscape quotes the pattern characters of a file name.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync state directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync state directory: %w", err)
	}
	return nil
}
