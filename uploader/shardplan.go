package uploader

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/mpu"
)

// PlanVersion is the version of the plan format CreatePlan writes and
// ParsePlan reads.
const PlanVersion = 1

// maxPlanSize bounds the plans ParsePlan accepts: 10,000 shards of about a
// hundred bytes each fit well within it.
const maxPlanSize = 8 << 20

// Plan is a sharded multipart upload: one upload, made by a coordinator
// with CreatePlan, whose parts are split into shards that separate
// processes (on separate hosts, run by a job scheduler) upload with
// UploadShard, and that CompletePlan completes once every shard is stored.
// S3 holds the state: the upload and its list of parts; the plan only says
// who sends what.
//
// A Plan is plain data: it marshals to JSON with snake_case keys (see
// MarshalPlan and ParsePlan) and holds nothing secret (no credentials, no
// SSE-C key), so it may be stored next to the data, in S3 or on a shared
// file system. Its schema, version 1:
//
//	{
//	  "version": 1,                      // PlanVersion
//	  "bucket": "b", "key": "k",         // the object
//	  "upload_id": "...",                // the multipart upload
//	  "created": "2026-12-07T04:00:00Z", // when CreatePlan made it
//	  "expected_bucket_owner": "...",    // optional, sent with every request
//	  "if_none_match": "*",              // optional, sent with Complete
//	  "size": 52428800,                  // bytes of the source
//	  "part_size": 5242880,              // every part but the last
//	  "parts": 10,                       // number of parts
//	  "checksum_algorithm": "CRC32C",
//	  "checksum_type": "FULL_OBJECT",
//	  "sse": {"algorithm": "aws:kms", "kms_key_id": "..."}, // optional
//	  "source": {"path": "/data/f", "size": 52428800, "mtime": "...",
//	             "head_crc32c": "...", "tail_crc32c": "..."},
//	  "shards": [{"index": 0, "first_part": 1, "last_part": 3,
//	              "offset": 0, "size": 15728640}, ...]
//	}
//
// Part n (from 1) holds the source's bytes from (n-1)*part_size, part_size
// of them except the last part. The shards are contiguous runs of parts,
// in order, covering every part once; shard i's bytes are offset to
// offset+size.
type Plan struct {
	// Version is PlanVersion.
	Version int `json:"version"`
	// Bucket and Key name the object; UploadID is the multipart upload.
	Bucket   string `json:"bucket"`
	Key      string `json:"key"`
	UploadID string `json:"upload_id"`
	// Created is when CreatePlan created the upload.
	Created time.Time `json:"created,omitzero"`
	// ExpectedBucketOwner is sent with every request when set.
	ExpectedBucketOwner string `json:"expected_bucket_owner,omitempty"`
	// IfNoneMatch is sent with CompleteMultipartUpload when set ("*":
	// refuse to overwrite an object).
	IfNoneMatch string `json:"if_none_match,omitempty"`
	// Size is the source's size; PartSize the size of every part but the
	// last; Parts the number of parts.
	Size     int64 `json:"size"`
	PartSize int64 `json:"part_size"`
	Parts    int32 `json:"parts"`
	// ChecksumAlgorithm and ChecksumType are the upload's checksum settings.
	ChecksumAlgorithm types.ChecksumAlgorithm `json:"checksum_algorithm"`
	ChecksumType      types.ChecksumType      `json:"checksum_type"`
	// SSE holds the upload's encryption settings, without secrets.
	SSE StateSSE `json:"sse,omitzero"`
	// Source identifies the source: its path when it is a file, size,
	// modification time and the CRC32C of its first and last MiB. Every
	// worker checks its copy against it.
	Source Source `json:"source"`
	// Shards are the shards, in order.
	Shards []PlanShard `json:"shards"`
}

// PlanShard is one shard of a Plan: a contiguous run of parts.
type PlanShard struct {
	// Index is the shard's position in Plan.Shards, from 0.
	Index int `json:"index"`
	// FirstPart and LastPart are the shard's first and last part numbers.
	FirstPart int32 `json:"first_part"`
	LastPart  int32 `json:"last_part"`
	// Offset and Size are the shard's bytes in the source.
	Offset int64 `json:"offset"`
	Size   int64 `json:"size"`
}

