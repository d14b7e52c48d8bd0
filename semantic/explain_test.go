package semantic

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// probe is a pair of questions and what the rules make of it.
type probe struct {
	a, b string
	want Verdict
}

// probeDifferent were written for these tests, apart from the labelled
// data, to check the rules on other topics: no pair may be explained.
var probeDifferent = []struct{ a, b string }{
	{"What is the capital of France?", "What is the capital of Spain?"},
	{"How many electrons does sodium have?", "How many electrons does potassium have?"},
	{"Solve 3x - 5 = 10", "Solve 3x + 5 = 10"},
	{"Solve 3x - 5 = 10", "Solve 3x - 5 = 12"},
	{"What is 7 minus 3?", "What is 3 minus 7?"},
	{"Is a square a rectangle?", "Is a rectangle a square?"},
	{"Convert 3 hours to minutes", "Convert 3 minutes to hours"},
	{"Convert 5 km to miles", "Convert 5 miles to km"},
	{"Why doesn't ice sink?", "Why does ice sink?"},
	{"Who discovered penicillin?", "When was penicillin discovered?"},
	{"什么是质数", "什么是梅森质数"},
	{"How do plants make food?", "How do desert plants make food?"},
	{"为什么猫怕狗", "为什么狗怕猫"},
	{"Can copper conduct electricity?", "Can copper be magnetised?"},
	{"7减3等于多少？", "3减7等于多少？"},
	{"What is 5 minus 2?", "What is 5 plus 2?"},
	{"x squared plus 1", "x cubed plus 1"},
	{"Does the Earth orbit the Sun?", "Does the Sun orbit the Earth?"},
	{"地球绕着太阳转吗？", "太阳绕着地球转吗？"},
	{"How do plants make food?", "How do plants make food at night?"},
	{"What is an atom?", "What is an atom made of?"},
	{"大象比老鼠重吗？", "老鼠比大象重吗？"},
	{"3小时等于多少分钟？", "3分钟等于多少小时？"},
	{"冰为什么不会沉下去？", "冰为什么会沉下去？"},
	{"一千克等于多少克？", "一千克等于多少毫克？"},
	{"5的3倍是多少", "3的5倍是多少"},
	{"这个函数是不是偶函数", "这个函数不是偶函数"}, // an A-not-A question against a negation
	{"这道题好不好做", "这道题不好做"},
	{"怎么了解光合作用", "光合作用怎么了"}, // 怎么了 asks what happened only at a clause's end
	{"他才学会乘法吗", "他学会乘法吗"},   // 才 with no question word before it is a word
	{"谁有这本书", "这本书是什么"},     // 谁有 asks about a person
	{"盐怎么溶于水", "盐为什么溶于水"},   // without a negation 怎么 asks how
	{"What is the difference between mitosis and meiosis?", "What is mitosis and meiosis?"},
	{"酸和碱有什么区别", "酸和碱有什么用"},
	{"How is weather different from climate?", "How is weather measured?"},
	{"What is the difference between 3/4 and 5/8?", "What is the difference between 3/4 and 5/9?"},
	// A function word named, not used, is the topic.
	{`What is the difference between "a" and "the"?`, `What is the difference between "an" and "the"?`},
	{"“了”和“过”有什么区别", "“着”和“过”有什么区别"},
	{"的、地、得有什么区别", "了、着、过有什么区别"},
}

