package semantic

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// A student writes a question among words that are not part of it: "Hi
// there, what is a prime? Thanks!". lexQuestion drops those clauses
// (lexicon/discourse.txt) from either end of the question before the
// rules compare it, so that the two ask the same.

// clause is the byte span of one clause of a question, and whether
// clause punctuation ends it with a colon (what follows a colon is what
// it introduces: never dropped).
type clause struct {
	start, end int
	colon      bool
}

// splitClauses cuts s at clause punctuation: ". ! ? , ; :" followed by a
// space or the end (so that 0.5, 1,000 and 3:4 stay whole), the
// full-width forms (。！？，；：) anywhere, and line breaks.
func splitClauses(s string) []clause {
	var out []clause
	start := 0
	for i, r := range s {
		if !isClausePunct(r) {
			continue
		}
		j := i + utf8.RuneLen(r)
		if r < utf8.RuneSelf && r != '\n' { // ASCII: only before a space, more punctuation or the end
			if next, _ := utf8.DecodeRuneInString(s[j:]); j < len(s) && !unicode.IsSpace(next) && !isClausePunct(next) {
				continue
			}
		}
		out = append(out, clause{start: start, end: i, colon: r == ':' || r == '：'})
		start = j
	}
	return append(out, clause{start: start, end: len(s)})
}

func isClausePunct(r rune) bool {
	switch r {
	case '.', '!', '?', ',', ';', ':', '。', '！', '？', '，', '；', '：', '\n':
		return true
	}
	return false
}

// lexQuestion lexes a question without the clauses at either end that are
// discourse formulas alone (greetings, thanks, pleas, apologies, address,
// announcing the question, being stuck) and without an interjection
// opening it ("hi what is …", "um what is …"). A clause after a colon is
// kept (it is what the colon introduces: "how do you say: thank you?"),
// and a question made of such clauses alone is lexed whole.
func lexQuestion(q string, lx *lexicon) []tok {
	cs := splitClauses(q)
	parts := make([][]tok, len(cs))
	for i, c := range cs {
		parts[i] = lexMentions(q[c.start:c.end])
	}
	isDiscourse := func(i int) bool { return len(parts[i]) == 0 || lx.discourse.covers(parts[i]) }
	first, last := 0, len(cs)-1
	for first <= last && isDiscourse(first) {
		first++
	}
	for last >= first && isDiscourse(last) && (last == 0 || !cs[last-1].colon) {
		last--
	}
	if first > last {
		return lex(q)
	}
	var out []tok
	for i := first; i <= last; i++ {
		p := parts[i]
		if i == first {
			// An interjection opening the question, as a word of its own.
			for {
				_, n := lx.discourse.longest(p, 0, func(ph phrase) bool { return ph.flag == "open" })
				if n == 0 || n >= len(p) || p[n].glued {
					break
				}
				p = p[n:]
			}
		}
		if len(out) > 0 && len(p) > 0 {
			// A clause boundary, so that no number, unit or formula is read
			// across it ("15% of 80 = ? I have a test"); dropped with the
			// other punctuation once read.
			out = append(out, tok{text: ";", kind: tBreak})
			p[0].glued = false
		}
		out = append(out, p...)
	}
	return out
}

// closingQuote returns the quotation mark that closes r, or 0 when r
// opens no quotation. The single quotes are left out: ’ is also the
// apostrophe (don’t).
func closingQuote(r rune) rune {
	switch r {
	case '"':
		return '"'
	case '“':
		return '”'
	case '「':
		return '」'
	case '『':
		return '』'
	}
	return 0
}

// lexMentions lexes one clause, marking the words it names rather than
// uses: those between quotation marks, and an item of a list written
// with the enumeration comma 、 (the words either side of it). A function
// word mentioned is the topic ("what is the difference between "a" and
// "the"", "的、地、得有什么区别"), so the rules must keep it.
func lexMentions(s string) []tok {
	if !strings.ContainsAny(s, "\"“「『、") {
		return lex(s)
	}
	var out []tok
	start, quote, afterList := 0, rune(0), false
	piece := func(end int, quoted, listEnd bool) {
		ts := lex(s[start:end])
		for i := range ts {
			ts[i].mention = quoted
		}
		if len(ts) > 0 {
			ts[0].mention = ts[0].mention || afterList
			ts[len(ts)-1].mention = ts[len(ts)-1].mention || listEnd
		}
		out = append(out, ts...)
		afterList = false
	}
	for i, r := range s {
		size := utf8.RuneLen(r)
		switch {
		case quote != 0 && r == quote:
			piece(i, true, false)
			start, quote = i+size, 0
		case quote == 0 && closingQuote(r) != 0:
			piece(i, false, false)
			start, quote = i+size, closingQuote(r)
		case quote == 0 && r == '、':
			piece(i, false, true)
			start, afterList = i+size, true
		}
	}
	// An unclosed quotation names nothing (a 5" screen).
	piece(len(s), false, false)
	return out
}

// covers reports whether toks are a sequence of the table's entries and
// nothing else.
func (t phraseTable) covers(toks []tok) bool {
	reach := make([]bool, len(toks)+1)
	reach[0] = true
	for i := range toks {
		if !reach[i] {
			continue
		}
		for _, p := range t[toks[i].text] {
			if p.at(toks, i) {
				reach[i+len(p.toks)] = true
			}
		}
	}
	return reach[len(toks)]
}
