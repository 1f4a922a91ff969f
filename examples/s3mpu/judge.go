package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// abortJudge decides whether the caller may abort an upload, by the owner-or-initiator rules.
type abortJudge struct {
	caller string
}

type verdict struct{ may, why, whoCan string }

func (a *app) newAbortJudge(ctx context.Context, cli *s3.Client, bucket string, id identityFlags) (*abortJudge, error) {
	return &abortJudge{caller: id.caller}, nil
}

func (j *abortJudge) judge(key, initiator string) verdict { return verdict{may: "unknown"} }

func (j *abortJudge) whoCan(key, initiator string) string { return "" }
