package uploader

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/s3mpu/s3mpu/internal/s3fake"
)

// TestHugeConcurrencyAndMemory checks that extreme Concurrency and
// MaxBufferMemory values, up to the largest an int holds, neither panic
// nor overflow the number of part buffers: the upload is stored whole and
// the Started event reports a sane concurrency, whatever the body.
func TestHugeConcurrencyAndMemory(t *testing.T) {
	data := payload(12*mib + 1)
	for _, conc := range []int{math.MaxInt, math.MaxInt - 1, math.MaxInt32, 1 << 40} {
		for _, mem := range []int64{0, 5 * mib, math.MaxInt64, math.MaxInt64 - 1} {
			for _, body := range []string{"stream", "known size", "in place"} {
				t.Run(fmt.Sprintf("%d/%d/%s", conc, mem, body), func(t *testing.T) {
					c := s3fake.New("b")
					rec := &recorder{}
					in := &UploadInput{Bucket: "b", Key: "k", Body: streamOf(data)}
					switch body {
					case "known size":
						in.Size = int64(len(data))
					case "in place":
						in.Body = bytes.NewReader(data)
					}
					_, err := New(c, testOptions(newFakeClock(), rec), func(o *Options) { o.Concurrency, o.MaxBufferMemory = conc, mem }).
						Upload(context.Background(), in)
					if err != nil {
						t.Fatal(err)
					}
					st := eventsOf[Started](rec)
					if len(st) != 1 || st[0].Concurrency < 1 || st[0].Concurrency > conc {
						t.Fatalf("Started %+v", st)
					}
					if body != "in place" && mem != 0 && st[0].Concurrency > int(min(mem/(5*mib), math.MaxInt)) {
						t.Fatalf("concurrency %d not clamped to MaxBufferMemory %d", st[0].Concurrency, mem)
					}
					if obj := c.Object("b", "k"); obj == nil || !bytes.Equal(obj.Data, data) {
						t.Fatal("object not stored whole")
					}
				})
			}
		}
	}
}