// splitShards splits parts parts of partSize (the last one holding the
// rest of size) into n contiguous shards whose numbers of parts differ by
// at most one.
func splitShards(size, partSize int64, parts int32, n int) []PlanShard {
	shards := make([]PlanShard, n)
	for i := range n {
		first := int32(int64(i)*int64(parts)/int64(n)) + 1
		last := int32(int64(i+1) * int64(parts) / int64(n))
		off := int64(first-1) * partSize
		end := min(int64(last)*partSize, size)
		shards[i] = PlanShard{Index: i, FirstPart: first, LastPart: last, Offset: off, Size: end - off}
	}
	return shards
}

// Validate checks that the plan is well formed and consistent: a known
// version, an object, an upload ID, a part size and checksum settings S3
// accepts, and shards that cover every part once, in order. It returns an
// error wrapping mpu.ErrInvalidInput.
func (p *Plan) Validate() error {
	if p == nil {
		return invalidf("nil plan")
	}
	if p.Version != PlanVersion {
		return invalidf("plan version %d is not %d", p.Version, PlanVersion)
	}
	if err := checkBucket("bucket", p.Bucket); err != nil {
		return err
	}
	if p.Key == "" || len(p.Key) > 1024 {
		return invalidf("plan key is empty or longer than 1024 bytes")
	}
	if p.UploadID == "" {
		return invalidf("plan has no upload ID")
	}
	if p.Size <= 0 || p.Size > mpu.MaxObjectSize {
		return invalidf("plan size %d is outside 1 to %d bytes", p.Size, mpu.MaxObjectSize)
	}
	if p.PartSize < mpu.MinPartSize || p.PartSize > mpu.MaxPartSize {
		return invalidf("plan part size %d is outside S3's range of %d to %d bytes", p.PartSize, mpu.MinPartSize, mpu.MaxPartSize)
	}
	parts := (p.Size + p.PartSize - 1) / p.PartSize
	if parts > mpu.MaxParts || int64(p.Parts) != parts {
		return invalidf("plan says %d parts; %d bytes in parts of %d make %d (at most %d)", p.Parts, p.Size, p.PartSize, parts, mpu.MaxParts)
	}
	if _, err := checksumFor(p.ChecksumAlgorithm, p.ChecksumType); err != nil {
		return err
	}
	if p.ChecksumType == "" {
		return invalidf("plan has no checksum type")
	}
	if p.Source.Size != p.Size {
		return invalidf("plan source size %d is not the plan size %d", p.Source.Size, p.Size)
	}
	if len(p.Shards) == 0 {
		return invalidf("plan has no shards")
	}
	next := int32(1)
	for i, s := range p.Shards {
		if s.Index != i {
			return invalidf("plan shard %d has index %d", i, s.Index)
		}
		if s.FirstPart != next || s.LastPart < s.FirstPart || s.LastPart > p.Parts {
			return invalidf("plan shard %d holds parts %d to %d; it should start at part %d and end by part %d", i, s.FirstPart, s.LastPart, next, p.Parts)
		}
		off := int64(s.FirstPart-1) * p.PartSize
		end := min(int64(s.LastPart)*p.PartSize, p.Size)
		if s.Offset != off || s.Size != end-off {
			return invalidf("plan shard %d holds bytes %d+%d; its parts hold %d+%d", i, s.Offset, s.Size, off, end-off)
		}
		next = s.LastPart + 1
	}
	if next != p.Parts+1 {
		return invalidf("plan shards end at part %d of %d", next-1, p.Parts)
	}
	return nil
}

