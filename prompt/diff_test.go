package prompt

// Differential tests: the fast counter against tiktoken-go itself, and the
// hand-written pre-tokenizers against the regexp2 patterns tiktoken-go
// compiles.
//
// Run the fuzz targets with, for example (a short -fuzzminimizetime keeps
// the slow reference from spending the run minimizing):
//
//	go test -run '^$' -fuzz FuzzCountO200k -fuzztime 75s -fuzzminimizetime 5s ./prompt/
//	go test -run '^$' -fuzz FuzzCountCl100k -fuzztime 75s -fuzzminimizetime 5s ./prompt/
//	go test -run '^$' -fuzz FuzzSplit -fuzztime 75s -fuzzminimizetime 5s ./prompt/

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
)

func init() {
	// The reference loads the same embedded encodings; nothing downloads.
	tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader())
}

// The patterns of tiktoken-go v0.1.8's encoding.go.
const (
	patO200k = `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?` +
		`|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?` +
		`|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	patCl100k = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

var (
	refMu  sync.Mutex
	refTks = map[string]*tiktoken.Tiktoken{}
	refRes = map[string]*regexp2.Regexp{
		O200kBase:  regexp2.MustCompile(patO200k, regexp2.None),
		Cl100kBase: regexp2.MustCompile(patCl100k, regexp2.None),
	}
)

// refCount is tiktoken-go's count.
func refCount(t testing.TB, enc, text string) int {
	t.Helper()
	refMu.Lock()
	tk, ok := refTks[enc]
	if !ok {
		var err error
		tk, err = tiktoken.GetEncoding(enc)
		if err != nil {
			refMu.Unlock()
			t.Fatal(err)
		}
		refTks[enc] = tk
	}
	refMu.Unlock()
	return len(tk.EncodeOrdinary(text))
}

// refSplit is the regexp2 pattern's pieces of text, as tiktoken-go cuts
// them (on runes, so invalid bytes come out as U+FFFD).
func refSplit(enc, text string) []string {
	runes := []rune(text)
	var out []string
	m, _ := refRes[enc].FindRunesMatch(runes)
	for m != nil {
		out = append(out, string(runes[m.Index:m.Index+m.Length]))
		m, _ = refRes[enc].FindNextMatch(m)
	}
	return out
}

// split is the hand-written pre-tokenizer's pieces of text.
func split(enc, text string) []string {
	loadClasses()
	if !utf8.ValidString(text) {
		text = string([]rune(text))
	}
	next := nextO200k
	if enc == Cl100kBase {
		next = nextCl100k
	}
	var out []string
	for i := 0; i < len(text); {
		j := next(text, i)
		out = append(out, text[i:j])
		i = j
	}
	return out
}

func counter(t testing.TB, enc string) *Counter {
	t.Helper()
	c, err := NewCounter(enc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Interesting runes for generated text, by what the patterns care about.
var palette = []string{
	// ASCII letters, digits, punctuation, apostrophes and contractions.
	"a", "b", "z", "A", "Z", "s", "S", "t", "T", "re", "RE", "Ve", "ll", "LL", "d", "D", "m",
	"0", "7", "9", "'", "'", "'s", "'T", "'Re", "'ll", "'LL", "'d", "'x", "\"", ".", ",", "!", "?", "/", "//", "\\",
	"(", ")", "[", "]", "{", "}", "=", "+", "-", "*", "_", "#", "@", "$", "%", "^", "&", "|", "~", "`", "<|endoftext|>",
	// White space of every kind \s knows.
	" ", " ", "  ", "\t", "\n", "\n", "\r", "\r\n", "\v", "\f", "\u0085", "\u00a0", "\u2003", "\u3000", "\u2028", "\u200b",
	// Letters beyond ASCII: Ll, Lu, Lt, Lm, Lo; marks (Mn, Mc, Me).
	"é", "É", "ß", "ǅ", "ǈ", "ʰ", "ー", "々", "ſ", "K", "İ", "ı", "ω", "Ω", "ж", "Ж", "א", "ا", "ب", "ก", "क", "ि",
	"\u0301", "\u0308", "\u20dd", "\u093f", "\u0e31",
	// Numbers: Nd, Nl, No.
	"²", "½", "Ⅻ", "٣", "३", "①", "〇",
	// CJK, kana, hangul, full-width forms and CJK punctuation.
	"中", "文", "的", "学", "生", "牛顿", "第二定律", "质量", "加速度", "は", "カ", "한", "Ａ", "ａ", "１", "。", "，", "？", "：", "（", "）", "、", "《", "》",
	// Maths and symbols.
	"×", "÷", "−", "±", "√", "∑", "∫", "π", "λ", "≈", "≤", "°", "·", "…", "→", "€", "£", "¥",
	// Emoji, with modifiers and joiners.
	"😀", "👍🏽", "👨‍👩‍👧", "🇨🇳", "❤️", "\u200d", "\ufe0f", "\U0001F9EE",
	// Planes beyond the BMP: letters, numbers.
	"𝐀", "𝑎", "𠀀", "𝟘", "𐐀", "𐐨",
	// Replacement character and invalid UTF-8.
	"\ufffd", "\xff", "\xc0", "\x80", "\xe4\xb8", "\xed\xa0\x80", "\xf0\x9f\x98", "\xc3", "\x00",
}

