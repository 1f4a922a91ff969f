package main

import "hash/crc32"

func crc32cOf(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
