package moderation

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Hello, World", "hello, world"},
		{"s.t.u.p.i.d", "stupid"},
		{"S-T-U-P-I-D!", "stupid!"},
		{"d u m b a s s, ok", "dumbass, ok"},
		{"k.i.l.l m.y.s.e.l.f", "kill myself"},
		{"s . t . u . p", "stup"},
		{"I want to go", "i want to go"},
		{"a b cd", "ab cd"},
		{"s.t-u", "st u"},
		{"m-y l-i-f-e", "my life"},
		{"a d u m b a s s", "adumbass"}, // one run; the matcher may start a hit after the "a"
		{"a S.T.U.P.I.D", "a stupid"},
		{"knee-jerk", "knee jerk"},
		{"kill   yourself", "kill yourself"},
		{"ｓｈｕｔ\u3000ｕｐ", "shut up"},
		{"ＳＴＵＰＩＤ", "stupid"},
		{"id\u200biot", "idiot"},
		{"s\u200bt\u200bu", "stu"},
		{"іdіot mοrοn сrap", "idiot moron crap"},
		{"stüpid Ïdiot", "stupid idiot"},
		{"e\u0301cole", "ecole"},
		{"⽩痴 ⾃杀", "白痴自杀"},
		{"白 痴", "白痴"},
		{"作_弊_器", "作弊器"},
		{"脑·残", "脑残"},
		{"我不 想 活 了", "我不想活了"},
		{"白      痴", "白 痴"},
		{"去，死", "去,死"},
		{"代\ufeff考", "代考"},
		{"你个IDIOT", "你个idiot"},
		{"𝐢𝐝𝐢𝐨𝐭", "idiot"},
		{"don’t", "don't"},
		{"1.5 m", "1 5 m"},
		// Arithmetic operators never join single letters: '+' anywhere,
		// '-', '*', '/' set with spaces; tight joiners still do.
		{"x + x = 2x", "x x = 2x"},
		{"X - X", "x x"},
		{"a+b+c", "a b c"},
		{"a * b / c", "a b c"},
		{"p \u22c5 q", "p q"},
		{"y - y - y", "y y y"},
		{"x-x", "xx"},
		{"3 + 4 = 7", "3 4 = 7"},
		{"\xff\xfeok", "\ufffd\ufffdok"},
		{"", ""},
	} {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestNormalizeMapsBack checks that every normalized character maps back
// to a span of the original that starts and ends on character boundaries,
// in order.
func TestNormalizeMapsBack(t *testing.T) {
	for _, in := range []string{
		"You are s.t.u.p.i.d, ｉｄｉｏｔ!", "作\u200b弊\u200b器 出售", "ｓｈｕｔ\u3000ｕｐ and listen",
		"我不 想 活 了", "kіll yоurself", "\xffbad\xc3", "a  b  c",
	} {
		var n normalizer
		n.reset(0, false)
		n.feed(in, 0, true)
		prevEnd := 0
		for i := 0; i < len(n.out); {
			_, size := utf8.DecodeRune(n.out[i:])
			s, e := n.origStart(i), n.origEnd(i+size)
			if s < 0 || e > len(in) || s > e || s < prevEnd && s != n.origStart(max(0, i-1)) {
				t.Fatalf("%q: out[%d] %q maps to [%d,%d)", in, i, n.out[i:i+size], s, e)
			}
			if !utf8.RuneStart(in[min(s, len(in)-1)]) && s < len(in) {
				t.Fatalf("%q: out[%d] starts inside a character at %d", in, i, s)
			}
			if n.outIndex(s) > i {
				t.Fatalf("%q: outIndex(%d) = %d > %d", in, s, n.outIndex(s), i)
			}
			prevEnd = e
			i += size
		}
	}
}

// TestNormalizeIncremental checks that feeding a text in pieces gives the
// same normalized text as feeding it whole.
func TestNormalizeIncremental(t *testing.T) {
	in := "You are s.t.u.p.i.d, ｉｄｉｏｔ! 作\u200b弊\u200b器, 白 痴 d u m b a s s 𝐢𝐝 ok"
	want := Normalize(in)
	for step := 1; step < 8; step++ {
		var n normalizer
		n.reset(0, false)
		at := 0
		for end := step; ; end += step {
			end = min(end, len(in))
			at = n.feed(in[:end], at, end == len(in))
			if end == len(in) {
				break
			}
		}
		if got := string(n.out); got != want {
			t.Errorf("step %d: %q, want %q", step, got, want)
		}
	}
	if !strings.Contains(want, "stupid") {
		t.Fatal(want)
	}
}
