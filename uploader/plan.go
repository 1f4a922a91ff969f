package uploader

import (
	"sync/atomic"

	"github.com/s3mpu/s3mpu/mpu"
)

// partRecord is one part of a multipart upload: where its bytes come from
// and, once stored, what S3 answered. An upload's records, with its upload
// ID, part size and checksum settings, are what a resumable upload needs
// to persist.
type partRecord struct {
	Number   int32  `json:"number"`
	Offset   int64  `json:"offset"`
	Size     int64  `json:"size"`
	ETag     string `json:"etag,omitempty"`
	Checksum string `json:"checksum,omitempty"` // base64
	Attempts int    `json:"-"`

	sum  partSum
	sent atomic.Int64 // bytes of this part read by the transport (high-water mark)
}

// partSizeFor returns the part size for a body of known size: base, grown
// (to a whole MiB) when needed so the body fits in MaxParts parts.
func partSizeFor(size, base int64) (int64, error) {
	if size > mpu.MaxObjectSize {
		return 0, invalidf("size %d is larger than S3's largest object (%d bytes)", size, mpu.MaxObjectSize)
	}
	ps := base
	if need := (size + mpu.MaxParts - 1) / mpu.MaxParts; need > ps {
		const mib = 1 << 20
		ps = (need + mib - 1) / mib * mib
	}
	if ps > mpu.MaxPartSize {
		return 0, invalidf("size %d does not fit in %d parts of at most %d bytes", size, mpu.MaxParts, mpu.MaxPartSize)
	}
	return ps, nil
}

// planParts splits size bytes (from offset off) into parts of partSize.
func planParts(off, size, partSize int64) []*partRecord {
	n := (size + partSize - 1) / partSize
	recs := make([]*partRecord, 0, n)
	for i := int64(0); i < n; i++ {
		recs = append(recs, &partRecord{
			Number: int32(i + 1),
			Offset: off + i*partSize,
			Size:   min(partSize, size-i*partSize),
		})
	}
	return recs
}

// streamPartsPerStep is how many parts of a body of unknown size share a
// part size before it doubles.
const streamPartsPerStep = 1000

// streamPartSize returns the size of part n (from 1) of a body of unknown
// size: base doubled every 1,000 parts, at most 5 GiB, and 5 GiB for the
// last 1,000 parts, so that 10,000 parts hold at least 5 TiB for any base
// of 5 MiB or more.
func streamPartSize(base int64, n int32) int64 {
	if n > mpu.MaxParts-streamPartsPerStep {
		return mpu.MaxPartSize
	}
	step := (int64(n) - 1) / streamPartsPerStep
	ps := base
	for range step {
		ps *= 2
		if ps >= mpu.MaxPartSize {
			return mpu.MaxPartSize
		}
	}
	return ps
}
