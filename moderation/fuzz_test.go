package moderation

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fuzz targets:
//
//	go test -run '^$' -fuzz FuzzNormalize -fuzztime 20s ./moderation/
//	go test -run '^$' -fuzz FuzzHiddenWord -fuzztime 20s ./moderation/
//	go test -run '^$' -fuzz FuzzGuard -fuzztime 20s ./moderation/

var fuzzSeeds = []string{
	"", "a", "s.t.u.p.i.d", "d u m b a s s", "ｓｈｕｔ\u3000ｕｐ", "id\u200biot", "іdіot", "⽩痴", "作_弊_器",
	"我不 想 活 了", "汉代考古", "想死你了", "\xff\xfe\xc3", "e\u0301\u0301\u0301", "a  b. c-d", "𝐢𝐝𝐢𝐨𝐭", "ﷺ",
	"k.i.l.l m.y.s.e.l.f", "s . t . u . p . i . d", "a S.T.U.P.I.D", "。，！", "\u0000\t\n",
	"x + x = 2x", "X - X", "a+b", "p \u22c5 q",
}

// FuzzNormalize: no panic on any input; the result is valid UTF-8; every
// normalized character maps back inside the input, in order; and feeding
// the input in two pieces gives the same result.
func FuzzNormalize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, s string, cut int) {
		for _, keep := range []bool{false, true} {
			var n normalizer
			n.reset(0, keep)
			n.feed(s, 0, true)
			if !utf8.Valid(n.out) {
				t.Fatalf("%q: invalid UTF-8 %q", s, n.out)
			}
			prev := 0
			for i := 0; i < len(n.out); {
				_, size := utf8.DecodeRune(n.out[i:])
				a, b := n.origStart(i), n.origEnd(i+size)
				if a < 0 || b > len(s) || a > b || a < prev-4*utf8.UTFMax {
					t.Fatalf("%q: out[%d:%d] maps to [%d,%d)", s, i, i+size, a, b)
				}
				prev = a
				i += size
			}
			if len(s) == 0 {
				continue
			}
			c := cut % len(s)
			if c < 0 {
				c = -c
			}
			var m normalizer
			m.reset(0, keep)
			at := m.feed(s[:c], 0, false)
			m.feed(s, at, true)
			if string(m.out) != string(n.out) {
				t.Fatalf("%q cut at %d: %q, whole %q", s, c, m.out, n.out)
			}
		}
	})
}

var (
	fuzzOnce    sync.Once
	fuzzMatcher *Matcher
	fuzzWords   []Entry
	radicals    map[rune]rune // ideograph → Kangxi radical that NFKC maps to it
)

func fuzzSetup(t testing.TB) {
	fuzzOnce.Do(func() {
		fuzzMatcher = testMatcher(t)
		fuzzWords = fuzzMatcher.entries
		radicals = map[rune]rune{}
		for r := rune(0x2f00); r <= 0x2fd5; r++ {
			if s := []rune(norm.NFKC.String(string(r))); len(s) == 1 {
				radicals[s[0]] = r
			}
		}
	})
}

var (
	cyrillic = map[rune]rune{'a': 'а', 'e': 'е', 'o': 'о', 'p': 'р', 'c': 'с', 'i': 'і', 's': 'ѕ', 'x': 'х', 'y': 'у'}
	invis    = []rune{'\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad'}
	seps     = []rune{'.', '-', '_', '*', '·', '|', '/'}
)

