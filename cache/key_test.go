package cache

import "testing"

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"What is Newton's second law?", "what is newtons second law"},
		{"  what   is newton’s SECOND law ？？ ", "what is newtons second law"},
		{"Solve 2x + 3 = 7.", "solve 2x+3=7"},
		{"solve 2x+3=7", "solve 2x+3=7"},
		{"ｓｏｌｖｅ　２ｘ＋３＝７", "solve 2x+3=7"},
		{"解方程 3x - 4 = 11。", "解方程3x-4=11"},
		{"牛顿第二定律是什么？", "牛顿第二定律是什么"},
		{"牛顿 第二 定律 是什么", "牛顿第二定律是什么"},
		{"What is 3.5 + 1,000?", "what is 3.5+1,000"},
		{"What is 3 . 5?", "what is 3 5"},
		{"x = -2", "x=-2"},
		{"ratio 3:4", "ratio 3:4"},
		{"hello,world", "hello world"},
		{"\xff bad", "\ufffdbad"},
		{"", ""},
	} {
		if got := Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
