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

func (c checksums) provided() map[types.ChecksumAlgorithm]string {
	m := map[types.ChecksumAlgorithm]string{}
	add := func(a types.ChecksumAlgorithm, v *string) {
		if v != nil {
			m[a] = *v
		}
	}
	add(types.ChecksumAlgorithmCrc32, c.CRC32)
	add(types.ChecksumAlgorithmCrc32c, c.CRC32C)
	add(types.ChecksumAlgorithmCrc64nvme, c.CRC64NVME)
	add(types.ChecksumAlgorithmSha1, c.SHA1)
	add(types.ChecksumAlgorithmSha256, c.SHA256)
	return m
}

// set returns checksums with only algorithm a's field set to v.
func set(a types.ChecksumAlgorithm, v string) checksums {
	var c checksums
	if v == "" {
		return c
	}
	switch a {
	case types.ChecksumAlgorithmCrc32:
		c.CRC32 = &v
	case types.ChecksumAlgorithmCrc32c:
		c.CRC32C = &v
	case types.ChecksumAlgorithmCrc64nvme:
		c.CRC64NVME = &v
	case types.ChecksumAlgorithmSha1:
		c.SHA1 = &v
	case types.ChecksumAlgorithmSha256:
		c.SHA256 = &v
	}
	return c
}
