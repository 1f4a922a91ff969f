package uploader

import "testing"

func TestIncompleteErrorMessage(t *testing.T) {
	e := &IncompleteError{UploadID: "u", Shards: []ShardProblem{
		{Shard: 1, Missing: []int32{3, 4, 5, 9}},
		{Shard: 3, WrongSize: []int32{11}, BadChecksum: []int32{12, 13}},
	}}
	want := "shards 1, 3 incomplete, nothing completed (run them again): shard 1: parts 3-5,9 missing;" +
		" shard 3: part 11 of the wrong size, parts 12-13 with a missing or wrong checksum"
	if got := e.Error(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	e = &IncompleteError{Shards: []ShardProblem{{Shard: 0, Missing: []int32{1}}}}
	if got, want := e.Error(), "shard 0 incomplete, nothing completed (run them again): shard 0: part 1 missing"; got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}
