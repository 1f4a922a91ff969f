package cmdkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// pagedLister serves the uploads key-0 ... key-(n-1) in pages of size, with the markers
// a server gives; the misbehaviour fields make it give wrong ones after the first page.
type pagedLister struct {
	n, size     int
	noMarkers   bool // truncated pages carry no next markers
	sameMarkers bool // every truncated page carries the first page's markers
	calls       int
	prefixes    []string
}

func (l *pagedLister) ListMultipartUploads(_ context.Context, in *s3.ListMultipartUploadsInput, _ ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error) {
	l.calls++
	l.prefixes = append(l.prefixes, aws.ToString(in.Prefix))
	start := 0
	if m := aws.ToString(in.KeyMarker); m != "" {
		fmt.Sscanf(m, "key-%d", &start)
		start++
	}
	out := &s3.ListMultipartUploadsOutput{}
	end := min(start+l.size, l.n)
	for i := start; i < end; i++ {
		out.Uploads = append(out.Uploads, types.MultipartUpload{Key: aws.String(fmt.Sprintf("key-%d", i)), UploadId: aws.String(fmt.Sprint(i))})
	}
	if end < l.n {
		out.IsTruncated = aws.Bool(true)
		last := end - 1
		if l.sameMarkers {
			last = l.size - 1
		}
		if !l.noMarkers {
			out.NextKeyMarker, out.NextUploadIdMarker = aws.String(fmt.Sprintf("key-%d", last)), aws.String(fmt.Sprint(last))
		}
	}
	return out, nil
}

func keys(ups []types.MultipartUpload) []string {
	var out []string
	for _, u := range ups {
		out = append(out, aws.ToString(u.Key))
	}
	return out
}

// TestListUploadsReadsEveryPage checks, for listings of every length around the page size,
// that all uploads come back once, in order, with one call per page.
func TestListUploadsReadsEveryPage(t *testing.T) {
	for n := 0; n <= 13; n++ {
		for size := 1; size <= 5; size++ {
			l := &pagedLister{n: n, size: size}
			got, err := ListUploads(context.Background(), l, "b", "p/")
			if err != nil {
				t.Fatal(err)
			}
			want := keys((&pagedLister{n: n, size: n + 1}).page())
			if !slices.Equal(keys(got), want) {
				t.Fatalf("n=%d size=%d: got %v, want %v", n, size, keys(got), want)
			}
			if pages := max(1, (n+size-1)/size); l.calls != pages {
				t.Fatalf("n=%d size=%d: %d calls, want %d", n, size, l.calls, pages)
			}
			for _, p := range l.prefixes {
				if p != "p/" {
					t.Fatalf("prefix %q sent, want p/", p)
				}
			}
		}
	}
}

// page returns l's first page.
func (l *pagedLister) page() []types.MultipartUpload {
	out, _ := l.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{})
	return out.Uploads
}

// TestListUploadsStopsOnBadMarkers checks that a server whose truncated pages carry no
// markers, or markers that do not advance, ends the listing after the page it cannot go
// past instead of looping.
func TestListUploadsStopsOnBadMarkers(t *testing.T) {
	for _, l := range []*pagedLister{{n: 10, size: 3, noMarkers: true}, {n: 10, size: 3, sameMarkers: true}} {
		got, err := ListUploads(context.Background(), l, "b", "")
		if err != nil {
			t.Fatal(err)
		}
		if l.calls > 2 || len(got) > 6 {
			t.Fatalf("%+v: %d calls, %d uploads: the listing did not stop", *l, l.calls, len(got))
		}
	}
}

func TestListUploadsError(t *testing.T) {
	boom := errors.New("boom")
	_, err := ListUploads(context.Background(), failingLister{boom}, "b", "")
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the call's error", err)
	}
}

type failingLister struct{ err error }

func (f failingLister) ListMultipartUploads(context.Context, *s3.ListMultipartUploadsInput, ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error) {
	return nil, f.err
}
