package main

import "github.com/spf13/cobra"

func (a *app) uploadCmd() *cobra.Command {
	return &cobra.Command{Use: "upload FILE|- s3://bucket/key", Short: "Upload a file or stdin as a multipart upload", Args: exactArgs(2)}
}