// probeSame are paraphrases of other topics, each with what the rules
// make of it today: the gaps are asserted too, so that a change either
// way is noticed.
var probeSame = []probe{
	{"What is the square root of 16?", "square root of 16?", Same},
	{"Is 0.5 greater than 0.25?", "Is 0.5 bigger than 0.25?", Same},
	{"Solve 3x - 5 = 10", "How do I solve 3x-5=10?", Same},
	{"What is x squared minus 4?", "what is x^2 - 4", Same},
	{"What is x² − 4?", "x的平方减4是多少", Same}, // one formula in either language
	{"二十五的平方是多少？", "25的平方等于多少？", Same},
	{"一千克等于多少克？", "1千克是多少克？", Unsure}, // gap: 等于 as the copula
	{"零是偶数吗？", "0是不是偶数？", Same},
	{"有没有简单的方法记住乘法表", "有简单的方法记住乘法表吗", Same}, // A-not-A: yes or no, no negation
	{"我的电脑能不能装这个软件", "我的电脑能装这个软件吗？", Same},
	{"你喜欢不喜欢数学", "你喜欢数学吗", Same},
	{"这个三角形是直角三角形么", "这个三角形是直角三角形吗", Same}, // 么 ending the question is 吗
	{"这个公式怎么用", "这公式怎么用", Same},            // a demonstrative's classifier
	{"电脑怎么了", "电脑怎么回事", Same},
	{"What is the difference between mitosis and meiosis?", "How does meiosis differ from mitosis?", Same}, // two contents
	{"How is weather different from climate?", "what's the difference between climate and weather", Same},
	{"酸和碱有什么区别", "碱与酸的区别是什么", Same},
	{"“的”“地”“得”怎么区分？", "的、地、得有什么区别", Same}, // quoted or listed, the words are named
	{"mitosis vs meiosis", "What is the difference between meiosis and mitosis?", Same},
	{"酸和碱有什么区别？明天要考试", "酸与碱的区别是什么？明天要考试", Same}, // a frame frames its clause
	{"如何区分质数和合数", "质数和合数有什么区别？", Same},
	{"怎样才能学好数学", "怎样学好数学？", Same}, // 才 after a question word
	{"铁为什么不溶于水", "铁怎么不溶于水", Same}, // 怎么 before a negation asks why
	{"分数怎么约分才最简", "分数怎么约分最简", Same},
	{"谁能告诉我勾股定理是什么", "勾股定理是什么", Same}, // a request to whoever reads
	{"Can someone tell me what a prime number is?", "What is a prime number?", Same},
	{"16的平方根是多少？", "求16的平方根", Same},
	{"Is x ≠ 3?", "Is x not equal to 3?", Same},
	{"Why can't ice sink?", "Why cannot ice sink?", Same},
	{"What colour is copper sulphate?", "What color is copper sulphate?", Same},
	{"不等式怎么解", "怎么解不等式", Unsure}, // order moved, no role crossed: the verifier's to decide
	{"三个数的和是多少", "3个数的和是多少", Same},
	{"What is the capital of France?", "Which city is the capital of France?", Unsure},
	{"Is a whale a mammal?", "Are whales mammals?", Same},
	{"Who wrote Romeo and Juliet?", "Who is the author of Romeo and Juliet?", Unsure},
	{"What is the derivative of sin x?", "Differentiate sin x.", Unsure},
	{"When did World War I begin?", "When did the First World War begin?", Unsure}, // gap: a lone "I" is not read as 1, so "first" is an added number
	{"钠原子有几个电子？", "一个钠原子有多少个电子？", Same},
	{"3加5等于几？", "3加5是多少", Same},        // a value, asked with 几 or 多少
	{"电话是在哪一年发明的？", "电话发明于哪一年", Same},  // 在 / 于 belong to the question phrase
	{"地球有多少颗卫星？", "地球的卫星是什么？", Unsure}, // a count against a description
	{"一个碳原子有几个质子", "碳原子有多少个质子", Same},
	{"sin x的导数是多少？", "求sin x的导数", Same}, // the count frame does not cut 导数
	{"12和18的最大公约数是多少", "求12和18的最大公约数", Same},
	{"碳原子的质子数是多少", "碳原子有多少个质子", Same}, // but counts a count
	{"这所大学怎么样？", "这所大学咋样", Same},
}

// probeOrder are the same words in another order: a move across a role
// word, or of a number, unit or formula, proves a difference; any other
// move is left open (the rules cannot tell a topic moved to the front
// from swapped roles), and the sides of "and" may trade places unless
// "respectively" pairs them with another coordination's.
var probeOrder = []probe{
	{"Convert 5 km to miles", "Convert 5 miles to km", Different},
	{"大象比老鼠重吗？", "老鼠比大象重吗？", Different},
	{"5的3倍是多少", "3的5倍是多少", Different},
	{"Is a letter sent from Paris to Rome faster?", "Is a letter sent from Rome to Paris faster?", Different},
	{"钱从支付宝转到银行卡要多久", "钱从银行卡转到支付宝要多久", Different},
	{"为什么猫怕狗", "为什么狗怕猫", Unsure},
	{"百度贴吧怎么设置头像", "百度贴吧头像怎么设置", Unsure},
	{"Does the Earth orbit the Sun?", "Does the Sun orbit the Earth?", Unsure},
	{"鹦鹉鱼能和罗汉鱼一起养吗", "罗汉鱼能和鹦鹉鱼一起养吗", Same},
	{"Can cats and dogs live together?", "Can dogs and cats live together?", Same},
	// Sides longer than maxCoordSide tokens are clauses, not noun phrases.
	{"甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午和未申酉戌亥", "未申酉戌亥和甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午", Unsure},
	{"A和B分别是什么颜色", "B和A分别是什么颜色", Unsure},
	{"Are Tom and Ann respectively 5 and 7?", "Are Ann and Tom respectively 5 and 7?", Unsure},
}