// genText returns a random string of up to n palette entries.
func genText(r *rand.Rand, n int) string {
	var b strings.Builder
	for range r.IntN(n + 1) {
		b.WriteString(palette[r.IntN(len(palette))])
	}
	return b.String()
}

// fixedCorpus is hand-written text of every kind the issue names.
var fixedCorpus = []string{
	"", " ", "  ", "\n", "\n\n\n", " \n ", "\t\t", "a", "A", "1", "123456789", "1234567 89", "x²+y²=z²",
	"hello world", "Hello World", "HELLO WORLD", "tiktoken is great!", "I'm sure it's fine, they'll say we'd've DONE'T",
	"He said 'Stop!' and 'RE'", "don't DON'T Don'T", "CamelCaseWordsLikeThisOne", "HTTPServer JSONDecoder iOS",
	"牛顿第二定律：物体的加速度跟作用力成正比，跟物体的质量成反比。F = ma，单位是牛顿（N）。",
	"把 20 g 食盐完全溶解在 80 g 水中，所得溶液中溶质的质量分数是多少？",
	"一个质量为 1200 kg 的汽车，牵引力 4000 N，阻力 1000 N，求加速度 a = (4000 − 1000) ÷ 1200 = 2.5 m/s²。",
	"解方程 2x + 3 = 7：移项得 2x = 4，所以 x = 2。",
	"∫₀¹ x² dx = 1/3, ∑_{k=1}^{n} k = n(n+1)/2, e^{iπ} + 1 = 0, √2 ≈ 1.41421356",
	"$$\\frac{a}{b} = \\sqrt{c^2 - d^2}$$ and \\(x_{i,j}\\)",
	"func main() {\n\tfmt.Println(\"hi\")\n\tfor i := 0; i < 10; i++ {\n\t\tx += i // comment\n\t}\n}\n",
	"def f(x):\n    return x**2  # square\n\n\nprint(f(3))\r\n",
	"{\"student\":{\"name\":\"T\",\"grade\":9},\"scores\":[71,65,91]}",
	"{\n  \"student\": {\n    \"name\": \"T\"\n  }\n}",
	"path/to/file.go //comment\n/usr/bin\n// slash\n/",
	"😀😀 👍🏽 great!! 👨‍👩‍👧 family 🇨🇳🇺🇸 ❤️❤️",
	"     leading spaces", "trailing spaces     ", "mixed \t \n \r\n \u3000 spaces\u00a0here",
	"https://example.com/a/b?c=d&e=f#g", "email@example.com", "C++ C# F# .NET node.js",
	"Ǆemal ǅemal ǆemal", "ʰello ʰʰʰ", "naïve café résumé coöperate", "ﬁﬂ", "İstanbul ıi",
	"का कि की", "สวัสดีครับ", "مرحبا بالعالم", "שלום עולם", "Привет, мир! ПРИВЕТ",
	"<|endoftext|><|endofprompt|><|fim_prefix|>",
	strings.Repeat("a", 300), strings.Repeat("ab", 200), strings.Repeat("中", 200), strings.Repeat("的学生", 150),
	strings.Repeat("=", 257), strings.Repeat("-_", 100), strings.Repeat(" ", 500) + "x", strings.Repeat("\n", 100),
	strings.Repeat("😀", 80), strings.Repeat("é", 200), strings.Repeat("\u0301", 100), strings.Repeat("Ab", 150),
	"\xff\xfe\xfd", "abc\xffdef", "中\xe4\xb8文", "\xed\xa0\x80\xed\xb0\x80", "\xc0\xaf", "\x00\x01\x02",
}

