package moderation

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalization, in the order it is applied to each character:
//
//  1. NFKC (full-width forms to ASCII, Kangxi radicals to ideographs,
//     U+3000 to a space, ligatures and mathematical letters to plain ones);
//  2. accent folding: a character whose canonical decomposition is a base
//     and nonspacing marks becomes the base ("é" → "e");
//  3. look-alike folding: Cyrillic and Greek letters that look like Latin
//     ones become those ("і" → "i", "ο" → "o", "Р" → "P");
//  4. lower case;
//  5. invisible characters (format characters such as U+200B and U+FEFF,
//     soft hyphens, combining marks, Hangul fillers) are dropped.
//
// Each character is normalized on its own, so a combining sequence gives
// its base letter (the marks are dropped), whether it came precomposed or
// not.
//
// The result is then read as tokens: words of a spaced script (Latin,
// Cyrillic, Greek, Hangul, …, plus digits), characters of an unspaced script
// (Han, kana, Thai, …), separators (white space and . - _ * · | / \ + ~ •)
// and other characters (punctuation, symbols). For matching, separators are
// seen through inside words:
//
//   - a run of single letters joined by one and the same separator (up
//     to three characters) is one word: "s.t.u.p.i.d" → "stupid",
//     "d u m b" → "dumb"; an arithmetic operator never joins letters
//     ("x + x", "X - X" stay two words; see [sepKey.joins]);
//   - up to [maxHanSep] separators between two characters of an unspaced
//     script are dropped: "白 痴" → "白痴", "作_弊_器" → "作弊器";
//   - any other run of separators is one space: "knee-jerk" → "knee jerk".
//
// Punctuation is never seen through: "去，死" stays two tokens apart.
//
// The normalized text keeps a map back to the original, so that every hit
// has its place in the text the caller gave.

// Kinds of normalized characters.
const (
	kDrop  uint8 = iota // invisible: dropped
	kWord               // a letter of a spaced script
	kDigit              // a digit or a spacing mark: part of a word, never a single letter
	kHan                // a character of an unspaced script: no word boundaries
	kSep                // a separator, seen through inside words
	kOther              // punctuation, symbols: a hard boundary
	kNone               // nothing yet (token state only)
)

// maxHanSep is the longest run of separators that is dropped between two
// characters of an unspaced script; maxRunSep the longest between the
// letters of a run of single letters.
const (
	maxHanSep = 3
	maxRunSep = 3
)

// sepKey is a short run of separators, compared to tell whether the
// letters of a run share one separator.
type sepKey struct {
	b [8]byte
	n int // bytes of the run; more than len(b) when it did not fit
}

func (k *sepKey) add(s string) {
	if len(s) == 1 && k.n < len(k.b) {
		k.b[k.n] = s[0]
	} else if k.n+len(s) <= len(k.b) {
		copy(k.b[k.n:], s)
	}
	k.n += len(s)
}

