package moderation

func (m *Matcher) compoundAllow(kept []int, words []Entry) []string { return nil }
