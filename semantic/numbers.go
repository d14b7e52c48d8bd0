package semantic

import (
	"math"
	"strconv"
	"strings"
)

// numbers reads numbers written in words or Chinese numerals as the
// digits they stand for, so that "twenty five", "二十五" and "25" are one
// token, "second", "2nd" and "第二" one ordinal, "四分之三" the fraction
// 3/4 and "百分之十五" 15 %. A Chinese classifier after a number only
// counts ("三个" is 3), and 一 + classifier is the indefinite article.
func numbers(toks []tok, lx *lexicon) []tok {
	out := make([]tok, 0, len(toks))
	for i := 0; i < len(toks); {
		t := toks[i]
		switch {
		case t.kind == tWord:
			if t.text == "one" && len(out) > 0 && lx.oneAfter[out[len(out)-1].text] {
				i++ // "which one": a pronoun
				continue
			}
			if v, n, ord := englishNumber(toks, i, lx); n > 0 {
				if ord && len(out) > 0 && (out[len(out)-1].kind == tNum) {
					break // "2 seconds": a unit, read later
				}
				k := tNum
				if ord {
					k = tOrd
				}
				out = append(out, tok{text: v, kind: k, glued: t.glued})
				i += n
				continue
			}
		case t.kind == tHan:
			if _, n := lx.wh.longest(toks, i, nil); n > 0 {
				out = append(out, toks[i:i+n]...) // 哪一年, 几: question words
				i += n
				continue
			}
			if t.text == "百" && i+2 < len(toks) && toks[i+1].text == "分" && toks[i+2].text == "之" {
				if v, n := chineseNumeral(toks, i+3, lx); n > 0 {
					out = append(out, tok{text: v, kind: tNum, glued: t.glued}, tok{text: "%", kind: tUnit, glued: true})
					i += 3 + n
					continue
				}
			}
			ord := t.text == "第"
			start := i
			if ord {
				start++
			}
			v, n := chineseNumeral(toks, start, lx)
			if n == 0 {
				break
			}
			end := start + n
			if !ord && v == "1" && n == 1 && !loneOneIsNumber(toks, start, out, lx) {
				if end < len(toks) && lx.cl[toks[end].text] {
					i = end + 1 // 一个: the article
					continue
				}
				break // 一 in a word: 一样, 统一
			}
			// N分之M: the fraction M/N.
			if !ord && end+1 < len(toks) && toks[end].text == "分" && toks[end+1].text == "之" {
				if m, k := chineseNumeral(toks, end+2, lx); k > 0 {
					out = append(out, tok{text: m, kind: tNum, glued: t.glued}, tok{text: "/", kind: tSym, glued: true}, tok{text: v, kind: tNum, glued: true})
					i = end + 2 + k
					continue
				}
			}
			k := tNum
			if ord {
				k = tOrd
			}
			out = append(out, tok{text: v, kind: k, glued: t.glued})
			i = end
			if i < len(toks) && lx.cl[toks[i].text] {
				i++ // 三个: the classifier only counts
			}
			continue
		case t.kind == tNum:
			// 3万, 5 million: a multiplier after digits.
			if i+1 < len(toks) {
				if m := lx.numbers[toks[i+1].text]; strings.HasPrefix(m, "x") && !unitStarts(toks, i+1, lx) {
					f, err1 := strconv.ParseFloat(t.text, 64)
					g, err2 := strconv.ParseFloat(m[1:], 64)
					if err1 == nil && err2 == nil {
						out = append(out, tok{text: formatValue(f * g), kind: tNum, glued: t.glued})
						i += 2
						continue
					}
				}
			}
			out = append(out, t)
			i++
			if i < len(toks) && toks[i].kind == tHan && lx.cl[toks[i].text] {
				i++ // 3个
			}
			continue
		}
		out = append(out, t)
		i++
	}
	return out
}

// loneOneIsNumber reports whether a lone 一 at i counts: after 第 or a
// number, or before a unit, a multiplier (一千) or an operator; before a
// digit it ends a word (唯一三角形).
func loneOneIsNumber(toks []tok, i int, out []tok, lx *lexicon) bool {
	if len(out) > 0 && (out[len(out)-1].kind == tNum || out[len(out)-1].kind == tSym) {
		return true
	}
	if i+1 >= len(toks) {
		return i > 0 && isOperatorAt(toks, i-1, lx)
	}
	if unitStarts(toks, i+1, lx) || strings.HasPrefix(lx.numbers[toks[i+1].text], "x") || isOperatorAt(toks, i+1, lx) {
		return true
	}
	return i > 0 && isOperatorAt(toks, i-1, lx)
}