// probeAdded are numbers or units only one question has: an added
// qualifier, open, where a number against another is a proof.
var probeAdded = []probe{
	{"一元二次方程的求根公式是什么？", "二次方程的求根公式是什么？", Unsure},
	{"How many legs does a spider have?", "How many legs do 2 spiders have?", Unsure},
	{"What is the second derivative of sin x?", "What is the derivative of sin x?", Unsure},
	{"What is the second derivative of sin x?", "What is the third derivative of sin x?", Different},
	{"一元二次方程", "二元二次方程", Different},
	// A formula one side only has may be the other's words: open.
	{"What is the volume of a cube with side 4 cm?", "volume of cube a = 4 cm", Unsure},
	{"y = 2x + 1 的斜率是多少", "求y=2x+1的斜率", Same}, // one formula, spaced or not
	{"Solve 2x + 1 = 5", "Solve 2x + 1 = 7", Different},
}

// TestExplainOrderAndAdditions checks probeOrder, probeAdded and
// probeDiscourse, both ways.
func TestExplainOrderAndAdditions(t *testing.T) {
	for _, set := range [][]probe{probeOrder, probeAdded, probeDiscourse} {
		for _, p := range set {
			for _, q := range [][2]string{{p.a, p.b}, {p.b, p.a}} {
				if e := Explain(q[0], q[1]); e.Verdict != p.want {
					t.Errorf("%q / %q: %v (%s %s), want %v", q[0], q[1], e.Verdict, e.Reason, e.Detail, p.want)
				}
			}
		}
	}
}

func TestExplainDifferent(t *testing.T) {
	for _, p := range probeDifferent {
		for _, q := range [][2]string{{p.a, p.b}, {p.b, p.a}} {
			if e := Explain(q[0], q[1]); e.Verdict == Same {
				t.Errorf("explained as the same: %q / %q", q[0], q[1])
			} else if e.Reason == "" || e.Detail == "" {
				t.Errorf("%q / %q: no reason or detail: %+v", q[0], q[1], e)
			}
		}
	}
}

func TestExplainSame(t *testing.T) {
	for _, p := range probeSame {
		e := Explain(p.a, p.b)
		if e.Verdict != p.want {
			t.Errorf("%q / %q: %v (%s %s), recorded %v", p.a, p.b, e.Verdict, e.Reason, e.Detail, p.want)
		}
		if e2 := Explain(p.b, p.a); e2.Verdict != e.Verdict {
			t.Errorf("%q / %q: not symmetric: %v / %v", p.a, p.b, e.Verdict, e2.Verdict)
		}
	}
}

func TestNumbersRead(t *testing.T) {
	for in, want := range map[string]string{
		"twenty five": "25", "二十五": "25", "三百零五": "305", "两千": "2000", "第二": "2",
		"2nd": "2", "second": "2", "四分之三": "3/4", "百分之十五": "15 %", "3万": "30000",
		"一千克": "1 kg", "1,000": "1000", "一百一十": "110", "二〇二〇": "2020",
		"一九四五年": "1945 year", "唯一三角形": "唯 一 3 角 形", "七八个苹果": "7 8 苹 果",
	} {
		if got := text(analyze(in).toks); got != want {
			t.Errorf("%q read as %q, want %q", in, got, want)
		}
	}
}

func TestLexiconLoads(t *testing.T) {
	lx, err := parseLexicon(lexiconFS)
	if err != nil {
		t.Fatal(err)
	}
	if len(lx.frames) == 0 || len(lx.units) == 0 || len(lx.synonyms) == 0 || len(lx.numbers) == 0 {
		t.Fatal("empty lexicon")
	}
}