// MarshalPlan returns the plan as indented JSON, after validating it.
func MarshalPlan(p *Plan) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ParsePlan parses and validates a plan written by MarshalPlan. Unknown
// fields, a plan larger than 8 MiB and an invalid plan fail with
// mpu.ErrInvalidInput.
func ParsePlan(data []byte) (*Plan, error) {
	if len(data) > maxPlanSize {
		return nil, invalidf("plan is larger than %d bytes", maxPlanSize)
	}
	var p Plan
	trailing, err := decodeOne(data, &p)
	if err != nil {
		return nil, invalidf("plan is not valid JSON: %v", err)
	}
	if trailing {
		return nil, invalidf("plan has data after its JSON object")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// uploadInput is the UploadInput of the plan's requests.
func (p *Plan) uploadInput() *UploadInput {
	return &UploadInput{
		Bucket: p.Bucket, Key: p.Key, ExpectedBucketOwner: p.ExpectedBucketOwner, IfNoneMatch: p.IfNoneMatch,
		ServerSideEncryption: p.SSE.Algorithm, SSEKMSKeyID: p.SSE.KMSKeyID,
		ChecksumAlgorithm: p.ChecksumAlgorithm, ChecksumType: p.ChecksumType,
	}
}

// shardOf returns the index of the shard holding part n.
func (p *Plan) shardOf(n int32) int {
	for _, s := range p.Shards {
		if n >= s.FirstPart && n <= s.LastPart {
			return s.Index
		}
	}
	return -1
}

// ErrPlanIncomplete is matched (errors.Is) by the error of CompletePlan
// when parts of the plan are missing on the server or do not match it; the
// error is then an *UploadError whose Err is an *IncompleteError naming the
// shards to run again, and nothing was completed.
var ErrPlanIncomplete = errors.New("parts of the plan are missing or do not match")

// IncompleteError names the shards of a plan whose parts are not all
// stored as planned. CompletePlan returns it (inside an *UploadError)
// instead of completing the upload.
type IncompleteError struct {
	// UploadID is the plan's upload.
	UploadID string
	// Shards are the incomplete shards, in order.
	Shards []ShardProblem
}

// ShardProblem is what is wrong with one shard's parts.
type ShardProblem struct {
	// Shard is the shard's index.
	Shard int `json:"shard"`
	// Missing are the part numbers the server does not hold.
	Missing []int32 `json:"missing,omitempty"`
	// WrongSize are the parts stored with another size than planned.
	WrongSize []int32 `json:"wrong_size,omitempty"`
	// BadChecksum are the parts stored without a checksum of the plan's
	// algorithm, or (when CompletePlan was given the source) with one
	// that differs from the local data's.
	BadChecksum []int32 `json:"bad_checksum,omitempty"`
}

// ShardIndexes returns the indexes of the incomplete shards.
func (e *IncompleteError) ShardIndexes() []int {
	out := make([]int, len(e.Shards))
	for i, s := range e.Shards {
		out[i] = s.Shard
	}
	return out
}

// Error names the shards and their parts.
func (e *IncompleteError) Error() string {
	var b strings.Builder
	idx := e.ShardIndexes()
	word := "shards"
	if len(idx) == 1 {
		word = "shard"
	}
	fmt.Fprintf(&b, "%s %s incomplete, nothing completed (run them again):", word, joinInts(idx))
	for i, s := range e.Shards {
		if i > 0 {
			b.WriteString(";")
		}
		fmt.Fprintf(&b, " shard %d:", s.Shard)
		var what []string
		if len(s.Missing) > 0 {
			what = append(what, partRanges(s.Missing)+" missing")
		}
		if len(s.WrongSize) > 0 {
			what = append(what, partRanges(s.WrongSize)+" of the wrong size")
		}
		if len(s.BadChecksum) > 0 {
			what = append(what, partRanges(s.BadChecksum)+" with a missing or wrong checksum")
		}
		b.WriteString(" " + strings.Join(what, ", "))
	}
	return b.String()
}

// Is reports whether target is ErrPlanIncomplete.
func (e *IncompleteError) Is(target error) bool { return target == ErrPlanIncomplete }

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}

// partRanges writes sorted part numbers as ranges: "part 4", "parts 1-3,7".
func partRanges(nums []int32) string {
	var b strings.Builder
	if len(nums) == 1 {
		return fmt.Sprintf("part %d", nums[0])
	}
	b.WriteString("parts ")
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if b.Len() > len("parts ") {
			b.WriteString(",")
		}
		if j > i {
			fmt.Fprintf(&b, "%d-%d", nums[i], nums[j])
		} else {
			fmt.Fprintf(&b, "%d", nums[i])
		}
		i = j + 1
	}
	return b.String()
}
