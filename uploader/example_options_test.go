package uploader_test

import (
	"fmt"

	"github.com/s3mpu/s3mpu/s3mem"
	"github.com/s3mpu/s3mpu/uploader"
)

// DefaultOptions shows the defaults and is a starting point: here the
// adaptive concurrency is kept (Concurrency stays 0) but bounded to 8
// connections, and parts are twice the default size.
func ExampleDefaultOptions() {
	d := uploader.DefaultOptions()
	fmt.Println("part size:", d.PartSize>>20, "MiB")
	fmt.Println("parts in flight: adaptive, up to", d.MaxConcurrency)
	fmt.Println("attempts per request:", d.MaxAttempts)
	fmt.Println("checksum:", d.ChecksumAlgorithm)
	fmt.Println("hedging: after", d.Hedge.After, "× the typical time, at most", d.Hedge.MaxFraction*100, "% of the object")

	u := uploader.New(s3mem.New("my-bucket"), func(o *uploader.Options) {
		*o = uploader.DefaultOptions()
		o.PartSize *= 2
		o.MaxConcurrency = 8
	})
	fmt.Println("this uploader:", u.Options().PartSize>>20, "MiB parts, up to", u.Options().MaxConcurrency, "in flight")
	// Output:
	// part size: 16 MiB
	// parts in flight: adaptive, up to 16
	// attempts per request: 5
	// checksum: CRC32C
	// hedging: after 2 × the typical time, at most 10 % of the object
	// this uploader: 32 MiB parts, up to 8 in flight
}
