package moderation

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// LoadReport tells what [NewMatcher] made of each entry of a word list:
// the normalized form it matches, and the faults a list as published may
// have. Get it with [Matcher.Report].
type LoadReport struct {
	// Entries has one item per entry given to NewMatcher, in order.
	Entries []LoadedEntry
	// Kept, Merged and Refused count the entries by status.
	Kept, Merged, Refused int
}

// LoadStatus is what became of an entry of a word list.
type LoadStatus int

// The statuses of a loaded entry.
const (
	// Kept: the entry is matched.
	Kept LoadStatus = iota
	// Merged: another entry normalizes to the same term; the one with the
	// stronger action (then the higher severity, then the first) is
	// matched, and this one is folded into it.
	Merged
	// Refused: the entry is not matched. A term of digits only ("13",
	// "13." once normalized) is refused unless its Entry.Digits is set,
	// since it would hit every text that mentions the number.
	Refused
)

// String returns "kept", "merged" or "refused".
func (s LoadStatus) String() string {
	switch s {
	case Kept:
		return "kept"
	case Merged:
		return "merged"
	case Refused:
		return "refused"
	}
	return "LoadStatus(?)"
}

// LoadedEntry is one entry of a word list as loaded.
type LoadedEntry struct {
	// Index is the entry's index in the list given to NewMatcher.
	Index int
	// Term is the term as listed.
	Term string
	// Norm is the term as the matcher sees it (see [Normalize]): the form
	// a text must have, after normalization, to hit it.
	Norm string
	// Status says whether the entry is matched.
	Status LoadStatus
	// Into is the index of the entry a Merged entry was folded into, -1
	// otherwise.
	Into int
	// Warnings say what may be wrong with the entry, e.g. "digits only",
	// "one character", "normalizes to \"13\"".
	Warnings []string
}

// Faults returns one line for every entry that was merged, refused or
// warned about, e.g. `words[7] "13.": refused: digits only;
// normalizes to "13"`, for a log or a list review.
func (r *LoadReport) Faults() []string {
	if r == nil {
		return nil
	}
	var out []string
	for _, e := range r.Entries {
		if e.Status == Kept && len(e.Warnings) == 0 {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "words[%d] %q: %s", e.Index, e.Term, e.Status)
		if e.Status == Merged {
			fmt.Fprintf(&b, " into words[%d]", e.Into)
		}
		if len(e.Warnings) > 0 {
			b.WriteString(": ")
			b.WriteString(strings.Join(e.Warnings, "; "))
		}
		out = append(out, b.String())
	}
	return out
}

// shortTerm is the length, in characters, at or below which a term of a
// spaced script is reported as very short: such a term is usually an
// abbreviation that is also part of ordinary text ("ho", "ok").
const shortTerm = 2

// entryWarnings returns the warnings about a term and its normalized
// form, and whether the term is digits only.
func entryWarnings(e Entry, norm string) (warn []string, digits bool) {
	digits = true
	han := true
	for _, r := range norm {
		k := normKind(r)
		if k != kDigit && r != ' ' {
			digits = false
		}
		if k != kHan {
			han = false
		}
	}
	n := utf8.RuneCountInString(norm)
	switch {
	case digits && !e.Digits:
		warn = append(warn, "digits only: refused (set Entry.Digits to match it)")
	case digits:
		warn = append(warn, "digits only")
	case han && n == 1:
		warn = append(warn, "one character: matches only where it is a word, not inside the compounds of lexicon/zh_compounds.txt")
	case !han && n <= shortTerm:
		warn = append(warn, fmt.Sprintf("very short: %d characters", n))
	}
	if plain := strings.ToLower(strings.TrimSpace(e.Term)); plain != norm {
		warn = append(warn, fmt.Sprintf("normalizes to %q", norm))
	}
	if e.Defaulted {
		warn = append(warn, "no severity given: high assumed")
	}
	return warn, digits
}
