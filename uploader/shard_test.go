package uploader

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/s3mpu/s3mpu/mpu"
	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader/event"
)

// shardFixture is a file of 8 parts of 5 MiB (the last one 1 MiB), planned
// as 3 shards: parts 1-2, 3-5 and 6-8.
type shardFixture struct {
	c    *s3mem.Client
	data []byte
	path string
	plan *Plan
}

const shardFixtureSize = 7*5*mib + mib

// shardData is the fixture's data, made once: the tests never change it.
var shardData = sync.OnceValue(func() []byte { return payload(shardFixtureSize) })

func newShardFixture(t *testing.T) *shardFixture {
	t.Helper()
	fx := &shardFixture{c: s3mem.New("b"), data: shardData(), path: filepath.Join(t.TempDir(), "data.bin")}
	if err := os.WriteFile(fx.path, fx.data, 0o600); err != nil {
		t.Fatal(err)
	}
	f := fx.open(t)
	p, err := New(fx.c, testOptions(newFakeClock(), nil)).CreatePlan(context.Background(), &PlanInput{
		UploadInput: UploadInput{Bucket: "b", Key: "k", Body: f}, Shards: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	fx.plan = p
	return fx
}

func (fx *shardFixture) open(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Open(fx.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func (fx *shardFixture) shard(t *testing.T, i int, optFns ...func(*Options)) (*ShardOutput, error) {
	t.Helper()
	opts := append([]func(*Options){testOptions(newFakeClock(), nil)}, optFns...)
	return New(fx.c, opts...).UploadShard(context.Background(), fx.plan, &ShardInput{Shard: i, Body: fx.open(t)})
}

func (fx *shardFixture) mustShard(t *testing.T, i int) *ShardOutput {
	t.Helper()
	out, err := fx.shard(t, i)
	if err != nil {
		t.Fatalf("shard %d: %v", i, err)
	}
	return out
}

func (fx *shardFixture) complete(t *testing.T, in *CompletePlanInput) (*UploadOutput, error) {
	t.Helper()
	return New(fx.c, testOptions(newFakeClock(), nil)).CompletePlan(context.Background(), fx.plan, in)
}

// checkStored checks that the object holds the fixture's data and that
// no upload is left.
func (fx *shardFixture) checkStored(t *testing.T, out *UploadOutput) {
	t.Helper()
	obj := fx.c.Object("b", "k")
	if obj == nil || !bytes.Equal(obj.Data, fx.data) {
		t.Fatal("the object does not hold the source's bytes")
	}
	if want := s3mem.Checksum(types.ChecksumAlgorithmCrc32c, fx.data); out.Checksum != want || obj.Checksum != want {
		t.Fatalf("checksum %s, object %s, want %s", out.Checksum, obj.Checksum, want)
	}
	if n := len(fx.c.Uploads()); n != 0 {
		t.Fatalf("%d uploads left", n)
	}
}

// putPart stores data as part n of the plan's upload, as a stray worker
// with other data would.
func (fx *shardFixture) putPart(t *testing.T, n int32, data []byte) {
	t.Helper()
	_, err := fx.c.UploadPart(context.Background(), &s3.UploadPartInput{
		Bucket: aws.String("b"), Key: aws.String("k"), UploadId: aws.String(fx.plan.UploadID),
		PartNumber: aws.Int32(n), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func incompleteOf(t *testing.T, err error) []ShardProblem {
	t.Helper()
	var ue *UploadError
	var ie *IncompleteError
	if !errors.Is(err, ErrPlanIncomplete) || !errors.As(err, &ue) || !errors.As(err, &ie) {
		t.Fatalf("got %v, want an incomplete plan", err)
	}
	if ue.Op != mpu.OpCheckParts || ue.Aborted {
		t.Fatalf("Op %s, Aborted %v", ue.Op, ue.Aborted)
	}
	return ie.Shards
}

func TestShardedUploadAllShards(t *testing.T) {
	fx := newShardFixture(t)
	p := fx.plan
	if p.Parts != 8 || p.PartSize != 5*mib || len(p.Shards) != 3 {
		t.Fatalf("plan: %d parts of %d, %d shards", p.Parts, p.PartSize, len(p.Shards))
	}
	want := []PlanShard{{0, 1, 2, 0, 10 * mib}, {1, 3, 5, 10 * mib, 15 * mib}, {2, 6, 8, 25 * mib, 11 * mib}}
	if !slices.Equal(p.Shards, want) {
		t.Fatalf("shards %+v, want %+v", p.Shards, want)
	}
	if fx.c.Count(s3mem.OpUploadPart) != 0 {
		t.Fatal("CreatePlan sent parts")
	}
	// Shards in reverse order: they are independent.
	for i := 2; i >= 0; i-- {
		out := fx.mustShard(t, i)
		sh := p.Shards[i]
		if len(out.PartsSent) != int(sh.LastPart-sh.FirstPart+1) || len(out.PartsSkipped) != 0 || out.BytesSent != sh.Size {
			t.Fatalf("shard %d: sent %v, skipped %v, %d bytes", i, out.PartsSent, out.PartsSkipped, out.BytesSent)
		}
	}
	if n := fx.c.Count(s3mem.OpUploadPart); n != 8 {
		t.Fatalf("%d UploadPart calls, want 8", n)
	}
	out, err := fx.complete(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	fx.checkStored(t, out)
	if fx.c.Count(s3mem.OpHeadObject) != 1 {
		t.Fatal("the object was not verified with HeadObject")
	}
}

func TestCompletePlanMissingShard(t *testing.T) {
	fx := newShardFixture(t)
	fx.mustShard(t, 0)
	fx.mustShard(t, 2)
	_, err := fx.complete(t, nil)
	probs := incompleteOf(t, err)
	if len(probs) != 1 || probs[0].Shard != 1 || !slices.Equal(probs[0].Missing, []int32{3, 4, 5}) {
		t.Fatalf("problems %+v", probs)
	}
	if !strings.Contains(err.Error(), "shard 1 incomplete") {
		t.Fatalf("message: %v", err)
	}
	if fx.c.Count(s3mem.OpCompleteMultipartUpload) != 0 || fx.c.Count(s3mem.OpAbortMultipartUpload) != 0 || len(fx.c.Uploads()) != 1 {
		t.Fatal("an incomplete plan was completed or aborted")
	}
	fx.mustShard(t, 1)
	out, err := fx.complete(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	fx.checkStored(t, out)
}

func TestShardWrongSizePart(t *testing.T) {
	fx := newShardFixture(t)
	for i := range 3 {
		fx.mustShard(t, i)
	}
	fx.putPart(t, 4, fx.data[:mib]) // part 4 with 1 MiB instead of 5
	_, err := fx.complete(t, nil)
	probs := incompleteOf(t, err)
	if len(probs) != 1 || probs[0].Shard != 1 || !slices.Equal(probs[0].WrongSize, []int32{4}) || len(probs[0].Missing) != 0 {
		t.Fatalf("problems %+v", probs)
	}
	if fx.c.Count(s3mem.OpCompleteMultipartUpload) != 0 {
		t.Fatal("completed")
	}
	out := fx.mustShard(t, 1)
	if !slices.Equal(out.PartsSent, []int32{4}) || !slices.Equal(out.PartsSkipped, []int32{3, 5}) {
		t.Fatalf("rerun sent %v, skipped %v", out.PartsSent, out.PartsSkipped)
	}
	res, err := fx.complete(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	fx.checkStored(t, res)
}

func TestShardWrongChecksumPart(t *testing.T) {
	fx := newShardFixture(t)
	for i := range 3 {
		fx.mustShard(t, i)
	}
	other := bytes.Clone(fx.data[6*5*mib : 7*5*mib])
	other[12345] ^= 1
	fx.putPart(t, 7, other) // right size, other bytes
	// Given the source, CompletePlan compares every part with it.
	_, err := fx.complete(t, &CompletePlanInput{Source: fx.open(t)})
	probs := incompleteOf(t, err)
	if len(probs) != 1 || probs[0].Shard != 2 || !slices.Equal(probs[0].BadChecksum, []int32{7}) {
		t.Fatalf("problems %+v", probs)
	}
	if fx.c.Count(s3mem.OpCompleteMultipartUpload) != 0 {
		t.Fatal("completed")
	}
	// The shard's rerun finds the part's checksum is not the local data's.
	out := fx.mustShard(t, 2)
	if !slices.Equal(out.PartsSent, []int32{7}) || !slices.Equal(out.PartsSkipped, []int32{6, 8}) {
		t.Fatalf("rerun sent %v, skipped %v", out.PartsSent, out.PartsSkipped)
	}
	res, err := fx.complete(t, &CompletePlanInput{Source: fx.open(t)})
	if err != nil {
		t.Fatal(err)
	}
	fx.checkStored(t, res)
}

func TestCompletePlanPartWithoutChecksum(t *testing.T) {
	fx := newShardFixture(t)
	for i := range 3 {
		fx.mustShard(t, i)
	}
	// The server lists part 2 without a checksum, and part 5 with a
	// malformed one: neither can be combined into the object's checksum.
	fx.c.Hook(s3mem.OpListParts, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		out, err := next(ctx)
		if lp, ok := out.(*s3.ListPartsOutput); ok && err == nil {
			for i := range lp.Parts {
				switch aws.ToInt32(lp.Parts[i].PartNumber) {
				case 2:
					lp.Parts[i].ChecksumCRC32C = nil
				case 5:
					lp.Parts[i].ChecksumCRC32C = aws.String("not base64!")
				}
			}
		}
		return out, err
	})
	_, err := fx.complete(t, nil)
	probs := incompleteOf(t, err)
	if len(probs) != 2 || !slices.Equal(probs[0].BadChecksum, []int32{2}) || !slices.Equal(probs[1].BadChecksum, []int32{5}) {
		t.Fatalf("problems %+v", probs)
	}
	if fx.c.Count(s3mem.OpCompleteMultipartUpload) != 0 {
		t.Fatal("completed")
	}
	fx.c.ClearHooks(s3mem.OpListParts)
	out, err := fx.complete(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	fx.checkStored(t, out)
}

func TestShardRerunSkipsStoredParts(t *testing.T) {
	fx := newShardFixture(t)
	// Part 5 is refused: the worker stops after parts 3 and 4.
	fx.c.Hook(s3mem.OpUploadPart, s3mem.FailIf(func(call *s3mem.Call) error {
		if aws.ToInt32(call.Input.(*s3.UploadPartInput).PartNumber) == 5 {
			return s3mem.AccessDenied(s3mem.OpUploadPart)
		}
		return nil
	}))
	_, err := fx.shard(t, 1, func(o *Options) { o.Concurrency = 1 })
	var ue *UploadError
	if !errors.As(err, &ue) || !errors.Is(err, mpu.ErrPermissionDenied) || ue.Aborted || ue.PartNumber != 5 {
		t.Fatalf("got %v", err)
	}
	if fx.c.Count(s3mem.OpAbortMultipartUpload) != 0 || len(fx.c.Uploads()) != 1 {
		t.Fatal("a failed shard aborted the plan's upload")
	}
	fx.c.ClearHooks(s3mem.OpUploadPart)
	fx.c.ResetCalls()
	rec := &recorder{}
	out, err := fx.shard(t, 1, func(o *Options) { o.Listener = rec })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out.PartsSkipped, []int32{3, 4}) || !slices.Equal(out.PartsSent, []int32{5}) || out.BytesSent != 5*mib {
		t.Fatalf("rerun sent %v, skipped %v", out.PartsSent, out.PartsSkipped)
	}
	if !slices.Equal(partNumbers(fx.c), []int32{5}) {
		t.Fatalf("rerun sent parts %v", partNumbers(fx.c))
	}
	if r := eventsOf[event.Resumed](rec); len(r) != 1 || r[0].PartsStored != 2 || r[0].PartsToSend != 1 {
		t.Fatalf("Resumed events %+v", r)
	}
	// A second rerun sends nothing.
	fx.c.ResetCalls()
	out, err = fx.shard(t, 1)
	if err != nil || len(out.PartsSent) != 0 || fx.c.Count(s3mem.OpUploadPart) != 0 {
		t.Fatalf("second rerun: %v, sent %v", err, out.PartsSent)
	}
	fx.mustShard(t, 0)
	fx.mustShard(t, 2)
	res, err := fx.complete(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	fx.checkStored(t, res)
}

func TestShardChangedSource(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, path string)
	}{
		{"mtime", func(t *testing.T, path string) {
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(path, later, later); err != nil {
				t.Fatal(err)
			}
		}},
		{"size", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newShardFixture(t)
			tc.change(t, fx.path)
			_, err := fx.shard(t, 1)
			var ue *UploadError
			if !errors.Is(err, mpu.ErrSourceChanged) || !errors.As(err, &ue) || ue.Aborted {
				t.Fatalf("got %v, want mpu.ErrSourceChanged", err)
			}
			if fx.c.Count(s3mem.OpUploadPart) != 0 {
				t.Fatal("parts of a changed source were sent")
			}
			_, err = fx.complete(t, &CompletePlanInput{Source: fx.open(t)})
			if !errors.Is(err, mpu.ErrSourceChanged) || fx.c.Count(s3mem.OpCompleteMultipartUpload) != 0 {
				t.Fatalf("complete: %v", err)
			}
			if err := New(fx.c).AbortPlan(context.Background(), fx.plan); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAbortPlan(t *testing.T) {
	fx := newShardFixture(t)
	fx.mustShard(t, 0)
	fx.c.Hook(s3mem.OpAbortMultipartUpload, s3mem.Fail(s3mem.AccessDenied(s3mem.OpAbortMultipartUpload)))
	err := New(fx.c, testOptions(newFakeClock(), nil)).AbortPlan(context.Background(), fx.plan)
	var ue *UploadError
	if !errors.Is(err, mpu.ErrPermissionDenied) || !errors.As(err, &ue) || ue.UploadID != fx.plan.UploadID ||
		!strings.Contains(err.Error(), "initiator") {
		t.Fatalf("denied abort: %v", err)
	}
	fx.c.ClearHooks(s3mem.OpAbortMultipartUpload)
	rec := &recorder{}
	if err := New(fx.c, testOptions(newFakeClock(), rec)).AbortPlan(context.Background(), fx.plan); err != nil {
		t.Fatal(err)
	}
	if n := len(fx.c.Uploads()); n != 0 {
		t.Fatalf("%d uploads left", n)
	}
	if a := eventsOf[event.Aborted](rec); len(a) != 1 || !a[0].Verified {
		t.Fatalf("Aborted events %+v", a)
	}
	// Aborting again is not an error; a shard or Complete after it is NotFound.
	if err := New(fx.c, testOptions(newFakeClock(), nil)).AbortPlan(context.Background(), fx.plan); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.shard(t, 1); !errors.Is(err, mpu.ErrNotFound) {
		t.Fatalf("shard after abort: %v", err)
	} else if strings.Contains(err.Error(), "left in place") {
		t.Fatalf("shard after abort says the gone upload was left in place: %v", err)
	}
	if _, err := fx.complete(t, nil); !errors.Is(err, mpu.ErrNotFound) {
		t.Fatalf("complete after abort: %v", err)
	} else if strings.Contains(err.Error(), "left in place") {
		t.Fatalf("complete after abort says the gone upload was left in place: %v", err)
	}
}

// denyChecker is a preflight checker that denies the steps it is given.
type denyChecker struct {
	deny  []mpu.Step
	asked [][]mpu.Step
}

func (d *denyChecker) CheckUpload(_ context.Context, _ *s3.CreateMultipartUploadInput, steps []mpu.Step) error {
	d.asked = append(d.asked, steps)
	for _, s := range steps {
		if slices.Contains(d.deny, s) {
			return mpu.ErrPermissionDenied
		}
	}
	return nil
}

func TestPlanPreflight(t *testing.T) {
	c := s3mem.New("b")
	chk := &denyChecker{deny: []mpu.Step{mpu.Abort}}
	_, err := New(c, testOptions(newFakeClock(), nil), func(o *Options) { o.Preflight = chk }).CreatePlan(context.Background(),
		&PlanInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(shardData()[:11*mib])}, Shards: 2})
	var ue *UploadError
	if !errors.As(err, &ue) || ue.Op != mpu.OpPreflight || c.Count(s3mem.OpCreateMultipartUpload) != 0 {
		t.Fatalf("got %v", err)
	}
	want := []mpu.Step{mpu.Initiate, mpu.UploadPart, mpu.ListParts, mpu.Complete, mpu.Abort}
	if len(chk.asked) != 1 || !slices.Equal(chk.asked[0], want) {
		t.Fatalf("asked %v", chk.asked)
	}

	fx := newShardFixture(t)
	chk = &denyChecker{deny: []mpu.Step{mpu.Abort}}
	err = New(fx.c, testOptions(newFakeClock(), nil), func(o *Options) { o.Preflight = chk }).AbortPlan(context.Background(), fx.plan)
	if !errors.As(err, &ue) || ue.Op != mpu.OpPreflight || fx.c.Count(s3mem.OpAbortMultipartUpload) != 0 || len(fx.c.Uploads()) != 1 {
		t.Fatalf("abort: %v", err)
	}
	if err := New(fx.c).AbortPlan(context.Background(), fx.plan); err != nil {
		t.Fatal(err)
	}
}

func TestCreatePlanInvalid(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, shardData()[:11*mib], 0o600); err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("k", 43) + "="
	for _, tc := range []struct {
		name string
		mod  func(in *PlanInput)
	}{
		{"no shards", func(in *PlanInput) { in.Shards = 0 }},
		{"more shards than parts", func(in *PlanInput) { in.Shards = 4 }},
		{"stream", func(in *PlanInput) { in.Body = streamOf(shardData()[:11*mib]) }},
		{"empty", func(in *PlanInput) { in.Body = bytes.NewReader(nil) }},
		{"sse-c", func(in *PlanInput) { in.SSECustomerAlgorithm, in.SSECustomerKey = "AES256", key }},
		{"no bucket", func(in *PlanInput) { in.Bucket = "" }},
		{"offset", func(in *PlanInput) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			if _, err := f.Seek(10, 0); err != nil {
				t.Fatal(err)
			}
			in.Body = f
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s3mem.New("b")
			in := &PlanInput{UploadInput: UploadInput{Bucket: "b", Key: "k", Body: bytes.NewReader(shardData()[:11*mib])}, Shards: 2}
			tc.mod(in)
			_, err := New(c, testOptions(newFakeClock(), nil)).CreatePlan(context.Background(), in)
			var ue *UploadError
			if !errors.Is(err, mpu.ErrInvalidInput) || !errors.As(err, &ue) || ue.Op != mpu.OpValidate || len(c.Calls()) != 0 {
				t.Fatalf("got %v after %v", err, c.Ops())
			}
		})
	}
}

// TestSplitShardsProperty checks, for random sizes, part sizes and shard
// counts, that the plan validates, covers every byte once and that
// shards' part counts differ by at most one.
func TestSplitShardsProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		size := 1 + r.Int64N(mpu.MaxObjectSize)
		if r.IntN(2) == 0 {
			size = 1 + r.Int64N(1<<34)
		}
		ps, err := partSizeFor(size, mpu.MinPartSize+r.Int64N(64*mib))
		if err != nil {
			t.Fatal(err)
		}
		parts := int32((size + ps - 1) / ps)
		n := 1 + r.IntN(int(min(parts, 300)))
		p := &Plan{
			Version: PlanVersion, Bucket: "b", Key: "k", UploadID: "u", Size: size, PartSize: ps, Parts: parts,
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c, ChecksumType: types.ChecksumTypeFullObject,
			Source: Source{Size: size}, Shards: splitShards(size, ps, parts, n),
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("size %d part %d shards %d: %v", size, ps, n, err)
		}
		var total int64
		lo, hi := int32(parts), int32(0)
		for _, s := range p.Shards {
			total += s.Size
			k := s.LastPart - s.FirstPart + 1
			lo, hi = min(lo, k), max(hi, k)
		}
		if total != size || hi-lo > 1 {
			t.Fatalf("size %d shards %d: total %d, parts per shard %d to %d", size, n, total, lo, hi)
		}
	}
}

func TestParsePlan(t *testing.T) {
	fx := newShardFixture(t)
	data, err := MarshalPlan(fx.plan)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"upload_id"`, `"part_size"`, `"first_part"`, `"checksum_algorithm"`, `"head_crc32c"`} {
		if !bytes.Contains(data, []byte(k)) {
			t.Fatalf("plan JSON lacks %s:\n%s", k, data)
		}
	}
	p, err := ParsePlan(data)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Source.ModTime.Equal(fx.plan.Source.ModTime) || p.UploadID != fx.plan.UploadID || !slices.Equal(p.Shards, fx.plan.Shards) {
		t.Fatalf("round trip: %+v", p)
	}
	for name, edit := range map[string]func(s string) string{
		"unknown field": func(s string) string { return strings.Replace(s, `"version"`, `"secret": "x", "version"`, 1) },
		"version":       func(s string) string { return strings.Replace(s, `"version": 1`, `"version": 2`, 1) },
		"gap":           func(s string) string { return strings.Replace(s, `"first_part": 3`, `"first_part": 4`, 1) },
		"part count":    func(s string) string { return strings.Replace(s, `"parts": 8`, `"parts": 9`, 1) },
		"no upload":     func(s string) string { return strings.Replace(s, fx.plan.UploadID, "", 1) },
		"trailing":      func(s string) string { return s + "{}" },
		"stray bracket": func(s string) string { return s + " ]" },
		"not json":      func(string) string { return "plan" },
	} {
		if _, err := ParsePlan([]byte(edit(string(data)))); !errors.Is(err, mpu.ErrInvalidInput) {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if err := New(fx.c).AbortPlan(context.Background(), fx.plan); err != nil {
		t.Fatal(err)
	}
}

func FuzzParsePlan(f *testing.F) {
	p := &Plan{
		Version: PlanVersion, Bucket: "b", Key: "k", UploadID: "u", Size: 11 * mib, PartSize: 5 * mib, Parts: 3,
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c, ChecksumType: types.ChecksumTypeFullObject,
		Source: Source{Size: 11 * mib, HeadCRC32C: "00000000", TailCRC32C: "00000000"},
		Shards: splitShards(11*mib, 5*mib, 3, 2),
	}
	good, err := MarshalPlan(p)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"version":1,"shards":[{"index":0,"first_part":-1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePlan(data)
		if err != nil {
			if !errors.Is(err, mpu.ErrInvalidInput) {
				t.Fatalf("error not mpu.ErrInvalidInput: %v", err)
			}
			return
		}
		again, err := MarshalPlan(p)
		if err != nil {
			t.Fatalf("a parsed plan does not marshal: %v", err)
		}
		p2, err := ParsePlan(again)
		if err != nil {
			t.Fatalf("re-encoded plan rejected: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip changed the plan:\n%+v\n%+v", p, p2)
		}
	})
}

// TestShardAbortedWhileSending: AbortPlan runs while a shard's parts are
// in flight. S3 may still store a part that was in flight during the
// abort (its AbortMultipartUpload documentation says so), so every
// UploadPart of the shard can succeed although the upload is gone.
// UploadShard must not then report the shard stored: it checks the
// shard's parts on the server after sending them.
func TestShardAbortedWhileSending(t *testing.T) {
	fx := newShardFixture(t)
	sh := fx.plan.Shards[0]
	fx.c.Hook(s3mem.OpUploadPart, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		out, err := next(ctx)
		if in := call.Input.(*s3.UploadPartInput); err == nil && aws.ToInt32(in.PartNumber) == sh.LastPart {
			// The abort lands while the shard's last part is in flight; the part is stored anyway.
			if aerr := New(fx.c, testOptions(newFakeClock(), nil)).AbortPlan(context.Background(), fx.plan); aerr != nil {
				t.Error(aerr)
			}
		}
		return out, err
	})
	out, err := fx.shard(t, 0, func(o *Options) { o.Concurrency = 1 })
	if err == nil {
		t.Fatalf("UploadShard reported shard 0 stored (%d parts sent) on an upload aborted meanwhile", len(out.PartsSent))
	}
	if !errors.Is(err, mpu.ErrNotFound) || !strings.Contains(err.Error(), "no longer exists") {
		t.Fatalf("shard on an upload aborted meanwhile: %v", err)
	}
	if len(fx.c.Uploads()) != 0 {
		t.Fatalf("%d uploads left", len(fx.c.Uploads()))
	}
}

// TestShardPartReplacedWhileSending: another worker (run on the same shard
// with other data of the same size, say) replaces one of the shard's parts
// while this worker sends the others. UploadShard must not report the
// shard stored with this worker's data: it names the part to send again.
func TestShardPartReplacedWhileSending(t *testing.T) {
	fx := newShardFixture(t)
	sh := fx.plan.Shards[0]
	other := bytes.Repeat([]byte{'x'}, int(fx.plan.PartSize))
	fx.c.Hook(s3mem.OpUploadPart, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		out, err := next(ctx)
		if in := call.Input.(*s3.UploadPartInput); err == nil && aws.ToInt32(in.PartNumber) == sh.LastPart {
			fx.c.ClearHooks(s3mem.OpUploadPart)
			if _, perr := fx.c.UploadPart(ctx, &s3.UploadPartInput{Bucket: in.Bucket, Key: in.Key, UploadId: in.UploadId,
				PartNumber: aws.Int32(sh.FirstPart), Body: bytes.NewReader(other), ChecksumAlgorithm: fx.plan.ChecksumAlgorithm}); perr != nil {
				t.Error(perr)
			}
		}
		return out, err
	})
	_, err := fx.shard(t, 0, func(o *Options) { o.Concurrency = 1 })
	var ie *IncompleteError
	if !errors.As(err, &ie) || !errors.Is(err, ErrPlanIncomplete) || len(ie.Shards) != 1 ||
		!slices.Equal(ie.Shards[0].BadChecksum, []int32{sh.FirstPart}) {
		t.Fatalf("shard whose part was replaced meanwhile: %v", err)
	}
	// Run again, it sends that part again and the plan completes with this data.
	if out, err := fx.shard(t, 0); err != nil || !slices.Equal(out.PartsSent, []int32{sh.FirstPart}) {
		t.Fatalf("rerun: %+v, %v", out, err)
	}
	for i := 1; i < len(fx.plan.Shards); i++ {
		if _, err := fx.shard(t, i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fx.complete(t, nil); err != nil {
		t.Fatal(err)
	}
	if o := fx.c.Object("b", "k"); o == nil || !bytes.Equal(o.Data, fx.data) {
		t.Fatal("the object is not the source")
	}
}

// TestShardRerunListedPartTwice: a server listing a stored part more than once (pages that
// overlap, a marker ignored) neither races on the part's record (under -race) nor sends or
// skips a part twice when a shard is run again.
func TestShardRerunListedPartTwice(t *testing.T) {
	fx := newShardFixture(t)
	fx.mustShard(t, 1)
	fx.c.Hook(s3mem.OpListParts, func(ctx context.Context, call *s3mem.Call, next s3mem.Next) (any, error) {
		out, err := next(ctx)
		if lp, ok := out.(*s3.ListPartsOutput); ok && err == nil {
			parts := slices.Clone(lp.Parts)
			lp.Parts = append(append(parts, lp.Parts...), lp.Parts...)
		}
		return out, err
	})
	fx.c.ResetCalls()
	out, err := fx.shard(t, 1, func(o *Options) { o.Concurrency = 16 })
	if err != nil {
		t.Fatal(err)
	}
	if len(out.PartsSent) != 0 || !slices.Equal(out.PartsSkipped, []int32{3, 4, 5}) || fx.c.Count(s3mem.OpUploadPart) != 0 {
		t.Fatalf("rerun sent %v, skipped %v", out.PartsSent, out.PartsSkipped)
	}
	fx.c.ClearHooks(s3mem.OpListParts)
	fx.mustShard(t, 0)
	fx.mustShard(t, 2)
	res, err := fx.complete(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	fx.checkStored(t, res)
}
