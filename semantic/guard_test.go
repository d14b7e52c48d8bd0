package semantic

import (
	"errors"
	"reflect"
	"slices"
	"testing"
)

// probePairs were written for these tests, apart from the labelled set in
// testdata, to check that the guards are general: none of them is in
// pairs.jsonl.
var probeDifferent = []struct{ a, b string }{
	{"What is the capital of France?", "What is the capital of Spain?"},
	{"What is the population of France?", "What is the capital of France?"},
	{"How many electrons does sodium have?", "How many electrons does potassium have?"},
	{"What is the boiling point of mercury?", "What is the melting point of mercury?"},
	{"Solve 3x - 5 = 10", "Solve 3x + 5 = 10"},
	{"Solve 3x - 5 = 10", "Solve 3x - 5 = 12"},
	{"What is 7 minus 3?", "What is 3 minus 7?"},
	{"Is a square a rectangle?", "Is a rectangle a square?"},
	{"Is a whale a fish?", "Is a whale a mammal?"},
	{"What is the area of a square with side 4 cm?", "What is the perimeter of a square with side 4 cm?"},
	{"What is the area of a square with side 4 cm?", "What is the area of a square with side 4 m?"},
	{"Convert 3 hours to minutes", "Convert 3 minutes to hours"},
	{"Why do objects fall?", "Why do objects float?"},
	{"Why doesn't ice sink?", "Why does ice sink?"},
	{"Is zero an even number?", "Is zero an odd number?"},
	{"What is the square root of 16?", "What is the square root of 64?"},
	{"What is the square root of 16?", "What is the cube root of 16?"},
	{"Who wrote Romeo and Juliet?", "Who wrote Hamlet?"},
	{"What is the past tense of 'run'?", "What is the past tense of 'swim'?"},
	{"What is the plural of mouse?", "What is the plural of goose?"},
	{"What is the chemical formula of water?", "What is the chemical formula of table salt?"},
	{"What does the heart do?", "What do the lungs do?"},
	{"When did the French Revolution start?", "When did the French Revolution end?"},
	{"What is 20% of 150?", "What is 25% of 150?"},
	{"Is 0.5 greater than 0.25?", "Is 0.5 less than 0.25?"},
	{"Is a mouse heavier than an elephant?", "Is an elephant heavier than a mouse?"},
	{"How do I find the slope of y = 2x + 1?", "How do I find the y-intercept of y = 2x + 1?"},
	{"What is the speed of sound in water?", "What is the speed of sound in air?"},
	{"What is the derivative of sin x?", "What is the derivative of cos x?"},
	{"Explain Newton's first law", "Give an example of Newton's first law"},
	{"What is the formula for the area of a circle?", "Derive the formula for the area of a circle"},
	{"What is -3 + 5?", "What is 3 + 5?"},
	{"What is 1/2 + 1/3?", "What is 1/2 + 1/4?"},
	{"Simplify 2(x + 3)", "Simplify 2(x - 3)"},
	{"How far does light travel in 2 seconds?", "How far does light travel in 2 minutes?"},
	{"Is it true that all squares are rectangles?", "Is it not true that all squares are rectangles?"},
	{"法国的首都是哪里？", "西班牙的首都是哪里？"},
	{"钠原子有几个电子？", "钾原子有几个电子？"},
	{"解方程 3x-5=10", "解方程 3x+5=10"},
	{"7减3等于多少？", "3减7等于多少？"},
	{"正方形是长方形吗？", "长方形是正方形吗？"},
	{"鲸鱼是鱼吗？", "鲸鱼是哺乳动物吗？"},
	{"边长4厘米的正方形面积是多少？", "边长4厘米的正方形周长是多少？"},
	{"3小时等于多少分钟？", "3分钟等于多少小时？"},
	{"冰为什么不会沉下去？", "冰为什么会沉下去？"},
	{"零是偶数吗？", "零是奇数吗？"},
	{"16的平方根是多少？", "64的平方根是多少？"},
	{"16的平方根是多少？", "16的立方根是多少？"},
	{"法国大革命是哪一年开始的？", "法国大革命是哪一年结束的？"},
	{"大象比老鼠重吗？", "老鼠比大象重吗？"},
	{"光在水中的传播速度是多少？", "声音在水中的传播速度是多少？"},
	{"sin x的导数是什么？", "cos x的导数是什么？"},
	{"二十五的平方是多少？", "二十四的平方是多少？"},
	{"一千克等于多少克？", "一千克等于多少毫克？"},
	{"物体向上运动时加速度的方向是什么？", "物体向下运动时加速度的方向是什么？"},
	{"5的3倍是多少", "3的5倍是多少"},
	// one question asks about more than the other
	{"What is the capital of Australia?", "What is the population of the capital of Australia?"},
	{"What is photosynthesis?", "What are the products of photosynthesis?"},
	{"What is Newton's second law?", "What is the formula of Newton's second law?"},
	{"What is the area of a circle?", "What is the formula for the area of a circle?"},
	{"What is a prime number?", "What is the largest known prime number?"},
	{"What is the capital of France?", "What is the capital of France and Germany?"},
	{"What is the Pythagorean theorem?", "Who discovered the Pythagorean theorem?"},
	{"牛顿第二定律是什么？", "牛顿第二定律的公式是什么？"},
	{"光合作用是什么？", "光合作用的产物是什么？"},
	{"鲸鱼是鱼吗？", "鲸鱼是哺乳动物吗？"},
}

