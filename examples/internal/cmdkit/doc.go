// Package cmdkit is the plumbing the example commands (s3mpu and s3backup) share: the global
// flags and the AWS configuration built from them, the preflight flags both accept, s3://
// URL parsing with one bucket rule, size units, exit codes, S3 error codes, and the one
// place where an error becomes the line a person reads (Explain).
//
// It must not decide anything a command is about: what to upload, when to refuse, what a
// preflight verdict means. Those stay in the commands and in the public packages of the
// module (uploader, preflight, kmsperm); this package only turns flags into clients and
// errors into messages.
package cmdkit