func isOperatorAt(toks []tok, i int, lx *lexicon) bool {
	if i < 0 || i >= len(toks) {
		return false
	}
	_, n := lx.ops.longest(toks, i, func(p phrase) bool { return p.flag == "bin" })
	return n > 0
}

// unitStarts reports whether a unit of two or more characters, or a unit
// after a number, starts at i.
func unitStarts(toks []tok, i int, lx *lexicon) bool {
	_, n := lx.units.longest(toks, i, nil)
	return n > 0
}

// englishNumber reads number words at i: "twenty five", "three hundred",
// "one thousand two hundred", or one ordinal word ("second").
func englishNumber(toks []tok, i int, lx *lexicon) (val string, n int, ord bool) {
	var total, cur float64
	seen := false
	for j := i; j < len(toks) && toks[j].kind == tWord; j++ {
		m, ok := lx.numbers[toks[j].text]
		if !ok {
			if toks[j].text == "and" && seen && j+1 < len(toks) {
				if m2, ok2 := lx.numbers[toks[j+1].text]; ok2 && m2[0] >= '0' && m2[0] <= '9' {
					continue // "one hundred and five"
				}
			}
			break
		}
		switch {
		case m[0] == 'o':
			if seen {
				return formatValue(total + cur), j - i, false
			}
			return m[1:], 1, true
		case m[0] == 'x':
			if !seen {
				return "", 0, false // "hundred" alone is a word
			}
			g, _ := strconv.ParseFloat(m[1:], 64)
			if g >= 1000 {
				total += cur * g
				cur = 0
			} else {
				cur *= g
			}
		default:
			v, _ := strconv.ParseFloat(m, 64)
			if seen && cur != 0 && math.Mod(cur, 100) != 0 && !(cur >= 20 && v < 10 && math.Mod(cur, 10) == 0) {
				return formatValue(total + cur), j - i, false // "one two": two numbers
			}
			cur += v
		}
		seen = true
		n = j - i + 1
	}
	if !seen {
		return "", 0, false
	}
	return formatValue(total + cur), n, false
}

// chineseNumeral reads a Chinese numeral at i ("二十五", "三百零五", "两千",
// "二〇二〇"), stopping before a unit that starts with a multiplier ("千克",
// "千米"). It returns the value and the number of tokens read.
func chineseNumeral(toks []tok, i int, lx *lexicon) (string, int) {
	var digits []string
	j := i
	for ; j < len(toks) && toks[j].kind == tHan; j++ {
		m, ok := lx.numbers[toks[j].text]
		if !ok || m[0] == 'o' {
			break
		}
		if m[0] == 'x' {
			if p, n := lx.units.longest(toks, j, nil); n >= 2 && len(p.toks) >= 2 {
				break
			}
		}
		digits = append(digits, m)
	}
	if len(digits) == 0 {
		return "", 0
	}
	n := j - i
	// A string of digits without multipliers: 二〇二〇.
	plain := len(digits) > 1
	for _, d := range digits {
		if d[0] == 'x' {
			plain = false
		}
	}
	// Chinese writes two-digit numbers with 十 (十六); two bare digits
	// are an estimate (三四个, "three or four") or a word's last character
	// before a number (统一六国), so only the first is read. Three or
	// more, or two before 年, are read digit by digit (二〇二〇, 一六年).
	if plain && len(digits) == 2 && !(j < len(toks) && toks[j].text == "年") {
		return numberText(digits[0]), 1
	}
	if plain {
		var b strings.Builder
		for _, d := range digits {
			b.WriteString(d)
		}
		return numberText(b.String()), n
	}
	var total, section, cur float64
	for k, d := range digits {
		if d[0] == 'x' {
			g, _ := strconv.ParseFloat(d[1:], 64)
			if cur == 0 && (k == 0 || digits[k-1][0] == 'x') {
				cur = 1 // 十五, 一百一十
			}
			switch {
			case g >= 1e8:
				total = (total + section + cur) * g
				section, cur = 0, 0
			case g >= 1e4:
				total += (section + cur) * g
				section, cur = 0, 0
			default:
				section += cur * g
				cur = 0
			}
			continue
		}
		v, _ := strconv.ParseFloat(d, 64)
		cur = cur*10*boolF(cur != 0) + v
	}
	return formatValue(total + section + cur), n
}

func boolF(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// formatValue writes a number as [numberText] would: no exponent, no
// trailing zeros.
func formatValue(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "NaN"
	}
	return numberText(strconv.FormatFloat(v, 'f', -1, 64))
}
