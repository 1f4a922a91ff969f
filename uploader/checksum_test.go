package uploader

import (
	"bytes"
	"encoding/base64"
	"hash/crc32"
	"hash/crc64"
	"math/rand/v2"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/s3mem"
)

func TestCRCCombine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 200_000)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, algo := range []types.ChecksumAlgorithm{"CRC32", "CRC32C", "CRC64NVME"} {
		c, err := checksumFor(algo, "")
		if err != nil {
			t.Fatal(err)
		}
		want := s3mem.Checksum(algo, data)
		for trial := range 20 {
			// Split into 1..5 parts at random points, some empty-free.
			n := 1 + trial%5
			cuts := []int{0}
			for range n - 1 {
				cuts = append(cuts, rng.IntN(len(data)))
			}
			cuts = append(cuts, len(data))
			sortInts(cuts)
			var sums []partSum
			var sizes []int64
			for i := 0; i+1 < len(cuts); i++ {
				h := c.new()
				h.Write(data[cuts[i]:cuts[i+1]])
				sums = append(sums, c.sum(h))
				sizes = append(sizes, int64(cuts[i+1]-cuts[i]))
			}
			if got := c.object(sums, sizes); got != want {
				t.Fatalf("%s split %v: got %s want %s", algo, cuts, got, want)
			}
		}
	}
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func TestCRCCombineLong(t *testing.T) {
	// Shifting over a long run of zero bytes must match the stdlib.
	c, _ := checksumFor("CRC32", "")
	zeros := make([]byte, 3<<20)
	a := crc32.ChecksumIEEE([]byte("head"))
	b := crc32.ChecksumIEEE(zeros)
	want := crc32.ChecksumIEEE(append([]byte("head"), zeros...))
	if got := c.crc.combine(uint64(a), uint64(b), int64(len(zeros))); uint32(got) != want {
		t.Fatalf("got %#x want %#x", got, want)
	}
	c64, _ := checksumFor("CRC64NVME", "")
	tab := crc64.MakeTable(crc64NVMEPoly)
	a64, b64 := crc64.Checksum([]byte("x"), tab), crc64.Checksum(zeros, tab)
	if got := c64.crc.combine(a64, b64, int64(len(zeros))); got != crc64.Checksum(append([]byte("x"), zeros...), tab) {
		t.Fatal("crc64 combine")
	}
}

func TestCompositeMatchesFake(t *testing.T) {
	c, _ := checksumFor("SHA256", "")
	p1, p2 := bytes.Repeat([]byte("a"), 10), bytes.Repeat([]byte("b"), 7)
	var sums []partSum
	for _, p := range [][]byte{p1, p2} {
		h := c.new()
		h.Write(p)
		sums = append(sums, c.sum(h))
		if sums[len(sums)-1].String() != s3mem.Checksum("SHA256", p) {
			t.Fatal("part sum")
		}
	}
	got := c.object(sums, []int64{10, 7})
	raw := append(append([]byte{}, sums[0].raw...), sums[1].raw...)
	want := s3mem.Checksum("SHA256", raw) + "-2"
	if got != want {
		t.Fatalf("%s != %s", got, want)
	}
	if _, err := base64.StdEncoding.DecodeString(sums[0].String()); err != nil {
		t.Fatal(err)
	}
}

func TestChecksumFor(t *testing.T) {
	for _, tc := range []struct {
		algo types.ChecksumAlgorithm
		typ  types.ChecksumType
		want types.ChecksumType
		ok   bool
	}{
		{"CRC32C", "", "FULL_OBJECT", true},
		{"CRC32", "COMPOSITE", "COMPOSITE", true},
		{"CRC64NVME", "", "FULL_OBJECT", true},
		{"CRC64NVME", "COMPOSITE", "", false},
		{"SHA1", "", "COMPOSITE", true},
		{"SHA256", "FULL_OBJECT", "", false},
		{"MD5", "", "", false},
		{"CRC32C", "WHOLE", "", false},
	} {
		c, err := checksumFor(tc.algo, tc.typ)
		if (err == nil) != tc.ok {
			t.Errorf("%s/%s: err %v", tc.algo, tc.typ, err)
			continue
		}
		if err != nil {
			if !isInvalid(err) {
				t.Errorf("%s/%s: err %v does not wrap mpu.ErrInvalidInput", tc.algo, tc.typ, err)
			}
			continue
		}
		if c.typ != tc.want {
			t.Errorf("%s/%s: type %s", tc.algo, tc.typ, c.typ)
		}
	}
}

// BenchmarkChecksum hashes 32 KiB, the size net/http reads a part's body in, with each
// algorithm the uploader offers: what a checksum costs per byte sent on this CPU.
func BenchmarkChecksum(b *testing.B) {
	buf := make([]byte, 32<<10)
	for _, algo := range []types.ChecksumAlgorithm{types.ChecksumAlgorithmCrc32, types.ChecksumAlgorithmCrc32c,
		types.ChecksumAlgorithmCrc64nvme, types.ChecksumAlgorithmSha1, types.ChecksumAlgorithmSha256} {
		b.Run(string(algo), func(b *testing.B) {
			cs, err := checksumFor(algo, "")
			if err != nil {
				b.Fatal(err)
			}
			h := cs.new()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				h.Write(buf)
			}
		})
	}
}
