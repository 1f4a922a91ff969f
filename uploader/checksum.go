package uploader

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
)

// crc64NVMEPoly is the reflected form of the CRC-64/NVME polynomial
// 0xad93d23594c93659 (init and final xor all ones, reflected in and out),
// the CRC64NVME of S3's checksums.
const crc64NVMEPoly = 0x9a6c9329ac4bc9b5

var (
	castagnoliTable = crc32.MakeTable(crc32.Castagnoli)
	nvmeTable       = crc64.MakeTable(crc64NVMEPoly)
)

// checksum describes one checksum algorithm and how an upload uses it.
type checksum struct {
	algo types.ChecksumAlgorithm
	typ  types.ChecksumType // FULL_OBJECT or COMPOSITE, for multipart uploads
	// crc is set for the CRC algorithms, whose part values combine into
	// the checksum of the whole object.
	crc *crcParams
	new func() hash.Hash
}

// crcParams are the parameters of a reflected CRC whose initial value and
// final xor are all ones (CRC32, CRC32C and CRC64NVME all are).
type crcParams struct {
	width uint   // 32 or 64
	poly  uint64 // reflected polynomial
}

// checksumFor validates an algorithm and checksum type and returns the
// checksum description; typ "" picks FULL_OBJECT for the CRCs and
// COMPOSITE for the SHAs.
func checksumFor(algo types.ChecksumAlgorithm, typ types.ChecksumType) (*checksum, error) {
	c := &checksum{algo: algo}
	switch algo {
	case types.ChecksumAlgorithmCrc32:
		c.crc = &crcParams{32, 0xedb88320}
		c.new = func() hash.Hash { return crc32.NewIEEE() }
	case types.ChecksumAlgorithmCrc32c:
		c.crc = &crcParams{32, 0x82f63b78}
		c.new = func() hash.Hash { return crc32.New(castagnoliTable) }
	case types.ChecksumAlgorithmCrc64nvme:
		c.crc = &crcParams{64, crc64NVMEPoly}
		c.new = func() hash.Hash { return crc64.New(nvmeTable) }
	case types.ChecksumAlgorithmSha1:
		c.new = sha1.New
	case types.ChecksumAlgorithmSha256:
		c.new = sha256.New
	default:
		return nil, invalidf("checksum algorithm %q is not one of CRC32, CRC32C, CRC64NVME, SHA1, SHA256", algo)
	}
	switch typ {
	case "":
		typ = types.ChecksumTypeComposite
		if c.crc != nil {
			typ = types.ChecksumTypeFullObject
		}
	case types.ChecksumTypeFullObject:
		if c.crc == nil {
			return nil, invalidf("checksum type FULL_OBJECT needs a CRC algorithm, not %s", algo)
		}
	case types.ChecksumTypeComposite:
		if algo == types.ChecksumAlgorithmCrc64nvme {
			return nil, invalidf("checksum algorithm CRC64NVME supports only the FULL_OBJECT type")
		}
	default:
		return nil, invalidf("checksum type %q is not FULL_OBJECT or COMPOSITE", typ)
	}
	c.typ = typ
	return c, nil
}

// partSum is the checksum of one part or body.
type partSum struct {
	raw []byte // big-endian digest, as S3 encodes it
}

func (p partSum) String() string { return base64.StdEncoding.EncodeToString(p.raw) }

func (c *checksum) sum(h hash.Hash) partSum { return partSum{raw: h.Sum(nil)} }

// sdkSum returns the checksum of the request's payload that the SDK
// computed as it sent it, from the request's result metadata.
func (c *checksum) sdkSum(md middleware.Metadata) (partSum, bool) {
	m, ok := s3.GetComputedInputChecksumsMetadata(md)
	if !ok {
		return partSum{}, false
	}
	v, ok := m.ComputedChecksums[string(c.algo)]
	if !ok {
		return partSum{}, false
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(raw) != c.new().Size() {
		return partSum{}, false
	}
	return partSum{raw: raw}, true
}

func (c *checksum) crcValue(p partSum) uint64 {
	if c.crc.width == 32 {
		return uint64(binary.BigEndian.Uint32(p.raw))
	}
	return binary.BigEndian.Uint64(p.raw)
}

func (c *checksum) crcBytes(v uint64) []byte {
	if c.crc.width == 32 {
		return binary.BigEndian.AppendUint32(nil, uint32(v))
	}
	return binary.BigEndian.AppendUint64(nil, v)
}

// object returns the base64 checksum S3 reports for an object made of
// parts (in order, with their sizes): the CRC of the whole object for
// FULL_OBJECT, the checksum of the concatenated part checksums followed
// by "-N" for COMPOSITE.
func (c *checksum) object(sums []partSum, sizes []int64) string {
	if c.typ == types.ChecksumTypeFullObject {
		var v uint64
		for i, s := range sums {
			if i == 0 {
				v = c.crcValue(s)
				continue
			}
			v = c.crc.combine(v, c.crcValue(s), sizes[i])
		}
		return base64.StdEncoding.EncodeToString(c.crcBytes(v))
	}
	h := c.new()
	for _, s := range sums {
		h.Write(s.raw)
	}
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), len(sums))
}

// multmodp returns a(x)·b(x) modulo the polynomial, with polynomials in
// reflected bit order (the top bit is x^0).
func (p *crcParams) multmodp(a, b uint64) uint64 {
	if a == 0 {
		return 0
	}
	m := uint64(1) << (p.width - 1)
	var r uint64
	for {
		if a&m != 0 {
			r ^= b
			if a&(m-1) == 0 {
				return r
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ p.poly
		} else {
			b >>= 1
		}
	}
}

// xpow8n returns x^(8n) modulo the polynomial: the operator that shifts a
// CRC over n zero bytes.
func (p *crcParams) xpow8n(n int64) uint64 {
	r := uint64(1) << (p.width - 1)  // x^0
	sq := uint64(1) << (p.width - 2) // x^1
	for range 3 {
		sq = p.multmodp(sq, sq) // x^8 after three squarings
	}
	for ; n > 0; n >>= 1 {
		if n&1 != 0 {
			r = p.multmodp(sq, r)
		}
		sq = p.multmodp(sq, sq)
	}
	return r
}

// combine returns the CRC of A followed by B, given crc(A), crc(B) and
// the length of B: with all-ones initial value and final xor, the two
// cancel and crc(AB) = crc(A)·x^(8·len(B)) + crc(B).
func (p *crcParams) combine(crcA, crcB uint64, lenB int64) uint64 {
	return p.multmodp(p.xpow8n(lenB), crcA) ^ crcB
}

// checksumFields points at the five checksum fields of an SDK input or
// output, so one function can read or set the one of an algorithm.
type checksumFields struct {
	CRC32, CRC32C, CRC64NVME, SHA1, SHA256 **string
}

func (f checksumFields) field(a types.ChecksumAlgorithm) **string {
	switch a {
	case types.ChecksumAlgorithmCrc32:
		return f.CRC32
	case types.ChecksumAlgorithmCrc32c:
		return f.CRC32C
	case types.ChecksumAlgorithmCrc64nvme:
		return f.CRC64NVME
	case types.ChecksumAlgorithmSha1:
		return f.SHA1
	case types.ChecksumAlgorithmSha256:
		return f.SHA256
	}
	return nil
}

func (f checksumFields) set(a types.ChecksumAlgorithm, v string) {
	if p := f.field(a); p != nil {
		*p = &v
	}
}

func (f checksumFields) get(a types.ChecksumAlgorithm) string {
	if p := f.field(a); p != nil && *p != nil {
		return **p
	}
	return ""
}
