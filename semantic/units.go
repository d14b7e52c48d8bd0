package semantic

// units reads units of measure as one canonical token: every spelling of a
// unit ("kilometres", "km", "公里", "千米") is one unit. A spelling that is
// also an ordinary word or letter ("m", "second", "牛") is a unit only right
// after a number.
func units(toks []tok, lx *lexicon) []tok {
	out := make([]tok, 0, len(toks))
	for i := 0; i < len(toks); {
		t := toks[i]
		if t.kind == tWord || t.kind == tHan || t.kind == tSym {
			afterNum := len(out) > 0 && out[len(out)-1].kind == tNum
			p, n := lx.units.longest(toks, i, func(p phrase) bool { return p.flag == "any" || afterNum })
			// A letter glued to a variable or another letter is algebra, not a unit.
			if n > 0 && !(n == 1 && isLetterTok(t) && i+1 < len(toks) && toks[i+1].glued && (isLetterTok(toks[i+1]) || toks[i+1].text == "^")) {
				out = append(out, tok{text: p.val, kind: tUnit, glued: t.glued})
				i += n
				continue
			}
		}
		out = append(out, t)
		i++
	}
	return out
}