func TestSplitMatchesRegexp2(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	texts := append([]string{}, fixedCorpus...)
	texts = append(texts, datasetCorpus(t)...)
	for range 3000 / raceDivisor {
		texts = append(texts, genText(r, 40))
	}
	for _, enc := range []string{O200kBase, Cl100kBase} {
		for _, text := range texts {
			got, want := split(enc, text), refSplit(enc, text)
			if !equalStrings(got, want) {
				t.Fatalf("%s split(%q)\n got %q\nwant %q", enc, text, got, want)
			}
		}
	}
}

func TestCountMatchesTiktoken(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	texts := append([]string{}, fixedCorpus...)
	data := datasetCorpus(t)
	texts = append(texts, data...)
	texts = append(texts, strings.Join(data, "\n"))
	for range 2000 / raceDivisor {
		texts = append(texts, genText(r, 60))
	}
	for range 200 / raceDivisor {
		b := make([]byte, r.IntN(200))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		texts = append(texts, string(b))
	}
	for _, enc := range []string{O200kBase, Cl100kBase} {
		c := counter(t, enc)
		for _, text := range texts {
			if got, want := c.Count(text), refCount(t, enc, text); got != want {
				t.Fatalf("%s Count(%q) = %d, tiktoken-go %d", enc, text, got, want)
			}
		}
	}
}

// refMerge is tiktoken-go's bytePairMerge over the rank table, as
// written there (a slice of parts, get_rank(i, 0) and get_rank(i, 1)).
func refMerge(t *rankTable, p string) int {
	key := []byte(p + "\x00\x00\x00\x00\x00\x00\x00\x00")
	if len(p) == 1 || t.get(key, 0, len(p)) != noRank {
		return 1
	}
	type part struct{ start, rank int }
	parts := make([]part, len(p)+1)
	for i := range parts {
		parts[i] = part{i, math.MaxInt}
	}
	getRank := func(i, skip int) int {
		if i+skip+2 < len(parts) {
			if r := t.get(key, parts[i].start, parts[i+skip+2].start); r != noRank {
				return int(r)
			}
		}
		return -1
	}
	for i := 0; i < len(parts)-2; i++ {
		if r := getRank(i, 0); r >= 0 {
			parts[i].rank = r
		}
	}
	for len(parts) > 1 {
		minRank, minIdx := math.MaxInt, -1
		for i := 0; i < len(parts)-1; i++ {
			if parts[i].rank < minRank {
				minRank, minIdx = parts[i].rank, i
			}
		}
		if minIdx < 0 {
			break
		}
		i := minIdx
		if r := getRank(i, 1); r >= 0 {
			parts[i].rank = r
		} else {
			parts[i].rank = math.MaxInt
		}
		if i > 0 {
			if r := getRank(i-1, 1); r >= 0 {
				parts[i-1].rank = r
			} else {
				parts[i-1].rank = math.MaxInt
			}
		}
		parts = append(parts[:i+1], parts[i+2:]...)
	}
	return len(parts) - 1
}

// TestMergeVariants checks the merges (linear and heap, with and without
// pre-merged characters) against tiktoken-go's algorithm on random
// pieces of every length, many of them Chinese.
func TestMergeVariants(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cjk := []string{"的", "是", "学", "生", "质", "量", "加", "速", "度", "牛", "顿", "定", "律", "溶", "液", "。", "，", " ", "a", "ा", "ि", "ა"}
	for _, enc := range []string{O200kBase, Cl100kBase} {
		b := counter(t, enc).bpe
		m := &merger{t: b.ranks}
		for iter := range 40000 / raceDivisor {
			src := palette
			if iter%2 == 0 {
				src = cjk
			}
			var sb strings.Builder
			want := 2 + r.IntN(120)
			for sb.Len() < want {
				sb.WriteString(src[r.IntN(len(src))])
			}
			p := sb.String()
			if iter%3 == 0 {
				p = p[:want] // cut inside a character, too
			}
			ref := refMerge(b.ranks, p)
			if got := m.pieceTokens(p); got != ref {
				t.Fatalf("%s pieceTokens(%q) = %d, reference %d", enc, p, got, ref)
			}
			// Both merge loops on byte parts, and on pre-merged parts.
			key := []byte(p + "\x00\x00\x00\x00\x00\x00\x00\x00")
			n := len(p)
			if b.ranks.get(key, 0, n) != noRank {
				continue
			}
			bytesStarts := make([]int32, n+1)
			for i := range bytesStarts {
				bytesStarts[i] = int32(i)
			}
			pre := make([]int32, n+1)
			pre = pre[:b.ranks.pre.parts(key, n, pre)+1]
			for _, starts := range [][]int32{bytesStarts, pre} {
				if len(starts)-1 <= linearMax {
					if got := m.mergeLinear(key, slices.Clone(starts)); got != ref {
						t.Fatalf("%s mergeLinear(%q, %v) = %d, reference %d", enc, p, starts, got, ref)
					}
				}
				if got := m.mergeHeap(key, n, slices.Clone(starts)); got != ref {
					t.Fatalf("%s mergeHeap(%q, %v) = %d, reference %d", enc, p, starts, got, ref)
				}
			}
		}
	}
}