// hide disguises a listed term: per character, case, full width,
// look-alikes, invisible characters, and separators between all the
// characters of a word, as the moves of a student who wants it through.
func hide(term string, moves uint32) string {
	sep := seps[moves%uint32(len(seps))]
	zw := invis[(moves>>3)%uint32(len(invis))]
	spaced := moves&(1<<6) != 0
	var b strings.Builder
	words := strings.Split(term, " ")
	for wi, w := range words {
		if wi > 0 {
			b.WriteByte(' ')
		}
		rs := []rune(w)
		for i, r := range rs {
			bit := func(k uint) bool { return moves>>(7+(uint(i)*4+k)%24)&1 != 0 }
			if i > 0 {
				switch {
				case spaced && (len(words) == 1 || isUnspaced(r)):
					b.WriteRune(' ')
				case spaced:
					b.WriteRune(sep)
				case bit(0) && bit(1):
					b.WriteRune(zw)
				}
			}
			switch {
			case r < utf8.RuneSelf && bit(2) && bit(3):
				b.WriteRune(r - 'a' + 'ａ') // full width
			case bit(2):
				if c, ok := cyrillic[r]; ok {
					b.WriteRune(c)
				} else {
					b.WriteRune(unicode.ToUpper(r))
				}
			case bit(3):
				if k, ok := radicals[r]; ok {
					b.WriteRune(k)
				} else {
					b.WriteRune(unicode.ToUpper(r))
				}
			default:
				b.WriteRune(r)
			}
		}
		if spaced && len(words) == 1 && moves&(1<<5) != 0 {
			// The separators of a spaced-out word may be any one.
			s := b.String()
			b.Reset()
			b.WriteString(strings.ReplaceAll(s, " ", string(sep)))
		}
	}
	return b.String()
}

// FuzzHiddenWord: a listed term hidden by separators, width, case,
// look-alikes or invisible characters, anywhere in any text, is still
// found, and its span covers the disguise.
func FuzzHiddenWord(f *testing.F) {
	f.Add("You are such a", "today.", uint8(0), uint32(0))
	f.Add("你这个", "！", uint8(40), uint32(0xffffffff))
	f.Add("x", "y", uint8(7), uint32(1<<6))
	f.Fuzz(func(t *testing.T, before, after string, which uint8, moves uint32) {
		fuzzSetup(t)
		e := fuzzWords[int(which)%len(fuzzWords)]
		hidden := hide(e.Term, moves)
		// Hard boundaries around the disguise: whatever the context, the
		// term is a word of its own there.
		text := before + "，" + hidden + "，" + after
		start := len(before) + len("，")
		end := start + len(hidden)
		want := strings.Trim(Normalize(e.Term), " ")
		for _, m := range fuzzMatcher.Find(text) {
			if m.Term == want && m.Start >= start && m.End <= end && m.Start <= start+utf8.UTFMax && m.End >= end-utf8.UTFMax {
				return
			}
		}
		t.Fatalf("%q hidden as %q in %q: not found (found %+v); normalized %q", e.Term, hidden, text, fuzzMatcher.Find(text), Normalize(text))
	})
}

