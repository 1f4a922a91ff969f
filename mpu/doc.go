// Package mpu is the vocabulary the uploader, preflight and kmsperm
// packages share: the steps of a multipart upload, S3's multipart limits,
// a Decision on a step or an action, the EvaluatorKind that reached it,
// the PolicyDocument, StatementRef, Gap and Remedy a verdict is explained
// with, the error categories (ErrInvalidInput, ErrPermissionDenied, ...)
// every package of the module reports, and the Op an upload's error or
// retry is about. It holds words, not work: it makes no request, reads no
// policy and decides nothing, and of the module it imports only the
// error sentinels (internal/s3err), so every package can use it.
package mpu
