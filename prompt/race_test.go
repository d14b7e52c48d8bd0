//go:build race

package prompt

// raceDivisor shrinks the randomized differential tests under the race
// detector, which slows tiktoken-go and regexp2 tenfold; the full runs
// happen without it.
const raceDivisor = 8
