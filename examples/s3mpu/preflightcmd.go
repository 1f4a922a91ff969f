package main

import "github.com/spf13/cobra"

func (a *app) preflightCmd() *cobra.Command {
	return &cobra.Command{Use: "preflight s3://bucket/key", Short: "Check every multipart step's permissions before uploading", Args: exactArgs(1)}
}