// probeMissed are different questions the guards let through: they say
// the same things about the same terms, and only word order or an added
// circumstance tells them apart. The similarity threshold is all that
// stands between them (see TestGuardLimits).
var probeMissed = []struct{ a, b string }{
	{"Does the Earth orbit the Sun?", "Does the Sun orbit the Earth?"},
	{"地球绕着太阳转吗？", "太阳绕着地球转吗？"},
	{"How do plants make food?", "How do plants make food at night?"},
	{"What is an atom?", "What is an atom made of?"},
}

var probeSame = []struct{ a, b string }{
	{"What is the capital of France?", "Which city is the capital of France?"},
	{"How many electrons does sodium have?", "What is the number of electrons in a sodium atom?"},
	{"Solve 3x - 5 = 10", "How do I solve 3x-5=10?"},
	{"Is a whale a mammal?", "Are whales mammals?"},
	{"What is the area of a square with side 4 cm?", "Find the area of a square whose side is 4 cm."},
	{"Convert 3 hours to minutes", "How many minutes are in 3 hours?"},
	{"Why does ice float on water?", "Why does ice float in water?"},
	{"What is the square root of 16?", "square root of 16?"},
	{"Who wrote Romeo and Juliet?", "Who is the author of Romeo and Juliet?"},
	{"What is the plural of mouse?", "What's the plural form of mouse?"},
	{"What is 20% of 150?", "Calculate 20 percent of 150."},
	{"Is 0.5 greater than 0.25?", "Is 0.5 bigger than 0.25?"},
	{"What is the derivative of sin x?", "Differentiate sin x."},
	{"When did World War I begin?", "When did the First World War begin?"},
	{"法国的首都是哪里？", "法国首都是哪个城市？"},
	{"钠原子有几个电子？", "一个钠原子有多少个电子？"},
	{"解方程 3x-5=10", "3x-5=10怎么解？"},
	{"鲸鱼是哺乳动物吗？", "鲸鱼属于哺乳动物吗？"},
	{"3小时等于多少分钟？", "3个小时是多少分钟？"},
	{"16的平方根是多少？", "求16的平方根"},
	{"零是偶数吗？", "0是不是偶数？"},
	{"sin x的导数是什么？", "求sin x的导数"},
	{"法国大革命是哪一年开始的？", "法国大革命哪年开始？"},
	{"二十五的平方是多少？", "25的平方等于多少？"},
	{"一千克等于多少克？", "1千克是多少克？"},
}

func TestGuardsRejectProbes(t *testing.T) {
	var g Guards
	for _, p := range probeDifferent {
		if kind, ok := g.Check(p.a, p.b); ok {
			t.Errorf("guards let %q answer %q", p.a, p.b)
		} else if kind2, _ := g.Check(p.b, p.a); kind2 != kind {
			t.Errorf("guards not symmetric on %q / %q: %s vs %s", p.a, p.b, kind, kind2)
		}
	}
}