// allSpace reports whether the run is white space only.
func (k sepKey) allSpace() bool {
	if k.n > len(k.b) {
		return false
	}
	for _, c := range k.b[:k.n] {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

func isSpaceUnit(s string) bool { return s == " " || s == "\t" || s == "\n" || s == "\r" }

func (k sepKey) is(c byte) bool { return k.n == 1 && k.b[0] == c }

// joins reports whether the run may join single letters into one word.
// An arithmetic operator between operands never does, so that spaced
// algebra stays apart ("x + x = 2x" has no word "xx"): '+' and the
// mathematical operators U+2219 and U+22C5 wherever they stand, and '-',
// '*', '/' or '\' set with white space on both sides ("X - X", "a * b"),
// which is how an operator is typed, where a letter spelled out with
// joiners keeps them tight ("i-d-i-o-t") or spaces them all alike
// ("s . t . u . p"). Digits never join: they are not single letters.
func (k sepKey) joins() bool {
	if k.n > len(k.b) {
		return false
	}
	b := k.b[:k.n]
	for i, c := range b {
		switch {
		case c == '+':
			return false
		case c == 0xe2 && i+2 < len(b) && (b[i+1] == 0x88 && b[i+2] == 0x99 || b[i+1] == 0x8b && b[i+2] == 0x85):
			return false // U+2219, U+22C5
		}
	}
	if len(b) < 3 || !isSpaceByte(b[0]) || !isSpaceByte(b[len(b)-1]) {
		return true
	}
	for _, c := range b[1 : len(b)-1] {
		switch c {
		case '-', '*', '/', '\\':
			return false
		}
	}
	return true
}

var (
	asciiKind  [utf8.RuneSelf]uint8
	asciiLower [utf8.RuneSelf]byte
	asciiUnit  [utf8.RuneSelf]string // the lower-cased character as a string
	wordLower  [256]byte             // lower-cased ASCII letters and digits; 0 for other bytes
)

func init() {
	for b := 0; b < utf8.RuneSelf; b++ {
		c := byte(b)
		asciiLower[b] = c
		switch {
		case c >= 'A' && c <= 'Z':
			asciiKind[b] = kWord
			asciiLower[b] = c + 'a' - 'A'
		case c >= 'a' && c <= 'z':
			asciiKind[b] = kWord
		case c >= '0' && c <= '9':
			asciiKind[b] = kDigit
		case isSepRune(rune(c)):
			asciiKind[b] = kSep
		default:
			asciiKind[b] = kOther
		}
		asciiUnit[b] = string(rune(asciiLower[b]))
		if asciiKind[b] == kWord || asciiKind[b] == kDigit {
			wordLower[b] = asciiLower[b]
		}
	}
}

// isSepRune reports whether r (already normalized) is a separator.
func isSepRune(r rune) bool {
	switch r {
	case '.', '-', '_', '*', '|', '/', '\\', '+', '~',
		'\u00b7', // middle dot
		'\u2010', // hyphen
		'\u2022', // bullet
		'\u2027', // hyphenation point
		'\u2219', // bullet operator
		'\u22c5', // dot operator
		'\u30fb': // katakana middle dot
		return true
	}
	return unicode.IsSpace(r)
}

// lookalikes maps Cyrillic and Greek letters to the Latin letters they
// look like.
var lookalikes = map[rune]rune{
	// Cyrillic lower case
	'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ј': 'j', 'ԁ': 'd', 'һ': 'h', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	'ɡ': 'g', 'ү': 'y', 'ь': 'b', 'ꮃ': 'w',
	// Cyrillic upper case
	'А': 'A', 'В': 'B', 'Е': 'E', 'К': 'K', 'М': 'M', 'Н': 'H', 'О': 'O', 'Р': 'P', 'С': 'C', 'Т': 'T',
	'У': 'Y', 'Х': 'X', 'Ѕ': 'S', 'І': 'I', 'Ј': 'J', 'Ԁ': 'D', 'Һ': 'H', 'Ԛ': 'Q', 'Ԝ': 'W', 'Ӏ': 'I',
	'Ү': 'Y',
	// Greek lower case
	'α': 'a', 'β': 'b', 'γ': 'y', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p',
	'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w',
	// Greek upper case
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O',
	'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X', 'ϲ': 'c', 'Ϲ': 'C', 'ϳ': 'j',
	// Latin and Armenian look-alikes
	'ı': 'i', 'ɑ': 'a', 'ȷ': 'j', 'օ': 'o', 'ս': 'u', 'հ': 'h', 'ո': 'n',
	// typographic quotes, so that terms with an apostrophe match either
	'\u2018': '\'', '\u2019': '\'', '\u201b': '\'', '\u02bc': '\'', '\u2032': '\'',
	'\u201c': '"', '\u201d': '"', '\u201f': '"', '\u2033': '"',
}

// runeTable caches the normalization of every character of the Basic
// Multilingual Plane; characters beyond it are normalized on the fly.
type runeTable struct {
	// entry per rune: kind in the low byte when the character normalizes
	// to itself; otherwise replBit | index into repl.
	entry []uint32
	repl  []replacement
}

const replBit = 1 << 31

// replacement is what a character normalizes to: zero or more characters.
type replacement struct {
	s     string  // UTF-8
	kinds []uint8 // kind of each character of s
	sizes []uint8 // UTF-8 length of each character of s
}

var (
	tableOnce sync.Once
	table     *runeTable
)

// runes returns the character table, building it on first use (about
// 10 ms, once per process).
func runes() *runeTable {
	tableOnce.Do(func() {
		t := &runeTable{entry: make([]uint32, 0x10000)}
		for r := rune(0); r < 0x10000; r++ {
			if r >= 0xd800 && r < 0xe000 {
				t.entry[r] = uint32(kOther)
				continue
			}
			s := normalizeRuneSlow(r)
			if s == string(r) {
				t.entry[r] = uint32(classify(r))
				continue
			}
			t.entry[r] = replBit | uint32(len(t.repl))
			t.repl = append(t.repl, makeReplacement(s))
		}
		table = t
	})
	return table
}

func makeReplacement(s string) replacement {
	rp := replacement{s: s}
	for _, r := range s {
		rp.kinds = append(rp.kinds, classify(r))
		rp.sizes = append(rp.sizes, uint8(utf8.RuneLen(r)))
	}
	return rp
}

// normalizeRuneSlow normalizes one character: NFKC, then per resulting
// character accent folding, look-alike folding and lower case; invisible
// characters are dropped.
func normalizeRuneSlow(r rune) string {
	var b strings.Builder
	for _, c := range norm.NFKC.String(string(r)) {
		c = foldRune(c)
		if classify(c) == kDrop {
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// foldRune applies accent folding, look-alike folding and lower case to an
// NFKC-normalized character.
func foldRune(c rune) rune {
	if c >= 0x80 {
		if d := norm.NFD.String(string(c)); d != string(c) {
			base, n := utf8.DecodeRuneInString(d)
			marks := true
			for _, m := range d[n:] {
				if !unicode.Is(unicode.Mn, m) {
					marks = false
					break
				}
			}
			if marks && base != utf8.RuneError {
				c = base
			}
		}
		if l, ok := lookalikes[c]; ok {
			c = l
		}
	}
	return unicode.ToLower(c)
}

// classify returns the kind of a normalized character.
func classify(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiKind[r]
	}
	switch {
	case isInvisible(r):
		return kDrop
	case isSepRune(r):
		return kSep
	case isUnspaced(r):
		return kHan
	case unicode.IsLetter(r):
		return kWord
	case unicode.IsNumber(r), unicode.Is(unicode.Mc, r):
		return kDigit
	}
	return kOther
}

// isInvisible reports whether r is dropped: format characters, combining
// marks and the fillers that render as nothing.
func isInvisible(r rune) bool {
	switch r {
	case '\u115f', '\u1160', '\u3164', '\uffa0', '\u2800', '\u034f':
		return true
	}
	return unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me)
}

// isUnspaced reports whether r belongs to a script written without spaces
// between words, where listed terms match anywhere.
func isUnspaced(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Bopomofo,
		unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar, unicode.Yi)
}

// isHan3 reports whether s[i:] begins with a CJK unified ideograph of
// U+4E00–U+9FFF, in three bytes.
func isHan3(s string, i int) bool {
	if i+2 >= len(s) {
		return false
	}
	b, c1, c2 := s[i], s[i+1], s[i+2]
	return b >= 0xe4 && b <= 0xe9 && c1&0xc0 == 0x80 && c2&0xc0 == 0x80 && (b != 0xe4 || c1 >= 0xb8)
}

// isHanFast reports whether r is a CJK unified ideograph of the main or
// first extension block: normalizes to itself, of kind kHan.
func isHanFast(r rune) bool {
	return r >= 0x4e00 && r <= 0x9fff || r >= 0x3400 && r <= 0x4dbf
}

// span maps a stretch of normalized text back to the original: out[n:n+nl]
// came from orig[o:o+ol]. Between spans, the mapping is the identity shifted
// by the end of the previous span. nl == 0 marks a shift alone.
type span struct {
	n, nl, o, ol int
}

// normalizer turns original text into normalized text, incrementally.
type normalizer struct {
	keepSeps bool // allow-list form: every separator kept as it is

	out   []byte
	spans []span
	delta int // orig offset - out offset after the last span
	base  int // orig offset of the first byte fed

	// token state
	last       uint8  // kind of the last emitted token: kNone, kWord, kHan or kOther
	wordLen    int    // characters in the current word, saturating at 2
	wordLetter bool   // the current word starts with a letter
	run        bool   // the current word is a run of single letters
	runSep     sepKey // the separators between the letters of that run
	articles   []int  // offsets in out of an "a" or "i" that begins a run spelled out with spaces

	// pending separators
	sepN             int
	sepKey           sepKey // the pending separators, when few
	sepSpace         bool   // they were emitted as a space already
	sepStart, sepEnd int

	// pending single letter after a pending separator
	pl             bool
	plb            [utf8.UTFMax]byte
	pln            int
	plStart, plEnd int

	t       *runeTable
	scratch []byte
}

func (n *normalizer) reset(base int, keepSeps bool) {
	*n = normalizer{
		keepSeps: keepSeps,
		out:      n.out[:0],
		spans:    n.spans[:0],
		articles: n.articles[:0],
		delta:    base,
		base:     base,
		last:     kNone,
		t:        runes(),
		scratch:  n.scratch[:0],
	}
}

// pending returns the original offset where input that may still change
// its normalized form begins, or -1 when nothing is pending.
func (n *normalizer) pending() int {
	if n.sepN > 0 && !n.sepSpace {
		return n.sepStart
	}
	return -1
}

// emit appends normalized bytes b that came from orig[o:o+ol].
func (n *normalizer) emit(b string, o, ol int) {
	at := len(n.out)
	if ol != len(b) || o-at != n.delta {
		n.spans = append(n.spans, span{n: at, nl: len(b), o: o, ol: ol})
		n.delta = o + ol - at - len(b)
	}
	n.out = append(n.out, b...)
}

// emitByte appends one byte that came from orig[o].
func (n *normalizer) emitByte(c byte, o int) {
	at := len(n.out)
	if o-at != n.delta {
		n.spans = append(n.spans, span{n: at, o: o})
		n.delta = o - at
	}
	n.out = append(n.out, c)
}

// feed normalizes s[i:], where s is all the text so far, and returns the
// offset it stopped at: len(s), or before an incomplete character at the
// end when eof is false. With eof, pending separators are settled too.
func (n *normalizer) feed(s string, i int, eof bool) int {
	if need := len(n.out) + len(s) - i + 16; need > cap(n.out) {
		n.out = slices.Grow(n.out, need-len(n.out))
	}
	out := n.out
	for i < len(s) {
		b := s[i]
		if n.sepN == 0 {
			if wordLower[b] != 0 && i+8 <= len(s) && (n.last != kWord || !n.run) {
				// The common case: ASCII words joined by single spaces,
				// eight bytes at a time. The output is as long as the
				// input, plus what plainWords writes ahead.
				if i-len(out) != n.delta {
					n.spans = append(n.spans, span{n: len(out), o: i})
					n.delta = i - len(out)
				}
				if cap(out)-len(out) < len(s)-i+8 {
					out = slices.Grow(out, len(s)-i+8)
				}
				var carryA uint64
				if n.last == kWord {
					carryA = 0x80
				}
				start := i
				var ws int
				out, i, ws = plainWords(out, s, i, carryA)
				if ws == start && n.last == kWord {
					n.wordLen = 2 // the word before goes on
				} else {
					n.last, n.wordLen, n.wordLetter, n.run = kWord, i-ws, asciiKind[s[ws]] == kWord, false
				}
				continue
			}
			if c := wordLower[b]; c != 0 {
				// A run of ASCII word characters near the end of the text,
				// or after a run of single letters.
				if i-len(out) != n.delta {
					n.spans = append(n.spans, span{n: len(out), o: i})
					n.delta = i - len(out)
				}
				// Words joined by single spaces stay in this loop, as long
				// as a space cannot join two single letters. The output is
				// as long as the input, plus what lowerWord writes ahead.
				if cap(out)-len(out) < len(s)-i+8 {
					out = slices.Grow(out, len(s)-i+8)
				}
				start, spaced := i, false
				mergeable := n.last == kWord && n.run && n.runSep.is(' ')
				out, i = lowerWord(out, s, i)
				for {
					if spaced || n.last != kWord {
						mergeable = i-start == 1 && asciiKind[s[start]] == kWord
					}
					if mergeable || i+1 >= len(s) || s[i] != ' ' || wordLower[s[i+1]] == 0 {
						break
					}
					out = append(out, ' ')
					start, spaced = i+1, true
					out, i = lowerWord(out, s, i+1)
				}
				switch {
				case spaced || n.last != kWord:
					n.last, n.wordLen, n.wordLetter, n.run = kWord, i-start, asciiKind[s[start]] == kWord, false
				default:
					n.wordLen = 2
				}
				continue
			}
			if b >= 0xe0 && b <= 0xef {
				// A run of ideographs and CJK punctuation.
				if o, j := n.wide(out, s, i); j > i {
					out, i = o, j
					continue
				}
			}
			if b < utf8.RuneSelf && asciiKind[b] == kOther {
				// Punctuation: a hard boundary.
				if i-len(out) != n.delta {
					n.spans = append(n.spans, span{n: len(out), o: i})
					n.delta = i - len(out)
				}
				out = append(out, b)
				n.last = kOther
				i++
				continue
			}
			if b == ' ' && !n.keepSeps && n.spaceIsBoundary(s, i+1) {
				// One space that is a word boundary whatever follows.
				if i-len(out) != n.delta {
					n.spans = append(n.spans, span{n: len(out), o: i})
					n.delta = i - len(out)
				}
				out = append(out, ' ')
				n.last = kNone
				i++
				continue
			}
		}
		if b < utf8.RuneSelf && asciiKind[b] == kSep && n.sepN == 0 && !n.keepSeps {
			// A run of ASCII separators settled by what follows it.
			j := i + 1
			for j < len(s) && j-i < 4 && s[j] < utf8.RuneSelf && asciiKind[s[j]] == kSep {
				j++
			}
			if n.sepRunIsSpace(s, i, j) {
				if j-i == 1 {
					if i-len(out) != n.delta {
						n.spans = append(n.spans, span{n: len(out), o: i})
						n.delta = i - len(out)
					}
					out = append(out, ' ')
				} else {
					n.out = out
					n.emit(" ", i, j-i)
					out = n.out
				}
				n.last = kNone
				i = j
				continue
			}
		}
		n.out = out
		if b < utf8.RuneSelf {
			n.unit(asciiKind[b], asciiUnit[b], i, 1)
			i++
			out = n.out
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			if !eof && !utf8.FullRuneInString(s[i:]) {
				out = n.out
				break // wait for the rest of the character
			}
			n.unit(kOther, "\ufffd", i, 1)
			i++
			out = n.out
			continue
		}
		if isHanFast(r) {
			n.unit(kHan, s[i:i+size], i, size)
			i += size
			out = n.out
			continue
		}
		if r < 0x10000 {
			e := n.t.entry[r]
			if e&replBit == 0 {
				if k := uint8(e); n.sepN == 0 && (k == kOther || k == kHan) {
					// Punctuation and ideographs that normalize to
					// themselves, with nothing pending.
					n.emit(s[i:i+size], i, size)
					n.last = k
				} else {
					n.unit(k, s[i:i+size], i, size)
				}
			} else if rp := &n.t.repl[e&^replBit]; len(rp.kinds) == 1 && n.sepN == 0 && (rp.kinds[0] == kOther || rp.kinds[0] == kHan) {
				// One punctuation mark or ideograph for another ("，"
				// for ",", "⽩" for "白"), with nothing pending.
				n.emit(rp.s, i, size)
				n.last = rp.kinds[0]
			} else {
				at := 0
				for j, k := range rp.kinds {
					sz := int(rp.sizes[j])
					n.unit(k, rp.s[at:at+sz], i, size)
					at += sz
				}
			}
			i += size
			out = n.out
			continue
		}
		norm := normalizeRuneSlow(r)
		for _, c := range norm {
			n.scratch = utf8.AppendRune(n.scratch[:0], c)
			n.unit(classify(c), string(n.scratch), i, size)
		}
		i += size
		out = n.out
	}
	n.out = out
	if eof {
		n.flush()
	}
	return i
}

// lowerWord appends the ASCII letters and digits that begin s[i:], lower
// cased, to dst, and returns dst and the offset after them. It reads and
// writes eight bytes at a time: dst must have room for len(s)-i+8 bytes.
func lowerWord(dst []byte, s string, i int) ([]byte, int) {
	const lower = 0x2020202020202020
	for i+8 <= len(s) {
		x := load64(s, i)
		m := alnumBytes(x)
		l := len(dst)
		binary.LittleEndian.PutUint64(dst[l:l+8], x|lower)
		if m == highBits {
			dst = dst[:l+8]
			i += 8
			continue
		}
		k := bits.TrailingZeros64(^m&highBits) >> 3
		return dst[:l+k], i + k
	}
	for i < len(s) {
		c := wordLower[s[i]]
		if c == 0 {
			break
		}
		dst = append(dst, c)
		i++
	}
	return dst, i
}

// plainWords appends ASCII words joined by single spaces that begin s[i],
// a letter or digit, to dst, lower cased; it reads and writes eight bytes
// at a time, without a branch per word. It stops before any other byte,
// and before a space that is not followed by a letter or digit, or that
// follows a word of one letter and is not followed by a longer word (the
// letters may begin a run of single letters);
// so it takes at least s[i], and never stops right after a space. It
// returns dst, the offset it stopped at and where the last word it
// appended begins (i when it took no space).
//
// carryA is 0x80 when the character before s[i] is a letter or digit (so
// s[i] goes on a word). dst must have room for len(s)-i+8 bytes.
func plainWords(dst []byte, s string, i int, carryA uint64) ([]byte, int, int) {
	ws := i
	var carrySingle uint64 // 0x80: the last byte read is a word of one letter
	for i+8 <= len(s) {
		x := load64(s, i)
		a, l := alnumLetterBytes(x)
		sp := spaceBytes(x)
		// Whether s[i+8] and s[i+9] are letters or digits, in the high
		// bit of the last byte, when another eight bytes follow (wordLower
		// is 0 or at least '0', and at most 'z').
		var next8, next9 uint64
		if i+16 <= len(s) {
			next8 = uint64(wordLower[s[i+8]]+0x7f) & 0x80 << 56
			next9 = uint64(wordLower[s[i+9]]+0x7f) & 0x80 << 56
		}
		first := l &^ (a<<8 | carryA) // letters that begin a word
		// A space is taken when a letter or digit follows it and, after
		// a word of one letter, when two do: a longer word cannot join a
		// run of single letters ("a cat", not "a b"). What precedes it is
		// a letter or digit: a space after a space would have stopped the
		// loop.
		badSpace := sp & (^(a>>8 | next8) | (first<<8|carrySingle)&^(a>>16|next8>>8|next9))
		bad := highBits&^(a|sp) | badSpace
		k := len(dst)
		binary.LittleEndian.PutUint64(dst[k:k+8], x|l>>2)
		if bad == 0 {
			if sp != 0 {
				ws = i + (63-bits.LeadingZeros64(sp))>>3 + 1
			}
			carryA, carrySingle = a>>56, first>>56
			dst = dst[:k+8]
			i += 8
			continue
		}
		q := bits.TrailingZeros64(bad) >> 3
		if sp &= 1<<(8*q) - 1; sp != 0 {
			ws = i + (63-bits.LeadingZeros64(sp))>>3 + 1
		}
		return dst[:k+q], i + q, ws
	}
	return dst, i, ws
}

// alnumLetterBytes returns words with the high bit of each byte of x set
// when that byte is an ASCII letter or digit (a), or a letter (l), and all
// other bits clear.
func alnumLetterBytes(x uint64) (a, l uint64) {
	x7 := x &^ highBits
	y := x7 | 0x20*lowBits // letters lower cased
	letter := (y + (0x80-'a')*lowBits) &^ (y + (0x7f-'z')*lowBits)
	digit := (x7 + (0x80-'0')*lowBits) &^ (x7 + (0x7f-'9')*lowBits)
	l = letter &^ x & highBits
	return l | digit&^x&highBits, l
}

// spaceBytes returns a word with the high bit of each byte of x set when
// that byte is ' ', and all other bits clear.
func spaceBytes(x uint64) uint64 {
	t := x ^ 0x20*lowBits
	return ^((t&^highBits + 0x7f*lowBits) | t) & highBits
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// load64 returns s[i:i+8] as a little-endian word.
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// alnumBytes returns a word with the high bit of each byte of x set when
// that byte is an ASCII letter or digit, and all other bits clear. Each
// byte's range test adds a constant to its low seven bits, so no carry
// crosses into the next byte.
func alnumBytes(x uint64) uint64 {
	x7 := x &^ highBits
	y := x7 | 0x20*lowBits // letters lower cased
	letter := (y + (0x80-'a')*lowBits) &^ (y + (0x7f-'z')*lowBits)
	digit := (x7 + (0x80-'0')*lowBits) &^ (x7 + (0x7f-'9')*lowBits)
	return (letter | digit) &^ x & highBits
}

// wide appends the run of three-byte characters that begins s[i] and
// that, with nothing pending, go straight to the output: ideographs and
// punctuation that normalize to themselves or to one ideograph or
// punctuation mark ("，" to ","). It returns out and the offset after the
// run, i when there is none.
func (n *normalizer) wide(out []byte, s string, i int) ([]byte, int) {
	last := n.last
	for i+2 < len(s) {
		if isHan3(s, i) {
			// A run of CJK ideographs, which normalize to themselves.
			if i-len(out) != n.delta {
				n.spans = append(n.spans, span{n: len(out), o: i})
				n.delta = i - len(out)
			}
			j := i + 3
			for isHan3(s, j) {
				j += 3
			}
			out = append(out, s[i:j]...)
			i, last = j, kHan
			continue
		}
		b, c1, c2 := s[i], s[i+1], s[i+2]
		if b < 0xe0 || b > 0xef || c1&0xc0 != 0x80 || c2&0xc0 != 0x80 || b == 0xe0 && c1 < 0xa0 || b == 0xed && c1 >= 0xa0 {
			break // not a valid three-byte character
		}
		e := n.t.entry[rune(b&0x0f)<<12|rune(c1&0x3f)<<6|rune(c2&0x3f)]
		if e&replBit == 0 {
			k := uint8(e)
			if k != kHan && k != kOther {
				break
			}
			if i-len(out) != n.delta {
				n.spans = append(n.spans, span{n: len(out), o: i})
				n.delta = i - len(out)
			}
			out = append(out, b, c1, c2)
			last = k
		} else {
			rp := &n.t.repl[e&^replBit]
			if len(rp.kinds) != 1 || rp.kinds[0] != kHan && rp.kinds[0] != kOther {
				break
			}
			if at := len(out); len(rp.s) != 3 || i-at != n.delta {
				n.spans = append(n.spans, span{n: at, nl: len(rp.s), o: i, ol: 3})
				n.delta = i + 3 - at - len(rp.s)
			}
			out = append(out, rp.s...)
			last = rp.kinds[0]
		}
		i += 3
	}
	n.last = last
	return out, i
}

// spaceIsBoundary reports whether a single space before s[j] is surely
// normalized to one space: what follows is neither a separator (the run
// goes on), nor a letter that may join a run of single letters, nor an
// ideograph after an ideograph (the space is dropped), nor something that
// needs a closer look.
func (n *normalizer) spaceIsBoundary(s string, j int) bool {
	if j >= len(s) {
		return false
	}
	c := s[j]
	if c < utf8.RuneSelf {
		switch asciiKind[c] {
		case kSep:
			return false
		case kWord:
			return !(n.last == kWord && (n.run && n.runSep.is(' ') || !n.run && n.wordLen == 1 && n.wordLetter))
		}
		return true
	}
	return n.last != kHan && isHan3(s, j)
}

// sepRunIsSpace reports whether the ASCII separators s[i:j], with nothing
// pending before them, surely normalize to one space: what follows is
// ASCII punctuation or a digit, a letter that cannot join a run of single
// letters, or an ideograph that the run does not join to one before it.
func (n *normalizer) sepRunIsSpace(s string, i, j int) bool {
	if j >= len(s) || j-i > maxRunSep {
		return false
	}
	c := s[j]
	if c < utf8.RuneSelf {
		switch asciiKind[c] {
		case kSep:
			return false
		case kWord:
			if n.last != kWord {
				return true
			}
			var key sepKey
			key.add(s[i:j])
			return !key.joins() || !(n.run && n.runSep == key || !n.run && n.wordLen == 1 && n.wordLetter)
		}
		return true
	}
	return n.last != kHan && isHan3(s, j)
}

// flush settles what is pending at the end of the text.
func (n *normalizer) flush() {
	if n.pl {
		n.mergeLetter()
	}
	if n.sepN > 0 {
		n.flushSep()
	}
}

// unit takes one normalized character of kind k, bytes ub, that came from
// orig[o:o+ol].
func (n *normalizer) unit(k uint8, ub string, o, ol int) {
	if k == kDrop {
		return
	}
	if n.keepSeps {
		if k == kSep && len(ub) == 1 && ub[0] < utf8.RuneSelf {
			n.emitByte(ub[0], o)
			return
		}
		n.emit(ub, o, ol)
		return
	}
	switch k {
	case kSep:
		if n.pl {
			if !n.run && n.sepKey.allSpace() && !isSpaceUnit(ub) {
				// A lone letter, a space, then a letter followed by
				// another separator: the second begins a run of its own
				// ("a S.T.U.P.I.D"), where "m-y l-i-f-e" keeps "my".
				n.flushSep()
				n.emit(string(n.plb[:n.pln]), n.plStart, n.plEnd-n.plStart)
				n.pl = false
				n.last, n.wordLen, n.wordLetter, n.run = kWord, 1, true, false
			} else {
				n.mergeLetter()
			}
		}
		switch {
		case n.sepN == 0:
			n.sepStart, n.sepEnd = o, o+ol
			n.sepKey = sepKey{}
			if !(n.last == kHan || n.last == kWord && (n.run || n.wordLen == 1 && n.wordLetter)) {
				// Nothing can drop these separators: they are one
				// space, whatever follows.
				n.emit(" ", o, ol)
				n.sepSpace = true
				n.last = kNone
			}
		case n.sepSpace:
			// One more separator under the space already emitted.
			at := len(n.out) - 1
			if k := len(n.spans) - 1; k >= 0 && n.spans[k].n == at && n.spans[k].nl == 1 {
				n.spans[k].ol = o + ol - n.sepStart
			} else {
				n.spans = append(n.spans, span{n: at, nl: 1, o: n.sepStart, ol: o + ol - n.sepStart})
			}
			n.delta = o + ol - len(n.out)
		}
		n.sepKey.add(ub)
		n.sepN++
		n.sepEnd = o + ol
	case kWord, kDigit:
		if n.pl {
			// The pending letter begins a longer word.
			n.flushSep()
			n.emit(string(n.plb[:n.pln]), n.plStart, n.plEnd-n.plStart)
			n.pl = false
			n.emit(ub, o, ol)
			n.last, n.wordLen, n.wordLetter, n.run = kWord, 2, true, false
			return
		}
		if n.sepN > 0 {
			if k == kWord && n.sepN <= maxRunSep && n.sepKey.joins() && n.last == kWord &&
				(n.run && n.runSep == n.sepKey || !n.run && n.wordLen == 1 && n.wordLetter) {
				// Maybe the next of a run of single letters: wait and see.
				n.pl = true
				n.pln = copy(n.plb[:], ub)
				n.plStart, n.plEnd = o, o+ol
				return
			}
			n.flushSep()
			n.emit(ub, o, ol)
			n.last, n.wordLen, n.wordLetter, n.run = kWord, 1, k == kWord, false
			return
		}
		n.emit(ub, o, ol)
		if n.last == kWord {
			n.wordLen = 2
		} else {
			n.last, n.wordLen, n.wordLetter, n.run = kWord, 1, k == kWord, false
		}
	case kHan:
		if n.pl {
			n.mergeLetter()
		}
		if n.sepN > 0 {
			if n.last == kHan && n.sepN <= maxHanSep {
				n.sepN = 0
			} else {
				n.flushSep()
			}
		}
		n.emit(ub, o, ol)
		n.last = kHan
	default:
		if n.pl {
			n.mergeLetter()
		}
		if n.sepN > 0 {
			n.flushSep()
		}
		n.emit(ub, o, ol)
		n.last = kOther
	}
}

// mergeLetter joins the pending single letter to the run before it,
// dropping the separator between them.
func (n *normalizer) mergeLetter() {
	if !n.run && n.sepKey.allSpace() && len(n.out) > 0 {
		// A run spelled out with spaces that begins with "a" or "i" may
		// begin with that word: "you are a s t u p i d". Remember where,
		// so that a hit may begin after it.
		if c := n.out[len(n.out)-1]; c == 'a' || c == 'i' {
			n.articles = append(n.articles, len(n.out)-1)
		}
	}
	n.emit(string(n.plb[:n.pln]), n.plStart, n.plEnd-n.plStart)
	n.pl = false
	n.run, n.runSep = true, n.sepKey
	n.sepN = 0
	n.last, n.wordLen = kWord, 2
}

// flushSep emits the pending separators as one space.
func (n *normalizer) flushSep() {
	if n.sepSpace {
		n.sepN, n.sepSpace = 0, false
		return
	}
	if n.sepEnd-n.sepStart == 1 {
		n.emitByte(' ', n.sepStart)
	} else {
		n.emit(" ", n.sepStart, n.sepEnd-n.sepStart)
	}
	n.sepN = 0
	n.last = kNone
}

// afterArticle reports whether the normalized offset x follows an "a" or
// "i" that begins a run of single letters spelled out with spaces.
func (n *normalizer) afterArticle(x int) bool {
	_, found := slices.BinarySearch(n.articles, x-1)
	return found
}

// origStart maps the normalized offset x, the start of a character, to the
// original offset where that character's source begins.
func (n *normalizer) origStart(x int) int {
	i := sort.Search(len(n.spans), func(i int) bool { return n.spans[i].n > x }) - 1
	if i < 0 {
		return x + n.base
	}
	sp := n.spans[i]
	if x < sp.n+sp.nl {
		return sp.o
	}
	return sp.o + sp.ol + x - (sp.n + sp.nl)
}

// origEnd maps the normalized offset e > 0, the end of a character, to the
// original offset where that character's source ends.
func (n *normalizer) origEnd(e int) int {
	x := e - 1
	i := sort.Search(len(n.spans), func(i int) bool { return n.spans[i].n > x }) - 1
	if i < 0 {
		return e + n.base
	}
	sp := n.spans[i]
	if x < sp.n+sp.nl {
		return sp.o + sp.ol
	}
	return sp.o + sp.ol + e - (sp.n + sp.nl)
}

// outIndex maps the original offset o, the start of a character that was
// emitted, to its normalized offset; for a character that was dropped it
// gives the offset of the next one.
func (n *normalizer) outIndex(o int) int {
	i := sort.Search(len(n.spans), func(i int) bool { return n.spans[i].o > o }) - 1
	if i < 0 {
		return o - n.base
	}
	sp := n.spans[i]
	if o < sp.o+sp.ol {
		return sp.n
	}
	return sp.n + sp.nl + o - (sp.o + sp.ol)
}

// Normalize returns text as the matcher sees it, with separators seen
// through inside words: "ＳＴＵ.Ｐ.Ｉ.Ｄ" and "s\u200bt\u200bu\u200bpid" both
// give "stupid", "白 痴" gives "白痴", "Ｈｅｌｌｏ,  Wörld" gives "hello, world".
func Normalize(text string) string {
	var n normalizer
	n.reset(0, false)
	n.feed(text, 0, true)
	return string(n.out)
}

// normalizeKeep returns text normalized with every separator kept, the form
// allow-list entries are matched in.
func normalizeKeep(text string) string {
	var n normalizer
	n.reset(0, true)
	n.feed(text, 0, true)
	return string(n.out)
}
