package uploader

import "syscall"

// adviseHugePages asks for transparent huge pages for a part buffer: the
// buffer is filled whole, and 2 MiB pages make that a few hundred page
// faults instead of thousands. The advice is a hint; its failure changes
// nothing.
func adviseHugePages(b []byte) { _ = syscall.Madvise(b, syscall.MADV_HUGEPAGE) }
