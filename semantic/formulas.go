package semantic

import "strings"

// operators reads operators as their symbols: the other glyphs of a
// symbol ("−", "×", "÷", "≠") wherever they stand, and the words of an
// operator ("minus", "减", "squared", "的平方", "is equal to") where they
// have their operands: between two for a binary operator ("7 minus 3"),
// after one for a postfix one ("x squared"). "^2" is written as the
// symbol "^" and the number 2.
func operators(toks []tok, lx *lexicon) []tok {
	out := make([]tok, 0, len(toks))
	for i := 0; i < len(toks); {
		t := toks[i]
		if t.kind == tSym {
			if p, n := lx.ops.longest(toks, i, func(p phrase) bool { return p.flag == "sym" }); n > 0 {
				out = append(out, tok{text: p.val, kind: tSym, glued: t.glued})
				i++
				continue
			}
		}
		if t.kind == tWord || t.kind == tHan {
			before := len(out) > 0 && isOperandEnd(out[len(out)-1])
			p, n := lx.ops.longest(toks, i, func(p phrase) bool {
				switch p.flag {
				case "bin":
					return before && i+len(p.toks) < len(toks) && isOperandStart(toks[i+len(p.toks)])
				case "post":
					return before
				}
				return false
			})
			if n > 0 {
				if strings.HasPrefix(p.val, "^") {
					out = append(out, tok{text: "^", kind: tSym, glued: true}, tok{text: p.val[1:], kind: tNum, glued: true})
				} else {
					out = append(out, tok{text: p.val, kind: tSym, glued: true})
				}
				i += n
				if i < len(toks) {
					toks[i].glued = true
				}
				continue
			}
		}
		out = append(out, t)
		i++
	}
	return out
}

func isOperandEnd(t tok) bool {
	return t.kind == tNum || isLetterTok(t) || t.kind == tSym && t.text == ")"
}

func isOperandStart(t tok) bool {
	return t.kind == tNum || isLetterTok(t) || t.kind == tSym && (t.text == "(" || t.text == "-")
}

// isOperator reports the symbols of arithmetic and comparison.
func isArithOperator(s string) bool {
	switch s {
	case "+", "-", "*", "/", "^", "=", "<", ">", "<=", ">=", "!=":
		return true
	}
	return false
}

// formulas joins each run of operands (numbers, one-letter variables,
// parentheses) and operators into one formula token, its text without
// spaces: "2x + 3 = 7" and "2x+3=7" are one formula, "x squared" and "x²"
// too. A run is a formula when it holds an operator between operands, or a
// number glued to a variable ("2x"); two operands side by side must be
// glued ("2x", not "x y"). A lone number stays a number.
func formulas(toks []tok, lx *lexicon) []tok {
	out := make([]tok, 0, len(toks))
	for i := 0; i < len(toks); {
		j := i
		for j < len(toks) && inFormula(toks, i, j) {
			j++
		}
		// Trim operators dangling at the ends ("x-ray"), keeping a leading
		// minus sign or parenthesis.
		for j > i && toks[j-1].kind == tSym && toks[j-1].text != ")" {
			j--
		}
		for i < j && toks[i].kind == tSym && toks[i].text != "(" && toks[i].text != "-" {
			out = append(out, toks[i])
			i++
		}
		if j <= i {
			if i < len(toks) {
				out = append(out, toks[i])
			}
			i++
			continue
		}
		if j-i >= 2 && isFormula(toks[i:j], lx) {
			var b strings.Builder
			for _, t := range toks[i:j] {
				b.WriteString(t.text)
			}
			out = append(out, tok{text: b.String(), kind: tFormula, glued: toks[i].glued})
			i = j
			continue
		}
		out = append(out, toks[i])
		i++
	}
	return out
}

// inFormula reports whether toks[j] continues a formula that starts at i.
func inFormula(toks []tok, i, j int) bool {
	t := toks[j]
	operand := t.kind == tNum || isLetterTok(t) || t.kind == tSym && (t.text == "(" || t.text == ")")
	if !operand && !(t.kind == tSym && isArithOperator(t.text)) {
		return false
	}
	if j == i {
		return true
	}
	prev := toks[j-1]
	prevOperand := prev.kind == tNum || isLetterTok(prev) || prev.kind == tSym && prev.text == ")"
	if operand && prevOperand && !t.glued && t.text != ")" {
		return false // "x y", "3 4": side by side, not one formula
	}
	if isLetterTok(t) && !t.glued && !(prev.kind == tSym && isArithOperator(prev.text)) {
		return false
	}
	return true
}

func isFormula(run []tok, lx *lexicon) bool {
	for k, t := range run {
		if t.kind == tSym && isArithOperator(t.text) && k > 0 && k+1 < len(run) {
			return true
		}
		if t.kind == tSym && t.text == "-" && k == 0 && len(run) == 2 && run[1].kind == tNum {
			return true // -2
		}
		if k > 0 && isLetterTok(t) && t.glued && run[k-1].kind == tNum {
			// 2x; but without an operator "10n", "5m" is a quantity.
			if _, n := lx.units.longest(run, k, nil); n == 0 {
				return true
			}
		}
		if k > 0 && t.kind == tSym && t.text == "(" && t.glued && isLetterTok(run[k-1]) {
			return true // f(x)
		}
	}
	return false
}

// skeleton is a formula with its numbers replaced by "#": two formulas of
// one skeleton differ only in their numbers.
func skeleton(f string) string {
	var b strings.Builder
	inNum := false
	for _, r := range f {
		if r >= '0' && r <= '9' || r == '.' && inNum {
			if !inNum {
				b.WriteByte('#')
			}
			inNum = true
			continue
		}
		inNum = false
		b.WriteRune(r)
	}
	return b.String()
}

// formulaVars returns the variables of the formulas among toks.
func formulaVars(toks []tok) map[byte]bool {
	var vars map[byte]bool
	for _, t := range toks {
		if t.kind != tFormula {
			continue
		}
		for k := 0; k < len(t.text); k++ {
			if c := t.text[k]; c >= 'a' && c <= 'z' {
				if vars == nil {
					vars = map[byte]bool{}
				}
				vars[c] = true
			}
		}
	}
	return vars
}

// formulaParts splits a formula's text into numbers, variables and
// single-character operators.
func formulaParts(f string) []string {
	var out []string
	for i := 0; i < len(f); {
		j := i + 1
		if c := f[i]; c >= '0' && c <= '9' {
			for j < len(f) && (f[j] >= '0' && f[j] <= '9' || f[j] == '.') {
				j++
			}
		}
		out = append(out, f[i:j])
		i = j
	}
	return out
}
