package uploader

import (
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/s3mpu/s3mpu/mpu"
)

// fingerprintSpan is how many bytes at each end of a source its
// fingerprint covers.
const fingerprintSpan = 1 << 20

// Source identifies the body of a resumable upload, so that a later Resume
// can tell whether it is still the same data. It holds no data, only what
// is cheap to get again.
type Source struct {
	// Path is the file's absolute path, when the body is a file.
	Path string `json:"path,omitempty"`
	// Size is the number of bytes uploaded from the body.
	Size int64 `json:"size"`
	// ModTime is the file's modification time, when the body can Stat.
	ModTime time.Time `json:"mtime,omitzero"`
	// HeadCRC32C and TailCRC32C are the CRC32C (hex) of the first and the
	// last MiB of the uploaded bytes (the whole body when it is smaller).
	HeadCRC32C string `json:"head_crc32c"`
	TailCRC32C string `json:"tail_crc32c"`
}

// statter is a body that can report its file information, as *os.File does.
type statter interface {
	Stat() (os.FileInfo, error)
}

// namer is a body that knows its file name, as *os.File does.
type namer interface {
	Name() string
}

// identify returns the identity of size bytes of ra from off.
func identify(body any, ra io.ReaderAt, off, size int64) (Source, error) {
	s := Source{Size: size}
	if st, ok := body.(statter); ok {
		fi, err := st.Stat()
		if err != nil {
			return s, fmt.Errorf("stat body: %w", err)
		}
		s.ModTime = fi.ModTime().UTC()
	}
	if n, ok := body.(namer); ok && n.Name() != "" {
		if abs, err := filepath.Abs(n.Name()); err == nil {
			s.Path = abs
		}
	}
	span := min(size, fingerprintSpan)
	var err error
	if s.HeadCRC32C, err = crcOf(ra, off, span); err != nil {
		return s, err
	}
	if s.TailCRC32C, err = crcOf(ra, off+size-span, span); err != nil {
		return s, err
	}
	return s, nil
}

func crcOf(ra io.ReaderAt, off, n int64) (string, error) {
	h := crc32.New(castagnoliTable)
	got, err := io.Copy(h, progressReader{io.NewSectionReader(ra, off, n)})
	if err != nil {
		return "", fmt.Errorf("read body at offset %d: %w", off, err)
	}
	if got != n {
		return "", fmt.Errorf("%w: body has %d bytes at offset %d, %d expected", mpu.ErrSourceChanged, got, off, n)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// differs describes how s differs from the earlier identity was, or
// returns "" when they match. The path is not compared: a file that was
// moved or renamed still holds the same data.
func (s Source) differs(was Source) string {
	switch {
	case s.Size != was.Size:
		return fmt.Sprintf("its size was %d bytes and is now %d", was.Size, s.Size)
	case !s.ModTime.Equal(was.ModTime):
		return fmt.Sprintf("its modification time was %s and is now %s",
			was.ModTime.Format(time.RFC3339Nano), s.ModTime.Format(time.RFC3339Nano))
	case s.HeadCRC32C != was.HeadCRC32C:
		return "its first MiB differs"
	case s.TailCRC32C != was.TailCRC32C:
		return "its last MiB differs"
	}
	return ""
}

// fileStamp is the size and modification time of a file body when an
// upload started, to detect a change before Complete.
type fileStamp struct {
	f       statter
	size    int64
	modTime time.Time
}

// stampOf returns the stamp of a body that is a regular file (anything
// with Stat), or nil.
func stampOf(body any) *fileStamp {
	st, ok := body.(statter)
	if !ok {
		return nil
	}
	fi, err := st.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	return &fileStamp{f: st, size: fi.Size(), modTime: fi.ModTime()}
}

// check fails with mpu.ErrSourceChanged when the file's size or modification
// time is no longer what it was at the start.
func (s *fileStamp) check() error {
	if s == nil {
		return nil
	}
	fi, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("stat body: %w", err)
	}
	switch {
	case fi.Size() != s.size:
		return fmt.Errorf("%w: the file's size went from %d to %d bytes during the upload", mpu.ErrSourceChanged, s.size, fi.Size())
	case !fi.ModTime().Equal(s.modTime):
		return fmt.Errorf("%w: the file was modified during the upload (modification time %s, was %s)",
			mpu.ErrSourceChanged, fi.ModTime().Format(time.RFC3339Nano), s.modTime.Format(time.RFC3339Nano))
	}
	return nil
}
