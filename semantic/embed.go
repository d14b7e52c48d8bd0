package semantic

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/companion-go/companion/cache"
	"github.com/companion-go/companion/semantic/internal/index"
)

// Embedder turns texts into vectors for the semantic tier. Embed returns
// one vector per text, in order, every vector of the same length and of
// unit L2 norm (or all zeros, for a text with nothing to embed). It must be
// safe for concurrent use and return promptly, with ctx's error, when ctx
// is done.
type Embedder interface {
	// Embed returns one unit vector per text, in the order of texts, or
	// an error (ctx's error when ctx is done).
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Calibrated is implemented by an [Embedder] that knows the cosine
// similarity threshold calibrated for it. [NewSemantic] uses it when no
// [WithThreshold] is given; without either the threshold is
// [DefaultThreshold].
type Calibrated interface {
	// Threshold returns the calibrated threshold, in (0, 1].
	Threshold() float64
}

// Errors of the embedders.
var (
	// ErrClosed: the embedder was closed.
	ErrClosed = errors.New("semantic: embedder closed")
	// ErrEmbedding: an embedder returned something unusable (a wrong
	// number of vectors, vectors of different lengths, NaNs).
	ErrEmbedding = errors.New("semantic: bad embedding")
)

// DefaultLocalDimensions is the length of the local embedder's vectors:
// 128 float32s, 512 bytes per cached question. Hash collisions blur a
// lexical vector a little (unrelated questions score about ±0.09 instead
// of 0); on the labelled pairs 128, 192, 256 and 384 dimensions give the
// same hit and false-hit rates within one pair, while search time and
// memory grow with the length.
const DefaultLocalDimensions = 128

// LocalThreshold is the cosine threshold calibrated for the local
// embedder with its default dimensions, used by [NewSemantic] when no
// [WithThreshold] is given. A lexical embedder scores paraphrases lower
// than a neural one (different words for the same thing share no
// features), so its threshold is lower than [DefaultThreshold]; the rules
// ([Explain]) are what keeps its near misses ("second law" / "third law")
// from being served. See the README for the measurements.
const LocalThreshold = 0.65

// EmbedderOption configures [NewLocalEmbedder] or [NewOpenAIEmbedder].
// Options that apply to only one of them are rejected by the other.
type EmbedderOption interface{ applyEmbedder(*embedderConfig) }

type embedderOptionFunc func(*embedderConfig)

func (f embedderOptionFunc) applyEmbedder(c *embedderConfig) { f(c) }

type embedderConfig struct {
	dims      int
	model     string
	batch     int
	delay     time.Duration
	delaySet  bool
	threshold float64
	openaiSet []string // names of the OpenAI-only options given
	errs      []error
}

// WithDimensions sets the length of the vectors. For the local embedder
// it must be in [16, 65536]; default [DefaultLocalDimensions]. For the
// OpenAI embedder it is sent as the request's "dimensions" (only
// text-embedding-3 models and later accept it); default 0, the model's own
// length (1536 for text-embedding-3-small).
func WithDimensions(n int) EmbedderOption {
	return embedderOptionFunc(func(c *embedderConfig) { c.dims = n })
}

// WithEmbedderThreshold overrides the threshold the embedder reports
// through [Calibrated]: [LocalThreshold] for the local embedder,
// [DefaultThreshold] for OpenAI's. It must be in (0, 1].
func WithEmbedderThreshold(t float64) EmbedderOption {
	return embedderOptionFunc(func(c *embedderConfig) {
		if !(t > 0 && t <= 1) {
			c.errs = append(c.errs, configErrorf("embedder threshold %v not in (0, 1]", t))
			return
		}
		c.threshold = t
	})
}

func configErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidConfig}, args...)...)
}

// LocalEmbedder is the default [Embedder]: it needs no model and no
// network. It reads a question as the rules do ([Explain]: frames, fillers
// and function words out; numbers, units, formulas and synonyms written
// one way) and hashes the features of what is left into a fixed-length
// vector (the "hashing trick", each feature adding ±weight to one
// coordinate), L2-normalized: content words with their character
// trigrams and pairs of consecutive words, numbers, units, formulas with
// their numbers, Chinese (and Japanese, Korean) characters and pairs of
// consecutive characters, and the kind of question. Two questions whose
// differences the rules explain have the same vector. It is a lexical
// embedder: different words for one thing share no feature. The zero
// value is not usable; call [NewLocalEmbedder].
type LocalEmbedder struct {
	dims      int
	threshold float64
}

