package uploader_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader"
)

// A sharded upload: a coordinator makes the plan, workers (here in one
// process; normally one per host, run by a job scheduler) each upload a
// shard from their copy of the data, and CompletePlan completes the upload
// only once every shard is stored, naming the missing ones before. (The
// client here is the in-memory S3 of package s3mem; pass an *s3.Client in
// real use.)
func ExampleUploader_CreatePlan() {
	client := s3mem.New("my-bucket")
	u := uploader.New(client, func(o *uploader.Options) { o.PartSize = 5 << 20 })
	ctx := context.Background()
	data := bytes.Repeat([]byte("x"), 21<<20) // 5 parts

	plan, err := u.CreatePlan(ctx, &uploader.PlanInput{
		UploadInput: uploader.UploadInput{Bucket: "my-bucket", Key: "dump.bin", Body: bytes.NewReader(data)},
		Shards:      3,
	})
	if err != nil {
		fmt.Println("plan:", err)
		return
	}
	js, _ := uploader.MarshalPlan(plan) // what the workers read
	plan, _ = uploader.ParsePlan(js)
	for _, s := range plan.Shards {
		fmt.Printf("shard %d: parts %d-%d\n", s.Index, s.FirstPart, s.LastPart)
	}

	for _, i := range []int{0, 2} {
		if _, err := u.UploadShard(ctx, plan, &uploader.ShardInput{Shard: i, Body: bytes.NewReader(data)}); err != nil {
			fmt.Println("shard:", err)
		}
	}
	_, err = u.CompletePlan(ctx, plan, nil)
	var ie *uploader.IncompleteError
	if errors.As(err, &ie) {
		fmt.Println("incomplete shards:", ie.ShardIndexes())
	}

	out, _ := u.UploadShard(ctx, plan, &uploader.ShardInput{Shard: 1, Body: bytes.NewReader(data)})
	fmt.Println("shard 1 sent parts", out.PartsSent)
	res, err := u.CompletePlan(ctx, plan, nil)
	if err != nil {
		fmt.Println("complete:", err)
		return
	}
	fmt.Println(res.Size, len(res.Parts), res.ChecksumAlgorithm, res.ChecksumType)
	// Output:
	// shard 0: parts 1-1
	// shard 1: parts 2-3
	// shard 2: parts 4-5
	// incomplete shards: [1]
	// shard 1 sent parts [2 3]
	// 22020096 5 CRC32C FULL_OBJECT
}