func TestExpandAlternatives(t *testing.T) {
	got, err := expandAlternatives("{what is|} the {difference|differences} between * and *")
	want := []string{"what is the difference between * and *", "what is the differences between * and *",
		" the difference between * and *", " the differences between * and *"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"{a|b", "a|b", "a}", "{a{b}}"} {
		if _, err := expandAlternatives(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzExpandAlternatives checks that the frames' pattern parser never
// panics and expands every {…} it accepts.
func FuzzExpandAlternatives(f *testing.F) {
	for _, s := range []string{"", "*", "{a|b} *", "{|} * {x|y|z}", "{", "}", "|", "{{}}", "* {和|与} *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expandAlternatives(s)
		if err != nil {
			return
		}
		if len(out) == 0 || len(out) > 1<<20 {
			t.Fatalf("%q: %d patterns", s, len(out))
		}
		for _, p := range out {
			if strings.ContainsAny(p, "{|}") {
				t.Fatalf("%q: %q left unexpanded", s, p)
			}
		}
	})
}

// FuzzExplain checks that the rules never panic, are deterministic and
// explain a question as the same as itself, on any input.
func FuzzExplain(f *testing.F) {
	for _, s := range []string{"", "What is Newton's 2nd law?", "解方程 2x+3=7", "x²的导数", "\xff\xfe", "World War II",
		"1,000.50 km/h", "四分之三", "百分之十五", "第二十一", "d/dx", "'go'", "“的”", "--5", "3/0", "一千克",
		"x-", "-", "(", "for x", "百分之", "分之", "of", "a of b of c", "what is", "是什么", "twenty and", "一个",
		"hi, thanks!", "um", "，，", "老师好，？", "say: hello", ". . .", "有没有", "可不可以", "喜欢不喜欢", "不不不", "么", "这么", "怎么了", "这个", "difference between and", "和有什么区别", "区分", `"a"`, `"`, `""`, "“的”", "“", "、", "、、的", "「了」"} {
		f.Add(s, "what is "+s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		e1, e2 := Explain(a, b), Explain(a, b)
		if e1 != e2 {
			t.Fatal("not deterministic")
		}
		if e := Explain(a, a); e.Verdict != Same {
			t.Fatalf("%q not the same as itself: %+v", a, e)
		}
		for _, tk := range analyze(a).toks {
			if !utf8.ValidString(tk.text) {
				t.Fatalf("invalid UTF-8 token %q", tk.text)
			}
		}
	})
}

// probeDiscourse are questions among greetings, thanks, pleas and
// interjections, and formulas that are the question's content: the first
// must be explained, the second never.
var probeDiscourse = []probe{
	{"What is a prime number?", "Hey there, what is a prime number? Thanks so much!", Same},
	{"What is a prime number?", "um what is a prime number", Same},
	{"What is a prime number?", "Sorry to bother you. What is a prime number? Much appreciated.", Same},
	{"How do I find the median?", "I'm stuck, how do I find the median?", Same},
	{"How do I find the median?", "ok so how do I find the median? pls help", Same},
	{"什么是质数？", "老师您好，什么是质数？麻烦您了！", Same},
	{"什么是质数？", "不好意思，我还是不懂，什么是质数？", Same},
	{"What is a prime number?", "What is a prime number? It's for my project", Unsure}, // context: the verifier's to judge
	{"How do you say: thank you?", "How do you say: hello?", Unsure},
	{"How do you say thank you in French?", "How do you say hello in French?", Unsure},
	{"Thanks!", "Hello!", Unsure},
	{"SO2是什么？", "2是什么？", Unsure}, // "so" glued to 2 is no interjection
	{"What is 0.5 + 1,000?", "What is 0.5 + 1,000? thx", Same},
	{"15% of 80 = ?", "15% of 80 = ? x is what I need", Unsure}, // no formula 80=x across the clauses
}

// FuzzSplitClauses checks that the clauses of any text are in order,
// within it, and apart by exactly one clause punctuation mark.
func FuzzSplitClauses(f *testing.F) {
	for _, s := range []string{"", "Hi there, what is x? Thanks!", "0.5, 1,000 and 3:4", "老师好，什么是质数？谢谢。", "a:\nb", "...", "\xff,", "：："} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs := splitClauses(s)
		if len(cs) == 0 || cs[0].start != 0 || cs[len(cs)-1].end != len(s) {
			t.Fatalf("%q: clauses %v do not span the text", s, cs)
		}
		for i, c := range cs {
			if c.start > c.end {
				t.Fatalf("%q: clause %d is %v", s, i, c)
			}
			if i == 0 {
				continue
			}
			r, n := utf8.DecodeRuneInString(s[cs[i-1].end:])
			if cs[i-1].end+n != c.start || !isClausePunct(r) {
				t.Fatalf("%q: clauses %d and %d are apart by %q", s, i-1, i, s[cs[i-1].end:c.start])
			}
		}
	})
}
