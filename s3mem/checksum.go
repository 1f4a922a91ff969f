package s3mem

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	nvme       = crc64.MakeTable(0x9a6c9329ac4bc9b5)
)

func newHash(a types.ChecksumAlgorithm) hash.Hash {
	switch a {
	case types.ChecksumAlgorithmCrc32:
		return crc32.NewIEEE()
	case types.ChecksumAlgorithmCrc32c:
		return crc32.New(castagnoli)
	case types.ChecksumAlgorithmCrc64nvme:
		return crc64.New(nvme)
	case types.ChecksumAlgorithmSha1:
		return sha1.New()
	case types.ChecksumAlgorithmSha256:
		return sha256.New()
	}
	return nil
}

// Checksum returns the base64 checksum of data with algorithm a (one of
// CRC32, CRC32C, CRC64NVME, SHA1, SHA256), as S3 reports it.
func Checksum(a types.ChecksumAlgorithm, data []byte) string {
	h := newHash(a)
	if h == nil {
		return ""
	}
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// compositeChecksum is S3's checksum of checksums: the algorithm over the
// concatenated raw part checksums, with "-N" appended.
func compositeChecksum(a types.ChecksumAlgorithm, parts []string) (string, error) {
	h := newHash(a)
	for _, p := range parts {
		raw, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			return "", err
		}
		h.Write(raw)
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(parts)), nil
}

type checksums struct {
	CRC32, CRC32C, CRC64NVME, SHA1, SHA256 *string
}

// provided returns the checksums set in c, by algorithm.
func (c checksums) provided() map[types.ChecksumAlgorithm]string {
	m := map[types.ChecksumAlgorithm]string{}
	for _, a := range types.ChecksumAlgorithm("").Values() {
		if v := c.get(a); v != nil {
			m[a] = *v
		}
	}
	return m
}

// field returns the field of c that holds algorithm a's checksum, nil for
// an algorithm it has none for.
func (c *checksums) field(a types.ChecksumAlgorithm) **string {
	switch a {
	case types.ChecksumAlgorithmCrc32:
		return &c.CRC32
	case types.ChecksumAlgorithmCrc32c:
		return &c.CRC32C
	case types.ChecksumAlgorithmCrc64nvme:
		return &c.CRC64NVME
	case types.ChecksumAlgorithmSha1:
		return &c.SHA1
	case types.ChecksumAlgorithmSha256:
		return &c.SHA256
	}
	return nil
}

// get returns algorithm a's checksum in c, or nil.
func (c checksums) get(a types.ChecksumAlgorithm) *string {
	if f := c.field(a); f != nil {
		return *f
	}
	return nil
}

// set returns checksums with only algorithm a's field set to v.
func set(a types.ChecksumAlgorithm, v string) checksums {
	var c checksums
	if f := c.field(a); f != nil && v != "" {
		*f = &v
	}
	return c
}
