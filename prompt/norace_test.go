//go:build !race

package prompt

// raceDivisor: see race_test.go.
const raceDivisor = 1