// NewLocalEmbedder returns a local embedder. It accepts [WithDimensions]
// and [WithEmbedderThreshold]; it returns an error matching
// [ErrInvalidConfig] for any other option or an invalid value.
func NewLocalEmbedder(opts ...EmbedderOption) (*LocalEmbedder, error) {
	c := embedderConfig{dims: DefaultLocalDimensions, threshold: LocalThreshold}
	for _, o := range opts {
		if o != nil {
			o.applyEmbedder(&c)
		}
	}
	if len(c.errs) > 0 {
		return nil, c.errs[0]
	}
	if len(c.openaiSet) > 0 {
		return nil, configErrorf("%s does not apply to the local embedder", c.openaiSet[0])
	}
	if c.dims < 16 || c.dims > 1<<16 {
		return nil, configErrorf("local embedder dimensions %d not in [16, 65536]", c.dims)
	}
	return &LocalEmbedder{dims: c.dims, threshold: c.threshold}, nil
}

// Dimensions returns the length of the embedder's vectors.
func (e *LocalEmbedder) Dimensions() int { return e.dims }

// Threshold returns the cosine threshold calibrated for this embedder,
// [LocalThreshold] unless set by [WithEmbedderThreshold].
func (e *LocalEmbedder) Threshold() float64 { return e.threshold }

// Embed returns the vectors of texts. It never fails except when ctx is
// done; an empty text (or one of punctuation only) gets the zero vector,
// which is similar to nothing.
func (e *LocalEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out[i] = e.EmbedText(t)
	}
	return out, nil
}

// EmbedText returns the vector of one text, as [LocalEmbedder.Embed] does.
func (e *LocalEmbedder) EmbedText(text string) []float32 {
	return e.embedAnalysis(analyze(text))
}

func (e *LocalEmbedder) embedAnalysis(a analysis) []float32 {
	v := make([]float32, e.dims)
	e.embedInto(v, a)
	return v
}

// Feature weights of the local embedder, calibrated on the tuning part of
// the labelled pairs in testdata (see TestQualityPairs).
const (
	wWord     = 1.0
	wTrigrams = 0.5 // shared by the trigrams of a word
	wWordPair = 0.5
	wNumber   = 1.0
	wUnit     = 0.7
	wFormula  = 1.0
	wSymbol   = 0.3
	wHan      = 0.8
	wHanPair  = 0.5
	wClass    = 0.3
)

// Feature kinds, hashed before the feature's text so that the word "a"
// and the character pair "a" never collide by construction.
const (
	fWord byte = 'w' + iota
	fTrigram
	fPair
	fNumber
	fSymbol
	fHan
	fHanPair
	fUnit
	fClass
)

// embedInto adds the features of a question as the matcher reads it
// ([analyze]): its content after frames, fillers and function words are
// taken out and numbers, units, formulas and synonyms written one way, so
// that two questions whose differences the rules explain have one vector.
func (e *LocalEmbedder) embedInto(v []float32, a analysis) {
	if len(a.toks) == 0 {
		a.toks = a.raw // nothing the matcher reads: embed what was written
	}
	add := func(h uint64, w float64) {
		i := int(h % uint64(len(v)))
		if h>>63 != 0 {
			w = -w
		}
		v[i] += float32(w)
	}
	if c := a.class.specific(); c != 0 {
		add(hashStr(fClass, c.String()), wClass)
	}
	var prevContent string // last content word, for pairs
	var prevHan rune
	for _, t := range a.toks {
		if t.kind != tHan {
			prevHan = 0
		}
		switch t.kind {
		case tWord, tNeg:
			w := t.text
			add(hashStr(fWord, w), wWord)
			if n := utf8.RuneCountInString(w); n >= 3 {
				each := wTrigrams / math.Sqrt(float64(n))
				forTrigrams(w, func(h uint64) { add(h, each) })
			}
			if prevContent != "" {
				add(hashPair(prevContent, w), wWordPair)
			}
			prevContent = w
		case tNum, tOrd:
			add(hashStr(fNumber, t.text), wNumber)
		case tUnit:
			add(hashStr(fUnit, t.text), wUnit)
		case tFormula:
			add(hashStr(fNumber, t.text), wFormula)
			// Its numbers and variables each, so that "7+14" and "8+16"
			// are apart and "7+14" and "7+15" near; its operators lightly.
			for _, part := range formulaParts(t.text) {
				if isArithOperator(part) {
					add(hashStr(fSymbol, part), wSymbol)
				} else {
					add(hashStr(fNumber, part), wNumber)
				}
			}
		case tSym:
			add(hashStr(fSymbol, t.text), wSymbol)
		case tHan:
			r, _ := utf8.DecodeRuneInString(t.text)
			add(hashRune(fHan, r, 0), wHan)
			if prevHan != 0 {
				add(hashRune(fHanPair, prevHan, r), wHanPair)
			}
			prevHan = r
			prevContent = ""
		}
	}
	index.Normalize(v)
}