// FuzzGuard: no panic on any input, and the stream guard agrees with the
// whole-text check: the same action, the same text released (masked), and
// nothing of a blocked hit.
func FuzzGuard(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, uint64(i))
	}
	f.Add("You are such an idiot, honestly.", uint64(18))
	f.Add("好久不见，想死你了！", uint64(7))
	f.Fuzz(func(t *testing.T, text string, cuts uint64) {
		fuzzSetup(t)
		p, err := NewPipeline(WithMatcher(fuzzMatcher), WithValidator(MarkdownValidator{}, Flag))
		if err != nil {
			t.Fatal(err)
		}
		whole, err := p.Check(context.Background(), Input{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		var chunks []string
		for s := text; len(s) > 0; cuts >>= 3 {
			n := min(len(s), 1+int(cuts&7))
			if cuts == 0 {
				n = len(s)
			}
			chunks = append(chunks, s[:n]) // may cut inside a character
			s = s[n:]
		}
		out, v, err := streamThrough(p.NewGuard(Format{}), chunks)
		if whole.Action == Block {
			first := len(text)
			for _, f := range whole.Findings {
				if f.Action == Block {
					first = min(first, f.Start)
				}
			}
			if !errors.Is(err, ErrBlocked) || !strings.HasPrefix(maskText(text, whole.Findings), out) || len(out) > first {
				t.Fatalf("%q in %q: out %q, err %v; want blocked before %d", text, chunks, out, err, first)
			}
			return
		}
		want := text
		if whole.Action == Mask {
			want = whole.Text
		}
		if err != nil || out != want || v.Action != whole.Action {
			t.Fatalf("%q in %q: out %q %v %v, want %q %v", text, chunks, out, v.Action, err, want, whole.Action)
		}
	})
}

// FuzzParseWords: no panic on any list; a list either parses or gives a
// *ParseError with its line; what parses compiles, or gives a
// *ConfigError; and the load report has one entry per parsed entry.
//
//	go test -run '^$' -fuzz FuzzParseWords -fuzztime 20s ./moderation/
func FuzzParseWords(f *testing.F) {
	for _, s := range []string{
		"idiot\tinsult\tmedium\n", "13.\tfault\n", "a\tb\tlow\texact,digits\n", "x\t\t\t\n", "\t\n",
		"Idiot\t\thigh\nＩＤＩＯＴ\t\tlow\n", "# c\n\n性\tzh\tlow\n", "a\tb\tc\td\te\n", "\xff\n", "911\t\t\tdigits\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		ws, err := ParseWords(strings.NewReader(list))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 {
				t.Fatalf("%q: %v", list, err)
			}
			return
		}
		m, err := NewMatcher(ws, nil)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%q: %v", list, err)
			}
			return
		}
		r := m.Report()
		if len(r.Entries) != len(ws) || r.Kept+r.Merged+r.Refused != len(ws) || m.Len() != r.Kept {
			t.Fatalf("%q: report %+v for %d entries", list, r, len(ws))
		}
		for _, e := range r.Entries {
			if e.Status == Merged && (e.Into < 0 || e.Into >= len(ws) || r.Entries[e.Into].Status != Kept) {
				t.Fatalf("%q: entry %+v merged into a entry not kept", list, e)
			}
		}
		m.Find(list)
	})
}

// FuzzInflectedForms: every regular form of a word (letters only) that
// is listed is found in any context that ends the word, as that word,
// whole and through the stream guard.
//
//	go test -run '^$' -fuzz FuzzInflectedForms -fuzztime 20s ./moderation/
func FuzzInflectedForms(f *testing.F) {
	for _, w := range []string{"idiot", "crybaby", "hate", "die", "stab", "box", "wolf", "wife", "hero", "quiz", "see"} {
		f.Add(w, "They said", ", really.", uint8(0))
	}
	f.Fuzz(func(t *testing.T, word, before, after string, which uint8) {
		w := strings.ToLower(word)
		if !asciiWord(w) || len(w) < 2 || len(w) > 20 {
			return
		}
		forms := regularForms(w)
		if len(forms) == 0 {
			return
		}
		fm := forms[int(which)%len(forms)]
		form := fm.stem + fm.suffix
		m, err := NewMatcher([]Entry{{Term: w, Severity: High}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		text := before + "，" + form + "，" + after
		start := len(before) + len("，")
		found := false
		for _, h := range m.Find(text) {
			if h.Term == w && h.Start == start && h.End == start+len(form) {
				found = true
			}
		}
		if !found {
			t.Fatalf("%q: form %q not found in %q: %+v", w, form, text, m.Find(text))
		}
		p, err := NewPipeline(WithMatcher(m))
		if err != nil {
			t.Fatal(err)
		}
		var chunks []string // pieces of n bytes, which may cut a character
		for s, n := text, 1+int(which)%5; len(s) > 0; s = s[min(n, len(s)):] {
			chunks = append(chunks, s[:min(n, len(s))])
		}
		out, _, err := streamThrough(p.NewGuard(Format{}), chunks)
		if !errors.Is(err, ErrBlocked) || len(out) > start {
			t.Fatalf("%q streamed: out %q, err %v", text, out, err)
		}
	})
}
