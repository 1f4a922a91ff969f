package main

import "github.com/s3mpu/s3mpu/examples/internal/cmdkit"

// termPath and termText make text from the bucket or the file system safe for a terminal
// (see cmdkit.TermPath and cmdkit.TermText).
var (
	termPath = cmdkit.TermPath
	termText = cmdkit.TermText
)
