package prompt

import (
	"context"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Embedder turns texts into vectors, one per text, in order. When a
// [Builder] has one ([WithEmbedder]), it ranks snippets and examples by
// the cosine similarity of their vectors to the question's instead of by
// BM25. The cache package's embedders satisfy it.
type Embedder interface {
	// Embed returns one vector per text, in the order of texts, all of
	// the same dimension, or an error (the builder then ranks by BM25).
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// BM25 parameters.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// termFreq is a term (hashed) and how often it occurs in a text.
type termFreq struct {
	term uint64
	n    int32
}

// docTerms is a text's index terms, sorted by term.
type docTerms struct {
	tf  []termFreq
	len int // terms in the text
}

func (d *docTerms) freq(term uint64) int32 {
	i, ok := slices.BinarySearchFunc(d.tf, term, func(t termFreq, x uint64) int {
		switch {
		case t.term < x:
			return -1
		case t.term > x:
			return 1
		}
		return 0
	})
	if !ok {
		return 0
	}
	return d.tf[i].n
}

// indexTerms computes the docTerms of texts (the parts of one document:
// an example's question and answer).
func indexTerms(texts ...string) *docTerms {
	var hs []uint64
	for _, s := range texts {
		hs = appendTerms(hs, s)
	}
	slices.Sort(hs)
	d := &docTerms{len: len(hs)}
	for i := 0; i < len(hs); {
		j := i
		for j < len(hs) && hs[j] == hs[i] {
			j++
		}
		d.tf = append(d.tf, termFreq{hs[i], int32(j - i)})
		i = j
	}
	return d
}

// appendTerms appends the hashed index terms of s to dst. Terms are
// case-folded words of letters and digits, lightly stemmed, less English
// stop words and lone letters; in runs of Han, kana or Hangul, which
// have no spaces, every pair of adjacent characters is a term (a lone
// character stands alone), less pairs with a grammatical particle.
func appendTerms(dst []uint64, s string) []uint64 {
	var word [64]byte
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case isCJK(r):
			prev, n := rune(-1), 0
			for i < len(s) {
				r, w := utf8.DecodeRuneInString(s[i:])
				if !isCJK(r) {
					break
				}
				if prev >= 0 && !cjkStop(prev) && !cjkStop(r) {
					dst = append(dst, hashRunes(prev, r))
				}
				prev = r
				i += w
				n++
			}
			if n == 1 && !cjkStop(prev) {
				dst = append(dst, hashRunes(prev, -1))
			}
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b := word[:0]
			for i < len(s) {
				r, w := utf8.DecodeRuneInString(s[i:])
				if isCJK(r) || !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’' {
					break
				}
				if r != '\'' && r != '’' && len(b)+utf8.UTFMax <= cap(b) {
					b = utf8.AppendRune(b, unicode.ToLower(r))
				}
				i += w
			}
			if t := stem(b); len(t) > 1 && !englishStop(string(t)) {
				dst = append(dst, maphash.Bytes(seed, t))
			}
		default:
			i += w
		}
	}
	return dst
}

func hashRunes(a, b rune) uint64 {
	var buf [8]byte
	n := utf8.EncodeRune(buf[:], a)
	if b >= 0 {
		n += utf8.EncodeRune(buf[n:], b)
	}
	return maphash.Bytes(seed, buf[:n])
}

func isCJK(r rune) bool {
	return r >= 0x2e80 && (unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) ||
		unicode.Is(unicode.Katakana, r) || unicode.Is(unicode.Hangul, r))
}

// cjkStop reports whether r is a Chinese particle or pronoun, which
// carries no topic.
func cjkStop(r rune) bool {
	switch r {
	case '的', '了', '吗', '呢', '吧', '啊', '么', '是', '在', '和', '与', '把', '被', '这', '那', '个', '些',
		'我', '你', '他', '她', '它', '们', '请', '呀', '哪', '谁', '怎', '啥', '就', '都', '也', '还', '又', '很', '着', '过':
		return true
	}
	return false
}

// stem strips common English inflections so that related forms share a
// term ("force", "forces", "forced" → "forc"; "accelerates",
// "acceleration" → "accelerat"); the stems need not be words.
func stem(b []byte) []byte {
	ends := func(suffix string, min int) bool {
		return len(b) >= min && strings.HasSuffix(string(b), suffix)
	}
	switch { // plurals and third persons
	case ends("ies", 5):
		b = append(b[:len(b)-3], 'y')
	case ends("sses", 6):
		b = b[:len(b)-2]
	case ends("s", 4) && !ends("ss", 0) && !ends("us", 0) && !ends("is", 0):
		b = b[:len(b)-1]
	}
	for _, suf := range [...]struct {
		s        string
		min, cut int
	}{{"ation", 8, 3}, {"ing", 6, 3}, {"ion", 6, 3}, {"ed", 5, 2}, {"ly", 5, 2}, {"e", 4, 1}} {
		if ends(suf.s, suf.min) {
			return b[:len(b)-suf.cut]
		}
	}
	return b
}

var englishStops = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a about above after again all also am an and any are as at be because been
		before being below between both but by can could did do does doing done down during each few for from
		further get gets got had has have having he her here hers him his how i if in into is it its itself just
		let me more most my no nor not now of off on once only or other our out over own same she should so some
		such than that the their them then there these they this those through to too under until up us very
		was we were what when where which while who whom why will with would you your yours yourself please tell
		explain give find work works show shows use used using mean means much many does doe`) {
		m[w] = true
	}
	return m
}()

func englishStop(w string) bool { return englishStops[w] }

// bm25 scores docs against the query terms q (deduplicated) with BM25,
// the inverse document frequencies taken over docs themselves.
func bm25(q []uint64, docs []*docTerms, scores []float64) {
	for i := range scores {
		scores[i] = 0
	}
	if len(docs) == 0 {
		return
	}
	total := 0
	for _, d := range docs {
		total += d.len
	}
	avg := float64(total) / float64(len(docs))
	if avg == 0 {
		return
	}
	n := float64(len(docs))
	for _, t := range q {
		df := 0
		for _, d := range docs {
			if d.freq(t) > 0 {
				df++
			}
		}
		if df == 0 {
			continue
		}
		idf := math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
		for i, d := range docs {
			tf := float64(d.freq(t))
			if tf == 0 {
				continue
			}
			scores[i] += idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*float64(d.len)/avg))
		}
	}
}

// cosine returns the cosine similarity of a and b (0 if either is zero
// or their lengths differ).
func cosine(a, b []float32) float64 {
	if len(a) != len(b) {
		return 0
	}
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// order returns the indices of scores from highest to lowest, ties in
// input order.
func order(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	return idx
}