func TestGuardLimits(t *testing.T) {
	var g Guards
	e, err := NewLocalEmbedder()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probeMissed {
		_, ok := g.Check(p.a, p.b)
		sim := dot32(e.EmbedText(p.a), e.EmbedText(p.b))
		t.Logf("guards pass %v, similarity %.3f (threshold %.2f): %q / %q", ok, sim, e.Threshold(), p.a, p.b)
	}
}

func TestGuardsAllowProbes(t *testing.T) {
	var g Guards
	for _, p := range probeSame {
		if kind, ok := g.Check(p.a, p.b); !ok {
			t.Logf("guards refuse paraphrase (%s): %q / %q", kind, p.a, p.b)
		}
	}
}

func TestNumbers(t *testing.T) {
	cs := defaultContrastSet()
	for _, tc := range []struct {
		q    string
		want []quantity
	}{
		{"What is 3.5 + 1,000?", []quantity{{3.5, ""}, {1000, ""}}},
		{"x = -2", []quantity{{-2, ""}}},
		{"5 - 2", []quantity{{5, ""}, {2, ""}}},
		{"Which is larger, 3/4 or 5/8?", []quantity{{0.75, ""}, {0.625, ""}}},
		{"四分之三和八分之五哪个大", []quantity{{0.75, ""}, {0.625, ""}}},
		{"What is 15% of 80?", []quantity{{15, "%"}, {80, ""}}},
		{"计算80的百分之十五", []quantity{{80, ""}, {15, "%"}}},
		{"Newton's second law", []quantity{{2, ""}}},
		{"Newton's 2nd law", []quantity{{2, ""}}},
		{"牛顿第二定律", []quantity{{2, ""}}},
		{"World War II", []quantity{{2, ""}}},
		{"二十五的平方", []quantity{{25, ""}, {2, ""}}},
		{"一九四五年", []quantity{{1945, "year"}}},
		{"一个碳原子", nil},
		{"秦始皇统一六国是在哪一年", []quantity{{6, ""}}},
		{"一千克等于多少克", []quantity{{1, "kg"}}},
		{"3个小时", []quantity{{3, "h"}}},
		{"A 2 kg block and a 10 N force", []quantity{{2, "kg"}, {10, "N"}}},
		{"twenty-five apples", []quantity{{25, ""}}},
		{"3 km/h", []quantity{{3, "km/h"}}},
		{"100 °C", []quantity{{100, "°C"}}},
		{"x squared", []quantity{{2, ""}}},
		{"x²", []quantity{{2, ""}}},
	} {
		f := extractFacts(tc.q, cs)
		if !reflect.DeepEqual(f.nums, tc.want) {
			t.Errorf("%q: numbers %v, want %v", tc.q, f.nums, tc.want)
		}
	}
}

func TestGuardKinds(t *testing.T) {
	var g Guards
	for _, tc := range []struct {
		a, b string
		want GuardKind // "" for agreement
	}{
		{"Solve 2x + 3 = 7.", "Solve for x: 2x+3=7", ""},
		{"Solve 2x + 3 = 7.", "Solve 2x + 3 = 9.", GuardNumber},
		{"Solve 2x + 3 = 7.", "Solve 2x - 3 = 7.", GuardFormula},
		{"What is x^2 + 1?", "What is y^2 + 1?", GuardFormula},
		{"What is 0.5 of 10?", "What is 1/2 of 10?", ""},
		{"5千米等于多少英里？", "5公里是多少英里", ""},
		{"5千米等于多少英里？", "5千米等于多少米？", GuardUnit},
		{"How do I convert 5 km to miles?", "How do I convert 5 km to meters?", GuardUnit},
		{"Does ice float?", "Doesn't ice float?", GuardNegation},
		{"冰会浮在水面上吗？", "冰不会浮在水面上吗？", GuardNegation},
		{"91是质数吗？", "91是不是质数", ""}, // 是不是 asks, it does not negate
		{"酸和碱有什么区别？", "请说说酸和碱的不同", ""},
		{"What is the area of a circle?", "What is the perimeter of a circle?", GuardContrast},
		{"Explain the Pythagorean theorem.", "Prove the Pythagorean theorem.", GuardContrast},
		{"Is a square a rectangle?", "Is a rectangle a square?", GuardOrder},
		{"大象比老鼠重吗？", "老鼠比大象重吗？", GuardOrder},
		{"What is the past tense of 'go'?", "What is the past tense of 'do'?", GuardTerm},
		{"What is the capital of Australia?", "What is the capital of Austria?", GuardTerm},
		{"past tense of swim?", "What is the past tense of 'run'?", GuardTerm},                  // quoted on one side only
		{"What is the past tense of 'swim'?", "past tense of swim", ""},                         // quoted, and there
		{"volume of a sphere r = 2 cm", "volume of a sphere with diameter 2 cm", GuardContrast}, // r is the radius
		{"Which is smaller, 2/3 or 3/5?", "compare 2/3 and 3/5", GuardContrast},                 // a direction on one side
		{"Is 2/3 bigger than 3/5?", "Which is greater, 2/3 or 3/5?", ""},
		{"What is the mitochondria's function?", "function of mitochondrion", ""},
		{"", "", ""},
	} {
		kind, ok := g.Check(tc.a, tc.b)
		if ok != (tc.want == "") || kind != tc.want {
			t.Errorf("Check(%q, %q) = %q, %v; want %q", tc.a, tc.b, kind, ok, tc.want)
		}
	}
}