// TestClassesMatchRegexp2 checks every rune's classes against regexp2's
// own character classes, and that only ASCII letters lower-case to the
// letters of the contractions.
func TestClassesMatchRegexp2(t *testing.T) {
	if testing.Short() {
		t.Skip("walks all of Unicode")
	}
	classes := []struct {
		bit uint8
		re  *regexp2.Regexp
	}{
		{clsL, regexp2.MustCompile(`^\p{L}$`, regexp2.None)},
		{clsN, regexp2.MustCompile(`^\p{N}$`, regexp2.None)},
		{clsUpper, regexp2.MustCompile(`^[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]$`, regexp2.None)},
		{clsLower, regexp2.MustCompile(`^[\p{Ll}\p{Lm}\p{Lo}\p{M}]$`, regexp2.None)},
		{clsSpace, regexp2.MustCompile(`^\s$`, regexp2.None)},
		{clsCRLF, regexp2.MustCompile(`^[\r\n]$`, regexp2.None)},
	}
	loadClasses()
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xd800 && r < 0xe000 {
			continue
		}
		c := class(r)
		if r < 0x80 && asciiClass[r] != c {
			t.Fatalf("asciiClass[%U] = %b, want %b", r, asciiClass[r], c)
		}
		// regexp2 is slow; check every rune of the BMP and a sample above.
		if r >= 0x10000 && r%97 != 0 {
			continue
		}
		for _, cl := range classes {
			ok, _ := cl.re.MatchRunes([]rune{r})
			if ok != (c&cl.bit != 0) {
				t.Fatalf("rune %U: class bit %b is %v, regexp2 says %v", r, cl.bit, c&cl.bit != 0, ok)
			}
		}
		if l := unicode.ToLower(r); r >= 0x80 && strings.ContainsRune("strvmld", l) {
			t.Fatalf("%U lower-cases to %q: contraction() must handle it", r, l)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func fuzzSeeds(f *testing.F) {
	for _, s := range fixedCorpus {
		f.Add(s)
	}
	r := rand.New(rand.NewPCG(7, 8))
	for range 50 {
		f.Add(genText(r, 30))
	}
}

// clip bounds fuzz inputs: tiktoken-go's merge is quadratic in a piece's
// length, and a long input would stall the fuzzer on the reference.
func clip(s string) string { return s[:min(len(s), 4096)] }

func FuzzCountO200k(f *testing.F) { fuzzCount(f, O200kBase) }

func FuzzCountCl100k(f *testing.F) { fuzzCount(f, Cl100kBase) }

func fuzzCount(f *testing.F, enc string) {
	fuzzSeeds(f)
	c := counter(f, enc)
	f.Fuzz(func(t *testing.T, text string) {
		text = clip(text)
		if got, want := c.Count(text), refCount(t, enc, text); got != want {
			t.Fatalf("%s Count(%q) = %d, tiktoken-go %d", enc, text, got, want)
		}
	})
}

func FuzzSplit(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, text string) {
		text = clip(text)
		for _, enc := range []string{O200kBase, Cl100kBase} {
			got, want := split(enc, text), refSplit(enc, text)
			if !equalStrings(got, want) {
				t.Fatalf("%s split(%q)\n got %q\nwant %q", enc, text, got, want)
			}
		}
	})
}
