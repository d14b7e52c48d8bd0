package rediscache

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/companion-go/companion/cache"
)

// The stored form of an entry, as Redis holds it:
//
//	magic 'c' | version 1 | flags | created (varint, unix ms) |
//	answer, question, model (each uvarint length + bytes) |
//	prompt tokens, completion tokens (uvarints) | CRC-32C of all before
//
// Decoding checks the magic, the version, every length and the checksum,
// so that a truncated, foreign or bit-flipped value is reported as
// [ErrCorrupt] instead of served.
const (
	codecMagic    = 'c'
	codecVersion  = 1
	flagPrewarmed = 1 << 0
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeEntry returns the stored form of e.
func encodeEntry(e *cache.Entry) []byte {
	b := make([]byte, 0, 3+binary.MaxVarintLen64*4+len(e.Answer)+len(e.Question)+len(e.Model)+4)
	var flags byte
	if e.Prewarmed {
		flags |= flagPrewarmed
	}
	b = append(b, codecMagic, codecVersion, flags)
	var created int64
	if !e.Created.IsZero() {
		created = e.Created.UnixMilli()
	}
	b = binary.AppendVarint(b, created)
	for _, s := range []string{e.Answer, e.Question, e.Model} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(max(e.PromptTokens, 0)))
	b = binary.AppendUvarint(b, uint64(max(e.CompletionTokens, 0)))
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeEntry parses the stored form of an entry.
func decodeEntry(b []byte) (cache.Entry, error) {
	if len(b) < 3+1+3+4 {
		return cache.Entry{}, fmt.Errorf("%w: %d bytes is too short", cache.ErrCorrupt, len(b))
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if body[0] != codecMagic {
		return cache.Entry{}, fmt.Errorf("%w: not an entry (magic %#x)", cache.ErrCorrupt, body[0])
	}
	if body[1] != codecVersion {
		return cache.Entry{}, fmt.Errorf("%w: unknown version %d", cache.ErrCorrupt, body[1])
	}
	if crc32.Checksum(body, castagnoli) != sum {
		return cache.Entry{}, fmt.Errorf("%w: checksum mismatch", cache.ErrCorrupt)
	}
	e := cache.Entry{Prewarmed: body[2]&flagPrewarmed != 0}
	p := body[3:]
	created, n := binary.Varint(p)
	if n <= 0 {
		return cache.Entry{}, fmt.Errorf("%w: bad created time", cache.ErrCorrupt)
	}
	p = p[n:]
	if created != 0 {
		e.Created = time.UnixMilli(created)
	}
	for _, dst := range []*string{&e.Answer, &e.Question, &e.Model} {
		l, n := binary.Uvarint(p)
		if n <= 0 || l > uint64(len(p)-n) {
			return cache.Entry{}, fmt.Errorf("%w: bad length", cache.ErrCorrupt)
		}
		*dst = string(p[n : n+int(l)])
		p = p[n+int(l):]
	}
	for _, dst := range []*int{&e.PromptTokens, &e.CompletionTokens} {
		v, n := binary.Uvarint(p)
		if n <= 0 || v > 1<<31 {
			return cache.Entry{}, fmt.Errorf("%w: bad token count", cache.ErrCorrupt)
		}
		*dst = int(v)
		p = p[n:]
	}
	if len(p) != 0 {
		return cache.Entry{}, fmt.Errorf("%w: %d trailing bytes", cache.ErrCorrupt, len(p))
	}
	return e, nil
}
