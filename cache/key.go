package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Namespace is everything besides the question's text that an answer
// depends on. Answers in different namespaces never meet: the exact tier
// hashes the namespace into each key and the semantic tier keeps one index
// per namespace.
type Namespace struct {
	// Model is the model that answers, e.g. "gpt-4o-mini"; an answer of
	// one model is never served for another.
	Model        string
	SystemPrompt string // hashed into the key, never stored
	// Subject is the course or topic asked about, e.g. "physics"; ""
	// when none. Compared as given, not normalized.
	Subject string
	// Grade is the student's school grade or level; 0 when unknown.
	Grade int
	// Tenant is the school or customer the question belongs to, so that
	// tenants never see each other's answers; "" for a single tenant.
	Tenant string
	// Locale is the answer's language and region, e.g. "en-GB" or
	// "zh-CN"; "" when unspecified. Compared as given.
	Locale string
	// History is a digest of the conversation the answer depends on (see
	// [HistoryDigest]); "" for a question that stands alone.
	History string
}

// ID returns the namespace's canonical identity: a hex SHA-256 of its
// fields, length-prefixed in a fixed order, so that it is the same in
// every process and no two namespaces share one.
func (n Namespace) ID() string {
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	field := func(s string) {
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	field("companion/ns/v1")
	field(n.Model)
	sys := sha256.Sum256([]byte(n.SystemPrompt))
	field(string(sys[:]))
	field(n.Subject)
	field(strconv.Itoa(n.Grade))
	field(n.Tenant)
	field(n.Locale)
	field(n.History)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Key returns the exact-tier key of a question in a namespace:
// "<namespace id>:<hash of the normalized question>". The same request
// always gives the same key, in every process.
func Key(ns Namespace, question string) string {
	return KeyIn(ns.ID(), question)
}

// KeyIn is [Key] for a namespace whose ID is already known.
func KeyIn(nsID, question string) string {
	sum := sha256.Sum256([]byte(Normalize(question)))
	return nsID + ":" + hex.EncodeToString(sum[:16])
}

// HistoryDigest returns a digest of a conversation's earlier messages,
// given as role, content, role, content, …; "" for none.
func HistoryDigest(roleContent ...string) string {
	if len(roleContent) == 0 {
		return ""
	}
	h := sha256.New()
	var buf [binary.MaxVarintLen64]byte
	for _, s := range roleContent {
		h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

var folder = cases.Fold()

// Normalize folds the ways one question may be written into one text:
// NFKC (full-width to half-width, compatibility forms), case folding,
// white space runs to one space (none next to a CJK character or around
// symbols such as "+" and "="), and curly quotes to straight ones. It drops
// punctuation that carries no meaning in a question (sentence marks,
// commas, quotes, apostrophes) but keeps what may: a "." or "," or ":"
// between digits, minus signs, slashes, brackets, "%" and every symbol.
// Invalid UTF-8 bytes become U+FFFD.
func Normalize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = norm.NFKC.String(s)
	s = folder.String(s)
	var b strings.Builder
	b.Grow(len(s))
	var (
		prev    rune // the last rune written, 0 at the start
		pending bool // a space is due before the next rune
	)
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
			pending = prev != 0
			continue
		case unicode.IsPunct(r) || isQuote(r):
			if keepPunct(r) || betweenDigits(s, i, prev, r) {
				break
			}
			if !strings.ContainsRune(`'’‘`, r) {
				pending = pending || prev != 0 // "a,b" reads as "a b"
			}
			continue
		}
		if pending && !tight(prev) && !tight(r) {
			b.WriteByte(' ')
		}
		pending = false
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// keepPunct reports punctuation that may change a question's meaning.
func keepPunct(r rune) bool {
	switch r {
	case '-', '/', '(', ')', '[', ']', '{', '}', '%', '#', '&', '@', '*', '\\', '_':
		return true
	}
	return false
}

// betweenDigits reports a decimal point, thousands separator or ratio
// colon: r at byte i of s, between two digits.
func betweenDigits(s string, i int, prev, r rune) bool {
	if r != '.' && r != ',' && r != ':' {
		return false
	}
	next, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
	return unicode.IsDigit(prev) && unicode.IsDigit(next)
}

func isQuote(r rune) bool {
	return unicode.In(r, unicode.Quotation_Mark)
}

// tight reports runes next to which a space carries no meaning: CJK
// characters and symbols such as "+", "=", "-".
func tight(r rune) bool {
	return r >= 0x2E80 && isCJK(r) || unicode.IsSymbol(r) || keepPunct(r) || r == '.' || r == ',' || r == ':'
}

func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		r >= 0x3000 && r <= 0x303F
}