func TestCustomContrastTerms(t *testing.T) {
	g, err := NewGuards(append(DefaultContrastTerms(), []string{"mitochondria|mitochondrion|线粒体", "chloroplast|叶绿体"}))
	if err != nil {
		t.Fatal(err)
	}
	if kind, _ := g.Check("线粒体的功能", "叶绿体的功能"); kind != GuardContrast {
		t.Errorf("custom group: %q", kind)
	}
	g, _ = NewGuards([][]string{{"上", "下"}})
	if kind, ok := g.Check("物体向上运动", "物体向下运动"); ok || kind != GuardContrast {
		t.Errorf("上/下: %q %v", kind, ok)
	}
	if _, ok := g.Check("area of a circle", "perimeter of a circle"); ok {
		t.Error("the term guard still refuses a swap without contrast terms")
	}
	for _, bad := range [][][]string{{{}}, {{"a|"}}, {{"acid 酸"}}} {
		if _, err := NewGuards(bad); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewGuards(%q) = %v", bad, err)
		}
	}
	// DefaultContrastTerms returns a copy.
	d := DefaultContrastTerms()
	d[0][0] = "changed"
	if DefaultContrastTerms()[0][0] == "changed" {
		t.Error("DefaultContrastTerms shares its slices")
	}
}

func TestQuotedSpans(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want []string
	}{
		{"What is the past tense of 'go'?", []string{"go"}},
		{"Newton's law isn't 'hard'", []string{"hard"}},
		{"“的”“地”“得”怎么区分？", []string{"的", "地", "得"}},
		{`Is "affect" a verb?`, []string{"affect"}},
		{"no quotes", nil},
	} {
		var got []string
		for q := range quotedSpans(tc.q) {
			got = append(got, q)
		}
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", tc.q, got, want)
		}
	}
}

var fuzzSeeds = []string{
	"", "Solve 2x + 3 = 7.", "解方程 2x+3=7", "What is 15% of 80?", "80的15%是多少？", "四分之三和八分之五哪个大？",
	"Is a square a rectangle?", "大象比老鼠重吗？", "x = -2.5e3", "第一百零一", "一万二千三百", "3/0", "-",
	"World War XIV", "'unclosed quote", "“的”", "比比比比比", "than than", "\xff\xfe", "9999999999999999999999999",
	"百分之", "分之三", "第", "d/dx d/dy", "5 km/h to m/s", "亿亿亿", "1,000,000.5",
}

// FuzzGuards checks that the guard extractors never panic, are
// deterministic, and that a question always agrees with itself and the
// guards are symmetric.
func FuzzGuards(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, fuzzSeeds[(i+1)%len(fuzzSeeds)])
	}
	var g Guards
	f.Fuzz(func(t *testing.T, a, b string) {
		if kind, ok := g.Check(a, a); !ok {
			t.Fatalf("%q refused against itself by %s", a, kind)
		}
		k1, ok1 := g.Check(a, b)
		k2, ok2 := g.Check(a, b)
		if k1 != k2 || ok1 != ok2 {
			t.Fatal("not deterministic")
		}
		if _, ok3 := g.Check(b, a); ok3 != ok1 {
			t.Fatalf("not symmetric: %q / %q", a, b)
		}
	})
}