// FNV-1a, 64 bits.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashStr(kind byte, s string) uint64 {
	h := uint64(fnvOffset)
	h = (h ^ uint64(kind)) * fnvPrime
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return mix(h)
}

func hashPair(a, b string) uint64 {
	h := uint64(fnvOffset)
	h = (h ^ uint64(fPair)) * fnvPrime
	for i := 0; i < len(a); i++ {
		h = (h ^ uint64(a[i])) * fnvPrime
	}
	h = (h ^ 0) * fnvPrime
	for i := 0; i < len(b); i++ {
		h = (h ^ uint64(b[i])) * fnvPrime
	}
	return mix(h)
}

func hashRune(kind byte, a, b rune) uint64 {
	h := uint64(fnvOffset)
	h = (h ^ uint64(kind)) * fnvPrime
	for _, r := range [2]rune{a, b} {
		for k := 0; k < 4; k++ {
			h = (h ^ uint64(byte(r>>(8*k)))) * fnvPrime
		}
	}
	return mix(h)
}

// forTrigrams calls f with the hash of each character trigram of "^w$".
func forTrigrams(w string, f func(uint64)) {
	var buf [3]rune
	n := 0
	push := func(r rune) {
		buf[0], buf[1], buf[2] = buf[1], buf[2], r
		n++
		if n >= 3 {
			h := uint64(fnvOffset)
			h = (h ^ uint64(fTrigram)) * fnvPrime
			for _, r := range buf {
				for k := 0; k < 4; k++ {
					h = (h ^ uint64(byte(r>>(8*k)))) * fnvPrime
				}
			}
			f(mix(h))
		}
	}
	push('^')
	for _, r := range w {
		push(r)
	}
	push('$')
}

// mix finalizes a hash (splitmix64's), so that the modulo and the sign
// bit are well spread.
func mix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}

// ---- text preparation, shared by the local embedder and the matcher ----

// prepare maps what Normalize would lose or merge: superscript digits
// become "^n" (so that x² is x^2, not x2), and the text is made valid
// UTF-8 and normalized with [Normalize].
func prepare(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.ContainsAny(s, "⁰¹²³⁴⁵⁶⁷⁸⁹") {
		var b strings.Builder
		for _, r := range s {
			if d := strings.IndexRune("⁰¹²³⁴⁵⁶⁷⁸⁹", r); d >= 0 {
				b.WriteString("^")
				b.WriteRune('0' + rune(superscriptDigit(r)))
				continue
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	s = romanToArabic(s)
	return cache.Normalize(s)
}

// romanToArabic replaces upper-case Roman numerals of two to six letters
// I, V and X ("II", "XIV") that stand as words with their value: "World
// War II" is "World War 2". One letter ("I", "V", "X") is left alone.
func romanToArabic(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c != 'I' && c != 'V' && c != 'X' {
			i++
			continue
		}
		j := i
		for j < len(s) && (s[j] == 'I' || s[j] == 'V' || s[j] == 'X') {
			j++
		}
		if n := j - i; n >= 2 && n <= 6 && !letterBefore(s, i) && !letterAt(s, j) {
			if v := romanValue(s[i:j]); v > 0 {
				if b.Len() == 0 {
					b.Grow(len(s))
				}
				b.WriteString(s[last:i])
				b.WriteString(strconv.Itoa(v))
				last = j
			}
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func letterBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func letterAt(s string, j int) bool {
	if j >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[j:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// romanValue returns the value of a Roman numeral in canonical form, or 0.
func romanValue(s string) int {
	val := map[byte]int{'I': 1, 'V': 5, 'X': 10}
	v := 0
	for k := 0; k < len(s); k++ {
		x := val[s[k]]
		if k+1 < len(s) && x < val[s[k+1]] {
			v -= x
		} else {
			v += x
		}
	}
	if v <= 0 || v > 39 || toRoman(v) != s {
		return 0
	}
	return v
}

func toRoman(v int) string {
	var b strings.Builder
	for _, p := range []struct {
		n int
		s string
	}{{10, "X"}, {9, "IX"}, {5, "V"}, {4, "IV"}, {1, "I"}} {
		for v >= p.n {
			b.WriteString(p.s)
			v -= p.n
		}
	}
	return b.String()
}

func superscriptDigit(r rune) int {
	switch r {
	case '¹':
		return 1
	case '²':
		return 2
	case '³':
		return 3
	}
	if r >= '⁰' && r <= '⁹' {
		return int(r - '⁰')
	}
	return 0
}

// ordinalSuffix returns the length of an ordinal suffix ("st", "nd",
// "rd", "th") at the start of s, standing alone as the end of a word.
func ordinalSuffix(s string) int {
	if len(s) < 2 {
		return 0
	}
	switch s[:2] {
	case "st", "nd", "rd", "th":
		if !letterAt(s, 2) {
			return 2
		}
	}
	return 0
}

// scanNumber returns the end of the number starting at s[i]: digits with
// at most one decimal point between digits and thousands separators
// ("1,000"; "1,2" is two numbers).
func scanNumber(s string, i int) int {
	j := i
	digits := func() {
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if !unicode.IsDigit(r) {
				return
			}
			j += n
		}
	}
	digits()
	for j+1 < len(s) && s[j] == ',' && threeDigits(s[j+1:]) {
		j += 4
	}
	if j+1 < len(s) && s[j] == '.' && s[j+1] >= '0' && s[j+1] <= '9' {
		j++
		digits()
	}
	return j
}

// threeDigits reports whether s starts with exactly three ASCII digits.
func threeDigits(s string) bool {
	if len(s) < 3 {
		return false
	}
	for k := 0; k < 3; k++ {
		if s[k] < '0' || s[k] > '9' {
			return false
		}
	}
	return len(s) == 3 || s[3] < '0' || s[3] > '9'
}

// numberText is a number's canonical text: ASCII digits, no thousands
// separators, no leading zeros, no trailing fractional zeros.
func numberText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ',':
		case r == '.':
			b.WriteByte('.')
		case unicode.IsDigit(r):
			if r >= '0' && r <= '9' {
				b.WriteRune(r)
			} else {
				b.WriteRune('0' + digitValue(r))
			}
		}
	}
	t := b.String()
	if strings.Contains(t, ".") {
		t = strings.TrimRight(t, "0")
		t = strings.TrimSuffix(t, ".")
	}
	t = strings.TrimLeft(t, "0")
	if t == "" || t[0] == '.' {
		t = "0" + t
	}
	return t
}

// digitValue returns the value of a decimal digit of any script.
func digitValue(r rune) rune {
	for _, rt := range unicode.Nd.R16 {
		if r >= rune(rt.Lo) && r <= rune(rt.Hi) {
			return (r - rune(rt.Lo)) % 10
		}
	}
	for _, rt := range unicode.Nd.R32 {
		if r >= rune(rt.Lo) && r <= rune(rt.Hi) {
			return (r - rune(rt.Lo)) % 10
		}
	}
	return 0
}

// stem strips English inflections crudely but consistently: plurals
// ("acids", "tomatoes", "studies") and "-ing"/"-ed" on longer words.
func stem(w string) string {
	n := len(w)
	if n <= 3 || !isASCIILower(w) {
		return w
	}
	switch {
	case strings.HasSuffix(w, "ies") && n > 4:
		return w[:n-3] + "y"
	case strings.HasSuffix(w, "sses"):
		return w[:n-2]
	case strings.HasSuffix(w, "oes"), strings.HasSuffix(w, "xes"),
		strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"):
		return w[:n-2]
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"), strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "s"):
		return w[:n-1]
	case strings.HasSuffix(w, "ing") && n > 5:
		return undouble(w[:n-3])
	case strings.HasSuffix(w, "ed") && n > 4 && !strings.HasSuffix(w, "eed"):
		return undouble(w[:n-2])
	}
	return w
}

// undouble maps "runn" to "run" (after "running" lost its "-ing").
func undouble(w string) string {
	n := len(w)
	if n >= 3 && w[n-1] == w[n-2] && !strings.ContainsRune("aeiouls", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

func isASCIILower(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// isCJK reports whether r is a Chinese, Japanese or Korean character or
// CJK punctuation.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		r >= 0x3000 && r <= 0x303F
}
